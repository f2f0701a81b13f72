package tokens

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestAudienceJSON(t *testing.T) {
	for _, c := range []struct {
		aud  Audience
		want string
	}{
		{Audience{"https://api"}, `"https://api"`},
		{Audience{"https://api", "https://t/userinfo"}, `["https://api","https://t/userinfo"]`},
	} {
		b, _ := json.Marshal(c.aud)
		if string(b) != c.want {
			t.Errorf("Marshal(%v) = %s, want %s", c.aud, b, c.want)
		}
		var back Audience
		if err := json.Unmarshal(b, &back); err != nil || len(back) != len(c.aud) {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	var a Audience
	if err := json.Unmarshal([]byte(`42`), &a); err == nil {
		t.Error("a number was accepted as aud")
	}
}

func TestEncodeClaimsNeverOverridesRegistered(t *testing.T) {
	b, err := encodeClaims(Claims{Issuer: "https://t/", Subject: "auth0|1", Audience: Audience{"x"}},
		map[string]any{"sub": "evil", "https://example.com/role": "admin"})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(b, &doc)
	if doc["sub"] != "auth0|1" || doc["https://example.com/role"] != "admin" {
		t.Fatalf("claims = %v", doc)
	}
}

func TestProfileClaimsFollowScopes(t *testing.T) {
	u := &store.User{UserID: "auth0|1", Name: "Ann", Nickname: "ann", Email: "ann@example.com", EmailVerified: true, PhoneNumber: "+1555"}
	cases := []struct {
		scopes  []string
		present []string
		absent  []string
	}{
		{[]string{"openid"}, nil, []string{"name", "email", "phone_number"}},
		{[]string{"openid", "profile"}, []string{"name", "nickname"}, []string{"email"}},
		{[]string{"openid", "email"}, []string{"email", "email_verified"}, []string{"name"}},
		{[]string{"openid", "phone"}, []string{"phone_number", "phone_number_verified"}, []string{"email"}},
	}
	for _, c := range cases {
		got := ProfileClaims(u, c.scopes)
		for _, k := range c.present {
			if _, ok := got[k]; !ok {
				t.Errorf("scopes %v: %s missing", c.scopes, k)
			}
		}
		for _, k := range c.absent {
			if _, ok := got[k]; ok {
				t.Errorf("scopes %v: %s present", c.scopes, k)
			}
		}
	}
}
