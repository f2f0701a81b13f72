package mgmt_test

import (
	"net/url"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// The system API bootstrap creates has the defaults of an API created
// through the Management API: bootstrap goes through the same rules.
func TestBootstrapsSystemAPIHasTheAPIsDefaults(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	sys := e.API("GET", "/resource-servers/"+url.PathEscape(e.Issuer+"api/v2/"), nil, 200)
	made := e.API("POST", "/resource-servers", map[string]any{"identifier": "https://api.example.com/"}, 201)
	for _, k := range []string{"signing_alg", "token_lifetime", "token_lifetime_for_web", "token_dialect", "allow_offline_access",
		"skip_consent_for_verifiable_first_party_clients", "enforce_policies"} {
		if sys[k] != made[k] {
			t.Errorf("%s: system API %v, API-created %v", k, sys[k], made[k])
		}
	}
	if sys["subject_type_authorization"] == nil || sys["is_system"] != true || sys["name"] != "Auth0 Management API" {
		t.Errorf("system API %v", sys)
	}
}
