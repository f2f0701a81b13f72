package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

func TestRequestIDOnEveryLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := WithRequestID(context.Background(), "req-123")
	log.InfoContext(ctx, "with id")
	log.Info("without id")

	dec := json.NewDecoder(&buf)
	var first, second map[string]any
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&second); err != nil {
		t.Fatal(err)
	}
	if first["request_id"] != "req-123" || first["component"] != "test" {
		t.Errorf("first line = %v, want request_id req-123 and the component", first)
	}
	if _, ok := second["request_id"]; ok {
		t.Errorf("second line = %v, want no request_id", second)
	}
}
