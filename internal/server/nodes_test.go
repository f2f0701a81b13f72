package server_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTwoNodesShareOnePostgres runs two gatehouse nodes on one PostgreSQL
// database, as behind a load balancer: the tenant is set up through one,
// users log in through the other, and refresh tokens move between them.
func TestTwoNodesShareOnePostgres(t *testing.T) {
	t.Parallel()
	a := testenv.Start(t, testenv.WithPostgres())
	dsn, secret := a.App.Config.Database, a.App.Config.Secret
	b := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.Database, c.Secret = dsn, secret }))

	// Both nodes publish the same keys: the set is made once.
	kids := func(e *testenv.Env) []string {
		_, set, _ := e.Do(mustGet(t, e.URL+"/.well-known/jwks.json"))
		var out []string
		for _, k := range set["keys"].([]any) {
			out = append(out, k.(map[string]any)["kid"].(string))
		}
		slices.Sort(out)
		return out
	}
	if ka, kb := kids(a), kids(b); len(ka) != 4 || !slices.Equal(ka, kb) {
		t.Fatalf("the nodes publish different key sets:\n%v\n%v", ka, kb)
	}

	tn := a.SeedTenant(rotating(0, 2592000, 1296000))
	// Node b learns of the new configuration within its poll interval.
	var status int
	var body map[string]any
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if status, body = b.PasswordGrant(tn, nil); status == 200 {
			break
		}
	}
	if status != 200 {
		t.Fatalf("password grant on node b: %d %v", status, body)
	}
	rt1 := body["refresh_token"].(string)
	// Node a rotates the token node b issued; node b sees the rotation.
	rt2 := mustRefresh(t, a, tn, rt1)
	rt3 := mustRefresh(t, b, tn, rt2)
	// Reuse of rt1 on node b revokes the family on both.
	expectRefused(t, b, tn, rt1, "reuse on node b")
	expectRefused(t, a, tn, rt3, "the newest token on node a after reuse")

	// A client secret rotated through node a stops working on node b.
	rotated := a.API("POST", "/clients/"+tn.ClientID+"/rotate-secret", nil, 200)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, _ = b.PasswordGrant(tn, nil)
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node b still accepts the old secret: %d", status)
		}
	}
	tn.ClientSecret = rotated["client_secret"].(string)
	if status, body = b.PasswordGrant(tn, url.Values{}); status != 200 {
		t.Fatalf("new secret on node b: %d %v", status, body)
	}
}
