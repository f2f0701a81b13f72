package tenant

import (
	"encoding/json"
	"testing"
)

// A stored secret is carried into an update that leaves it out only while
// its account and where it is sent stay as they were.
func TestKeepSecretsOnlyWhileBound(t *testing.T) {
	t.Parallel()
	old := json.RawMessage(`{"url":"ldaps://dir.example.com","bind_dn":"cn=svc","bind_password":"s3cret",
		"client_id":"app","client_secret":"shh","tenant_domain":"contoso.onmicrosoft.com","token_endpoint":""}`)
	for _, tc := range []struct {
		name, next string
		keepBind   bool
		keepClient bool
	}{
		{"unchanged", `{"url":"ldaps://dir.example.com","bind_dn":"cn=svc","client_id":"app","tenant_domain":"contoso.onmicrosoft.com"}`, true, true},
		{"other options changed", `{"url":"ldaps://dir.example.com","bind_dn":"cn=svc","read_timeout_ms":5000,"client_id":"app","tenant_domain":"contoso.onmicrosoft.com","domain":"contoso.com"}`, true, true},
		{"url moved", `{"url":"ldaps://evil.example.net","bind_dn":"cn=svc","client_id":"app","tenant_domain":"contoso.onmicrosoft.com"}`, false, true},
		{"account changed", `{"url":"ldaps://dir.example.com","bind_dn":"cn=other","client_id":"other","tenant_domain":"contoso.onmicrosoft.com"}`, false, false},
		{"account left out", `{"url":"ldaps://dir.example.com","tenant_domain":"contoso.onmicrosoft.com"}`, false, false},
		{"token endpoint set", `{"url":"ldaps://dir.example.com","bind_dn":"cn=svc","client_id":"app","tenant_domain":"contoso.onmicrosoft.com","token_endpoint":"https://evil.example.net/token"}`, true, false},
		{"secret sent again", `{"url":"ldaps://evil.example.net","bind_dn":"cn=svc","bind_password":"new","client_id":"app","tenant_domain":"contoso.onmicrosoft.com"}`, true, true},
	} {
		var got map[string]any
		if err := json.Unmarshal(keepSecrets(json.RawMessage(tc.next), old), &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, bind := got["bind_password"]
		_, client := got["client_secret"]
		if bind != tc.keepBind || client != tc.keepClient {
			t.Errorf("%s: bind_password kept %v (want %v), client_secret kept %v (want %v)", tc.name, bind, tc.keepBind, client, tc.keepClient)
		}
		if tc.name == "secret sent again" && got["bind_password"] != "new" {
			t.Errorf("a secret sent again did not replace the stored one: %q", got["bind_password"])
		}
	}
}
