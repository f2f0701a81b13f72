package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestDiscoveryAdvertisesOnlyWhatExists: no /authorize, no PKCE, no MFA
// endpoint until they exist, and every endpoint advertised answers.
func TestDiscoveryAdvertisesOnlyWhatExists(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	req, _ := http.NewRequest("GET", e.URL+"/.well-known/openid-configuration", nil)
	status, doc, _ := e.Do(req)
	if status != 200 {
		t.Fatalf("discovery: %d %v", status, doc)
	}
	for _, absent := range []string{"authorization_endpoint", "code_challenge_methods_supported", "response_modes_supported", "mfa_challenge_endpoint"} {
		if v, ok := doc[absent]; ok {
			t.Errorf("discovery advertises %s = %v", absent, v)
		}
	}
	for k, v := range doc {
		u, ok := v.(string)
		if !ok || !strings.HasSuffix(k, "_endpoint") && k != "jwks_uri" {
			continue
		}
		method := "POST"
		if k == "jwks_uri" {
			method = "GET"
		}
		req, _ := http.NewRequest(method, u, nil)
		if status, body, _ := e.Do(req); status == 404 || status == 405 {
			t.Errorf("%s %s (%s): %d %v", method, u, k, status, body)
		}
	}
}
