package ad

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory/directorytest"
)

// FuzzValidateOptions: any options document a Management API client sends
// is accepted or refused with an *OptionsError (a 400), never a panic, and
// what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	directorytest.FuzzOptions(f, []string{
		`{"url":"ldaps://dc.example.com:636","base_dn":"dc=example,dc=com","bind_dn":"cn=x","bind_password":"p"}`,
		`{"url":"ldap://[::1]:389","start_tls":true,"user_filter":"(mail={0})","attributes":{"email":"mail","uid":"uid"}}`,
		`{"url":"http://x","pool_size":-1,"connect_timeout_ms":1e99,"groups":{"group_base_dn":"ou=g"}}`,
		`{"ca_bundle":"-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----","user_check_interval_s":"60"}`,
	}, new(Strategy).ValidateOptions, ParseOptions)
}
