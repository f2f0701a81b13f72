// Package directorytest holds what the strategies' tests share.
package directorytest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory"
)

// FuzzOptions fuzzes a strategy's check of the options a Management API
// client sends: any document is accepted or refused with an
// *directory.OptionsError (a 400 naming the field), never a panic, and
// what is accepted parses again.
func FuzzOptions[O any](f *testing.F, seeds []string, validate func(json.RawMessage) (json.RawMessage, error), parse func(json.RawMessage) (O, error)) {
	for _, seed := range append([]string{`{}`, `null`, `[]`, `"x"`, `{"a":1}`, `{"name":{"a":[1]}}`}, seeds...) {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := validate(json.RawMessage(b))
		if err != nil {
			var oe *directory.OptionsError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *OptionsError", err)
			}
			return
		}
		if _, err := parse(out); err != nil {
			t.Fatalf("accepted options do not parse: %s: %v", out, err)
		}
	})
}
