package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// TestUserinfoChecksNotBeforeAndIssuedAt is issue 7's fourth defect:
// /userinfo checks nbf and iat as apiauth does, with the same leeway.
func TestUserinfoChecksNotBeforeAndIssuedAt(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	m := &tokens.Minter{Issuer: e.Issuer, Keys: e.App.Keys}
	now := e.Clock.Now()
	leeway := tokens.Leeway
	cases := []struct {
		name   string
		iat    time.Time
		nbf    time.Time
		status int
	}{
		{"issued now", now, time.Time{}, 200},
		{"iat inside the leeway", now.Add(leeway - 5*time.Second), time.Time{}, 200},
		{"iat in the future", now.Add(leeway + time.Minute), time.Time{}, 401},
		{"nbf passed", now, now.Add(-time.Minute), 200},
		{"nbf inside the leeway", now, now.Add(leeway - 5*time.Second), 200},
		{"nbf in the future", now, now.Add(leeway + time.Minute), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var extra map[string]any
			if !c.nbf.IsZero() {
				extra = map[string]any{"nbf": c.nbf.Unix()}
			}
			at, _, err := m.AccessToken(tokens.AccessToken{Subject: tn.UserID, ClientID: tn.ClientID,
				Scopes: []string{"openid", "email"}, IssuedAt: c.iat, Extra: extra})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", e.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+at)
			status, body, _ := e.Do(req)
			if status != c.status {
				t.Fatalf("status %d %v, want %d", status, body, c.status)
			}
		})
	}
}
