package grants

import (
	"reflect"
	"testing"
)

func TestUserScopes(t *testing.T) {
	api := []string{"read:sample", "write:sample"}
	cases := []struct {
		name      string
		requested string
		api       []string
		want      []string
		offline   bool
	}{
		{"no API scope asked: all API scopes", "openid profile", api, []string{"openid", "profile", "read:sample", "write:sample"}, false},
		{"openid alone: every OIDC scope", "openid", api, []string{"openid", "profile", "email", "address", "phone", "read:sample", "write:sample"}, false},
		{"some API scopes: only those", "read:sample", api, []string{"read:sample"}, false},
		{"unknown scopes are dropped", "read:sample delete:everything", api, []string{"read:sample"}, false},
		{"offline_access is reported", "openid offline_access read:sample", api, []string{"openid", "profile", "email", "address", "phone", "read:sample"}, true},
		{"empty request: API scopes, no OIDC", "", api, []string{"read:sample", "write:sample"}, false},
		{"no API", "openid email", nil, []string{"openid", "email"}, false},
		{"duplicates collapse", "email email openid", nil, []string{"openid", "email"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, offline := userScopes(splitScope(c.requested), c.api)
			if !reflect.DeepEqual(got, c.want) || offline != c.offline {
				t.Fatalf("userScopes(%q) = %v, %v; want %v, %v", c.requested, got, offline, c.want, c.offline)
			}
		})
	}
}
