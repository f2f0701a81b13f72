package mgmt

import (
	"net/http"
	"testing"
)

func TestTenantSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := "/api/v2/tenants/settings"
	jsonEqual(t, e.do(t, "GET", path, nil, 200).obj(t),
		`{"session_lifetime":168,"idle_session_lifetime":72,"resource_parameter_profile":"audience"}`)

	e.do(t, "PATCH", path, map[string]any{"default_directory": "Username-Password-Authentication", "friendly_name": "Acme",
		"flags": map[string]any{"enable_sso": true}, "enabled_locales": []string{"en", "fr"},
		"session_cookie": map[string]any{"mode": "persistent"}}, 200)
	got := e.do(t, "PATCH", path, map[string]any{"flags": map[string]any{"revoke_refresh_token_grant": false},
		"default_audience": "https://api", "session_cookie": map[string]any{"extra": 1}, "friendly_name": nil}, 200).obj(t)
	jsonEqual(t, got, `{"default_directory":"Username-Password-Authentication","default_audience":"https://api",
		"flags":{"enable_sso":true,"revoke_refresh_token_grant":false},"enabled_locales":["en","fr"],
		"session_cookie":{"mode":"persistent","extra":1},
		"session_lifetime":168,"idle_session_lifetime":72,"resource_parameter_profile":"audience"}`)

	stored, err := e.store.GetTenantSettings(t.Context())
	if err != nil || stored.DefaultDirectory != "Username-Password-Authentication" || !stored.Flags["enable_sso"] ||
		stored.DefaultAudience != "https://api" || stored.FriendlyName != "" {
		t.Fatalf("stored settings %+v, %v", stored, err)
	}
	if r := e.do(t, "GET", path+"?fields=default_directory", nil, 200); string(r.body) != `{"default_directory":"Username-Password-Authentication"}` {
		t.Errorf("field selection %s", r.body)
	}

	for _, tt := range []struct {
		name string
		body any
	}{
		{"flag not a boolean", map[string]any{"flags": map[string]any{"enable_sso": "yes"}}},
		{"flags not an object", map[string]any{"flags": []string{"enable_sso"}}},
		{"default_directory not a string", map[string]any{"default_directory": 1}},
		{"unknown resource parameter profile", map[string]any{"resource_parameter_profile": "resource"}},
		{"negative session lifetime", map[string]any{"session_lifetime": -1}},
		{"not an object", []int{1}},
		// Settings gatehouse only keeps still have Auth0's types.
		{"support_email not a string", map[string]any{"support_email": 7}},
		{"session_cookie not an object", map[string]any{"session_cookie": "persistent"}},
		{"enabled_locales not a list of strings", map[string]any{"enabled_locales": []any{"en", 1}}},
		{"allowed_logout_urls not a list", map[string]any{"allowed_logout_urls": "https://app.example.com/"}},
		{"ephemeral_session_lifetime not a number", map[string]any{"ephemeral_session_lifetime": "24"}},
		{"customize_mfa_in_postlogin_action not a boolean", map[string]any{"customize_mfa_in_postlogin_action": "true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "PATCH", path, tt.body).wantError(t, http.StatusBadRequest, "invalid_body", "")
		})
	}
	if after, _ := e.store.GetTenantSettings(t.Context()); !after.Flags["enable_sso"] {
		t.Errorf("refused PATCH changed settings: %+v", after)
	}
}
