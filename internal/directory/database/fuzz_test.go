package database

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory"
)

// FuzzValidateOptions: any options document a Management API client sends
// is accepted or refused with an *OptionsError (a 400), never a panic, and
// what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `"x"`, `{"a":1}`, `{"name":{"a":[1]}}`,
		`{"passwordPolicy":"good","password_complexity_options":{"min_length":8},"password_history":{"enable":true,"size":5}}`,
		`{"requires_username":true,"validation":{"username":{"min":1,"max":15}}}`,
		`{"password_dictionary":{"enable":true,"dictionary":["a","b"]},"password_no_personal_info":{"enable":true}}`,
		`{"passwordPolicy":"nope","validation":{"username":{"min":20,"max":1}}}`, `{"password_history":{"size":1e9}}`,
		`{"disable_signup":"yes","brute_force_protection":1}`,
	} {
		f.Add([]byte(seed))
	}
	s := new(Strategy)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := s.ValidateOptions(json.RawMessage(b))
		if err != nil {
			var oe *directory.OptionsError
			if !errors.As(err, &oe) {
				t.Fatalf("error %v is not an *OptionsError", err)
			}
			return
		}
		if _, err := ParseOptions(out); err != nil {
			t.Fatalf("accepted options do not parse: %s: %v", out, err)
		}
	})
}
