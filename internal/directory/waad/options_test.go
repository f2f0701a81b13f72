package waad

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/directorytest"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestValidateOptions(t *testing.T) {
	t.Parallel()
	base := map[string]any{"client_id": "app", "client_secret": "s3cret", "tenant_domain": "contoso.onmicrosoft.com"}
	with := func(kv ...any) string {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	tests := []struct {
		name      string
		in        string
		wantField string // "": valid
	}{
		{"empty: not configured yet", ``, ""},
		{"{}: not configured yet", `{}`, ""},
		{"only keys gatehouse does not read", `{"ext_groups":true,"basic_profile":true,"waad_protocol":"openid-connect"}`, ""},
		{"Azure AD tenant", with(), ""},
		{"tenant by id", with("tenant_domain", "72f988bf-86f1-41af-91ab-2d7cd011db47"), ""},
		{"Auth0's other Azure options", with("domain", "contoso.com", "domain_aliases", []string{"contoso.org"},
			"identity_api", IdentityAPIV2, "userid_attribute", "sub", "ext_groups", true, "waad_common_endpoint", false), ""},
		{"another provider", with("tenant_domain", nil, "discovery_url", "https://idp.example.com/.well-known/openid-configuration",
			"token_endpoint", "https://idp.example.com/oauth/token", "groups_claim", "https://example.com/groups"), ""},
		{"http to loopback", with("discovery_url", "http://127.0.0.1:8080/.well-known/openid-configuration", "token_endpoint", "http://localhost/token"), ""},
		{"null values are absent", `{"client_id":"a","client_secret":"b","tenant_domain":"t.example","domain":null,"token_endpoint":null}`, ""},
		{"client_id missing", with("client_id", nil), "options.client_id"},
		{"client_id empty", with("client_id", ""), "options.client_id"},
		{"client_id of the wrong type", with("client_id", 7), "options.client_id"},
		{"client_secret missing", with("client_secret", nil), "options.client_secret"},
		{"neither tenant nor discovery", with("tenant_domain", nil), "options.tenant_domain"},
		{"tenant_domain a path", with("tenant_domain", "contoso/../common"), "options.tenant_domain"},
		{"tenant_domain with a space", with("tenant_domain", "con toso"), "options.tenant_domain"},
		{"domain not a name", with("domain", "contoso.com/x"), "options.domain"},
		{"alias not a name", with("domain_aliases", []string{"ok.example", "-bad"}), "options.domain_aliases[1]"},
		{"aliases not a list", with("domain_aliases", "contoso.org"), "options.domain_aliases"},
		{"common endpoint", with("waad_common_endpoint", true), "options.waad_common_endpoint"},
		{"v1 identity API", with("identity_api", "azure-active-directory-v1.0"), "options.identity_api"},
		{"unknown identity API", with("identity_api", "v3"), "options.identity_api"},
		{"userid_attribute", with("userid_attribute", "upn"), "options.userid_attribute"},
		{"discovery over http", with("discovery_url", "http://idp.example.com/.well-known/openid-configuration"), "options.discovery_url"},
		{"discovery not absolute", with("discovery_url", "/.well-known/openid-configuration"), "options.discovery_url"},
		{"discovery with credentials", with("discovery_url", "https://u:p@idp.example.com/x"), "options.discovery_url"},
		{"token endpoint of another scheme", with("token_endpoint", "ftp://idp.example.com/token"), "options.token_endpoint"},
		{"token endpoint over http", with("token_endpoint", "http://10.0.0.1/token"), "options.token_endpoint"},
		{"refresh check interval", with("user_check_interval_s", 3600), ""},
		{"refresh check interval negative", with("user_check_interval_s", -1), "options.user_check_interval_s"},
		{"refresh check interval over a day", with("user_check_interval_s", 86401), "options.user_check_interval_s"},
		{"refresh check interval of the wrong type", with("user_check_interval_s", "1h"), "options.user_check_interval_s"},
		{"not an object", `["client_id"]`, "options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := new(Strategy).ValidateOptions(json.RawMessage(tt.in))
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("ValidateOptions error %v", err)
				}
				if want := strings.TrimSpace(tt.in); want != "" && string(got) != want {
					t.Errorf("stored %s, want the options as given", got)
				}
				return
			}
			var oe *directory.OptionsError
			if !errors.As(err, &oe) {
				t.Fatalf("ValidateOptions error %v, want an *OptionsError", err)
			}
			if oe.Field != tt.wantField || !strings.HasPrefix(oe.Message, tt.wantField) {
				t.Errorf("field %q (%s), want %q", oe.Field, oe.Message, tt.wantField)
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	o, err := ParseOptions(json.RawMessage(`{"client_id":"a","client_secret":"b","tenant_domain":"contoso.onmicrosoft.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.Discovery(), "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"; got != want {
		t.Errorf("Discovery() = %s, want %s", got, want)
	}
	o.DiscoveryURL = "https://idp.example.com/d"
	if o.Discovery() != o.DiscoveryURL {
		t.Errorf("discovery_url not preferred: %s", o.Discovery())
	}
}

// A login through a waad connection not configured yet is a connection
// that cannot be used, never a refusal of the password.
func TestVerifyNotConfigured(t *testing.T) {
	t.Parallel()
	for _, opts := range []string{`{}`, `{"ext_groups":true}`} {
		conn := &store.Connection{ID: "con_1", Name: "corp", Strategy: Name, Options: json.RawMessage(opts)}
		_, ok, err := new(Strategy).Verify(context.Background(), conn, "ann", "pw")
		if ok || !errors.Is(err, directory.ErrUnavailable) {
			t.Errorf("Verify(%s) = %v, %v; want ErrUnavailable", opts, ok, err)
		}
		if err := new(Strategy).Status(context.Background(), conn); !errors.Is(err, directory.ErrUnavailable) {
			t.Errorf("Status(%s) = %v; want ErrUnavailable", opts, err)
		}
	}
}

// FuzzValidateOptions: any options document is accepted or refused with
// an *OptionsError, never a panic, and what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	directorytest.FuzzOptions(f, []string{
		`{"client_id":"a"}`,
		`{"client_id":"a","client_secret":"b","tenant_domain":"t.example"}`,
		`{"client_id":"a","client_secret":"b","discovery_url":"https://i.example/d","token_endpoint":"http://[::1]:9/t"}`,
		`{"client_id":"a","client_secret":"b","tenant_domain":"t","domain_aliases":["x",""],"userid_attribute":"sub"}`,
		`{"client_id":1}`,
		`{"waad_common_endpoint":true,"client_id":"a"}`,
		`{"discovery_url":"http://%zz"}`,
	}, new(Strategy).ValidateOptions, ParseOptions)
}
