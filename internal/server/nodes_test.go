package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
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

// firstSeen repeats try until it reports true and returns how long after
// start the attempt that succeeded began (so request time is not counted),
// failing after limit.
func firstSeen(t *testing.T, start time.Time, limit time.Duration, what string, try func() bool) time.Duration {
	t.Helper()
	for {
		began := time.Now()
		if try() {
			return began.Sub(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not seen within %v", what, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestNodesAgreeWithinAHundredMilliseconds runs two nodes on one
// PostgreSQL database with a configuration poll of an hour, so what node b
// sees in time it learnt from PostgreSQL's announcements (LISTEN/NOTIFY):
// a client created and changed on a, a key rotation on a, and refresh
// rotation (shared in the database) all agree on b.
func TestNodesAgreeWithinAHundredMilliseconds(t *testing.T) {
	t.Parallel()
	const within = 100 * time.Millisecond
	slowPoll := testenv.WithServerOptions(server.WithConfigPoll(time.Hour))
	a := testenv.Start(t, testenv.WithPostgres(), slowPoll)
	dsn, secret := a.App.Config.Database, a.App.Config.Secret
	b := testenv.Start(t, slowPoll, testenv.WithConfig(func(c *config.Config) { c.Database, c.Secret = dsn, secret }))

	// A client created on a logs in on b.
	tn := a.SeedTenant(rotating(0, 2592000, 1296000))
	var body map[string]any
	took := firstSeen(t, time.Now(), 5*time.Second, "client created on a", func() bool {
		var status int
		status, body = b.PasswordGrant(tn, nil)
		return status == 200
	})
	if took > within {
		t.Errorf("node b took %v to see the client created on a", took)
	}
	t.Logf("created: seen on b after %v", took)

	// A changed client (its secret rotated) on a: b refuses the old secret.
	// The probe is a client_credentials grant, which costs no password
	// hash: a probe's own time is the resolution of what is measured, and
	// a hash on a loaded machine takes longer than the bound.
	rotated := a.API("POST", "/clients/"+tn.ClientID+"/rotate-secret", nil, 200)
	oldSecret := url.Values{"grant_type": {"client_credentials"}, "client_id": {tn.ClientID},
		"client_secret": {tn.ClientSecret}, "audience": {tn.API}}
	took = firstSeen(t, time.Now(), 5*time.Second, "secret rotated on a", func() bool {
		status, _ := b.PostForm("/oauth/token", oldSecret)
		return status == 401
	})
	if took > within {
		t.Errorf("node b took %v to refuse the old secret", took)
	}
	t.Logf("changed: seen on b after %v", took)
	tn.ClientSecret = rotated["client_secret"].(string)

	// A key rotation on a: b publishes the new key and signs with it.
	promoted := a.API("POST", "/keys/signing/rotate", nil, 201)["kid"].(string)
	took = firstSeen(t, time.Now(), 5*time.Second, "key rotated on a", func() bool {
		return slices.Contains(jwksKIDs(t, b), promoted) && b.App.Keys.Current().KID == promoted
	})
	if took > within {
		t.Errorf("node b took %v to take up the rotated key", took)
	}
	t.Logf("rotated key: current on b after %v", took)
	status, body := b.PasswordGrant(tn, nil)
	if status != 200 {
		t.Fatalf("password grant on b after the rotation: %d %v", status, body)
	}
	if kid := headerKID(t, body["id_token"].(string)); kid != promoted {
		t.Fatalf("b signed a new ID token with %s, want the promoted key %s", kid, promoted)
	}

	// Refresh rotation: a token b issued, rotated on a, is reuse on b.
	rt1 := body["refresh_token"].(string)
	rt2 := mustRefresh(t, a, tn, rt1)
	expectRefused(t, b, tn, rt1, "a token rotated on a, shown again on b")
	expectRefused(t, a, tn, rt2, "the family after reuse on b, on a")
}

func jwksKIDs(t *testing.T, e *testenv.Env) []string {
	t.Helper()
	_, set, _ := e.Do(mustGet(t, e.URL+"/.well-known/jwks.json"))
	var out []string
	for _, k := range set["keys"].([]any) {
		out = append(out, k.(map[string]any)["kid"].(string))
	}
	return out
}

// headerKID reads the kid of a compact JWS without verifying it.
func headerKID(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}
