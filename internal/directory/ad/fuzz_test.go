package ad

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
		`{"url":"ldaps://dc.example.com:636","base_dn":"dc=example,dc=com","bind_dn":"cn=x","bind_password":"p"}`,
		`{"url":"ldap://[::1]:389","start_tls":true,"user_filter":"(mail={0})","attributes":{"email":"mail","uid":"uid"}}`,
		`{"url":"http://x","pool_size":-1,"connect_timeout_ms":1e99,"groups":{"group_base_dn":"ou=g"}}`,
		`{"ca_bundle":"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----","user_check_interval_s":"60"}`,
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
