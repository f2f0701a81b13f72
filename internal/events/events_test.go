package events

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/gatehouse/gatehouse/internal/logging"
)

func TestLogWritesOneLinePerEvent(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	em := Log{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	ctx := logging.WithRequestID(context.Background(), "r1")
	em.Emit(ctx, Event{Type: FailedLoginWrongPassword, ClientID: "c1", Connection: "db", IP: "127.0.0.1"})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log line %q: %v", buf.String(), err)
	}
	for k, want := range map[string]string{"event": "fp", "client_id": "c1", "connection": "db", "ip": "127.0.0.1", "level": "INFO"} {
		if line[k] != want {
			t.Errorf("%s = %v, want %q (line %v)", k, line[k], want, line)
		}
	}
	if _, ok := line["user_id"]; ok {
		t.Errorf("empty user_id logged: %v", line)
	}
}
