package passwordless

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
		`{"name":"Acme","from":"{{ application.name }} <a@example.com>","subject":"Code","syntax":"liquid","template":"{{ code }}"}`,
		`{"totp":{"time_step":300,"length":6},"disable_signup":false,"brute_force_protection":true}`,
		`{"totp":{"time_step":-1,"length":99}}`, `{"template":"{% if %}","syntax":"handlebars"}`,
	} {
		f.Add([]byte(seed))
	}
	s := Strategy{}
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
