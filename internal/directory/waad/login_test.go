package waad_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// gate is the upstream gatehouse's front door on a fixed loopback port:
// the test stops it (the provider is unreachable: connection refused),
// starts it again on the same port, or has it answer 503. The upstream's
// issuer is the gate's URL, so its tokens and discovery name the address
// the downstream gatehouse actually talks to.
type gate struct {
	t      testing.TB
	addr   string
	target atomic.Pointer[url.URL]
	fail   atomic.Bool // answer 503 to everything
	mu     sync.Mutex
	srv    *http.Server
}

func newGate(t testing.TB) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{t: t, addr: ln.Addr().String()}
	g.serve(ln)
	t.Cleanup(g.Stop)
	return g
}

func (g *gate) URL() string { return "http://" + g.addr + "/" }

func (g *gate) serve(ln net.Listener) {
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(g.target.Load()) }}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.fail.Load() {
			http.Error(w, `{"error":"server_error"}`, http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 5 * time.Second}
	g.mu.Lock()
	g.srv = srv
	g.mu.Unlock()
	go srv.Serve(ln)
}

// Stop closes the listener and every open connection.
func (g *gate) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv != nil {
		g.srv.Close()
		g.srv = nil
	}
}

// Start listens again on the same address.
func (g *gate) Start() {
	g.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", g.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		g.t.Fatal(err)
	}
	g.serve(ln)
}

// waadSetup is two real gatehouses: the upstream provider (behind a gate,
// with a database connection, a user and an application allowed the
// password grant) and the downstream one, whose waad connection "corp"
// logs users in at the upstream.
type waadSetup struct {
	gate *gate
	up   *testenv.Env
	utn  *testenv.Tenant
	down *testenv.Env
	dtn  *testenv.Tenant
	log  *testenv.LogBuffer // the downstream's log
	id   string             // the waad connection's id
}

func startWaad(t *testing.T) *waadSetup {
	t.Helper()
	g := newGate(t)
	up := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.Issuer = g.URL() }))
	target, _ := url.Parse(up.URL)
	g.target.Store(target)
	utn := up.SeedTenant()
	up.API("PATCH", "/users/"+url.PathEscape(utn.UserID), map[string]any{
		"family_name": "Lee", "name": "Ann Lee", "email_verified": true}, 200)
	// Groups come as a claim of the upstream's ID token (a namespaced one:
	// groups is a restricted claim in Auth0 and gatehouse).
	up.API("POST", "/rules", map[string]any{"name": "groups", "script": `function (user, context, callback) {
		context.idToken['https://corp.example/groups'] = ['staff', 'admins'];
		callback(null, user, context);
	}`}, 201)

	log := &testenv.LogBuffer{}
	down := testenv.Start(t, testenv.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	dtn := down.SeedTenant()
	conn := down.API("POST", "/connections", map[string]any{"name": "corp", "strategy": "waad",
		"enabled_clients": []string{dtn.ClientID},
		"options": map[string]any{"client_id": utn.ClientID, "client_secret": utn.ClientSecret,
			"discovery_url": g.URL() + ".well-known/openid-configuration", "domain": "example.com",
			"groups_claim": "https://corp.example/groups"}}, 201)
	return &waadSetup{gate: g, up: up, utn: utn, down: down, dtn: dtn, log: log, id: conn["id"].(string)}
}

// login is the realm grant at the downstream gatehouse through connection
// realm.
func (s *waadSetup) login(realm, username, password string) (int, map[string]any) {
	return s.down.PostForm("/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {realm},
		"username": {username}, "password": {password}, "scope": {"openid profile email offline_access"},
		"audience": {s.dtn.API}, "client_id": {s.dtn.ClientID}, "client_secret": {s.dtn.ClientSecret},
	})
}

func (s *waadSetup) refresh(token string) (int, map[string]any) {
	return s.down.PostForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {token},
		"client_id": {s.dtn.ClientID}, "client_secret": {s.dtn.ClientSecret},
	})
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	slices.Sort(out)
	return out
}

// A login through the waad connection, over the realm grant, gets the
// downstream's tokens for the user the upstream vouched for, stored with
// the mapped profile; a wrong password is invalid_grant; the upstream
// stopped, or answering 5xx, is 503 temporarily_unavailable (not counted by
// brute-force protection) and the status endpoint says so; once it is back
// logins work again, and so do refreshes, which answer 503 meanwhile;
// wrong passwords are counted.
func TestWaadLogin(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	wantID := "waad|" + s.utn.UserID

	status, body := s.login("corp", s.utn.Username, s.utn.Password)
	if status != 200 || body["access_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("login: %d %v", status, body)
	}
	idt := claimsOf(t, body["id_token"].(string))
	if idt["sub"] != wantID || idt["email"] != s.utn.Username || idt["aud"] != s.dtn.ClientID || idt["iss"] != s.down.Issuer {
		t.Errorf("downstream id_token: %v", idt)
	}
	u := s.down.API("GET", "/users/"+url.PathEscape(wantID), nil, 200)
	if u["email"] != s.utn.Username || u["email_verified"] != true || u["given_name"] != "Ann" || u["family_name"] != "Lee" ||
		u["name"] != "Ann Lee" || u["nickname"] != "ann" || !slices.Equal(strs(u["groups"]), []string{"admins", "staff"}) {
		t.Errorf("stored user: %v", u)
	}
	if id := u["identities"].([]any)[0].(map[string]any); id["provider"] != "waad" || id["connection"] != "corp" ||
		id["user_id"] != s.utn.UserID || id["isSocial"] != false {
		t.Errorf("identity: %v", id)
	}
	rt := body["refresh_token"].(string)
	if status, body := s.refresh(rt); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	s.down.API("GET", "/connections/"+s.id+"/status", nil, 200)

	// The upstream changes the profile: the next login carries it over.
	s.up.API("PATCH", "/users/"+url.PathEscape(s.utn.UserID), map[string]any{"given_name": "Anne"}, 200)
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("second login: %d %v", status, body)
	}
	if u := s.down.API("GET", "/users/"+url.PathEscape(wantID), nil, 200); u["given_name"] != "Anne" || u["logins_count"] != float64(2) {
		t.Errorf("after the second login: given_name %v, logins_count %v", u["given_name"], u["logins_count"])
	}

	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", s.utn.Username, "not the password"},
		{"unknown user", "nobody@example.com", s.utn.Password},
	} {
		if status, body := s.login("corp", tc.user, tc.pass); status != 403 || body["error"] != "invalid_grant" {
			t.Errorf("%s: %d %v, want 403 invalid_grant", tc.name, status, body)
		}
	}

	// Brute-force protection: 3 failures block; outages are not failures.
	s.down.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"enabled": true, "max_attempts": 3}, 200)
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("login (clearing the counter): %d %v", status, body)
	}
	down := func(what string) {
		t.Helper()
		for range 4 {
			if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 503 || body["error"] != "temporarily_unavailable" {
				t.Errorf("login while the upstream %s: %d %v, want 503 temporarily_unavailable", what, status, body)
			}
		}
		s.down.API("GET", "/connections/"+s.id+"/status", nil, 404)
		// The refresh-time check cannot ask the upstream: 503, and the
		// refresh token stays good for later.
		if status, body := s.refresh(rt); status != 503 || body["error"] != "temporarily_unavailable" {
			t.Errorf("refresh while the upstream %s: %d %v, want 503 temporarily_unavailable", what, status, body)
		}
	}
	s.gate.Stop()
	down("is stopped")
	s.gate.Start()
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("login once the upstream is back: %d %v", status, body)
	}
	if status, body := s.refresh(rt); status != 200 {
		t.Errorf("refresh once the upstream is back: %d %v", status, body)
	}
	s.down.API("GET", "/connections/"+s.id+"/status", nil, 200)
	s.gate.fail.Store(true)
	down("answers 503")
	s.gate.fail.Store(false)
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 200 {
		t.Fatalf("login once the upstream answers again (4+4 outages must not count): %d %v", status, body)
	}
	if !strings.Contains(s.log.String(), "upstream identity provider unavailable") {
		t.Errorf("no log line for the outage")
	}
	for i := range 3 {
		if status, body := s.login("corp", s.utn.Username, "wrong "+string(rune('a'+i))); status != 403 {
			t.Fatalf("wrong password %d: %d %v", i, status, body)
		}
	}
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 429 || body["error"] != "too_many_attempts" {
		t.Errorf("after 3 wrong passwords: %d %v, want 429 too_many_attempts", status, body)
	}
	if strings.Contains(s.log.String(), s.utn.Password) || strings.Contains(s.log.String(), s.utn.ClientSecret) {
		t.Errorf("the log shows a password or the client secret")
	}
}

// tamperer sits at a waad connection's token_endpoint and forwards the
// password grant to the upstream's real token endpoint, either with
// another application's credentials (the ID token is genuine but for the
// wrong audience) or as it is, changing the ID token's payload on the way
// back (the signature no longer matches).
func tamperer(t *testing.T, tokenURL, clientID, clientSecret string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form := r.PostForm
		if r.URL.Path == "/swap" {
			form.Set("client_id", clientID)
			form.Set("client_secret", clientSecret)
		}
		resp, err := http.PostForm(tokenURL, form)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var body map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(raw, &body) != nil {
			t.Errorf("upstream token endpoint through the tamperer: %d %s", resp.StatusCode, raw)
			w.WriteHeader(resp.StatusCode)
			w.Write(raw)
			return
		}
		if r.URL.Path == "/forge" {
			parts := strings.Split(body["id_token"].(string), ".")
			p, _ := base64.RawURLEncoding.DecodeString(parts[1])
			p = bytes.Replace(p, []byte(`"sub":"auth0|`), []byte(`"sub":"auth0|x`), 1)
			parts[1] = base64.RawURLEncoding.EncodeToString(p)
			body["id_token"] = strings.Join(parts, ".")
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// ID tokens the upstream did not issue for this connection are refused: a
// genuine one for another application (wrong audience) and one whose
// payload was changed (bad signature). The login answers 503 (the
// connection cannot be used; the user's password may well have been
// right, so nothing is counted), nothing is stored, and the log says why.
func TestWaadRefusesForeignIDTokens(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	other := s.up.API("POST", "/clients", map[string]any{"name": "Other App", "app_type": "regular_web",
		"grant_types": []string{"password"}, "token_endpoint_auth_method": "client_secret_post"}, 201)
	tm := tamperer(t, s.gate.URL()+"oauth/token", s.utn.ClientID, s.utn.ClientSecret)
	discovery := s.gate.URL() + ".well-known/openid-configuration"
	for _, tc := range []struct {
		name, realm string
		options     map[string]any
	}{
		{"wrong audience", "corp-other", map[string]any{"client_id": other["client_id"], "client_secret": other["client_secret"],
			"discovery_url": discovery, "token_endpoint": tm.URL + "/swap"}},
		{"changed payload", "corp-forged", map[string]any{"client_id": s.utn.ClientID, "client_secret": s.utn.ClientSecret,
			"discovery_url": discovery, "token_endpoint": tm.URL + "/forge"}},
	} {
		s.down.API("POST", "/connections", map[string]any{"name": tc.realm, "strategy": "waad",
			"enabled_clients": []string{s.dtn.ClientID}, "options": tc.options}, 201)
		if status, body := s.login(tc.realm, s.utn.Username, s.utn.Password); status != 503 || body["error"] != "temporarily_unavailable" {
			t.Errorf("%s: %d %v, want 503 temporarily_unavailable", tc.name, status, body)
		}
	}
	s.down.API("GET", "/users/"+url.PathEscape("waad|"+s.utn.UserID), nil, 404)
	log := s.log.String()
	for _, want := range []string{"audience", "signature"} {
		if !strings.Contains(log, "ID token refused") || !strings.Contains(log, want) {
			t.Errorf("the log does not say the ID token was refused for its %s:\n%s", want, log)
		}
	}
	// The genuine path still works.
	if status, body := s.login("corp", s.utn.Username, s.utn.Password); status != 200 {
		t.Errorf("login through corp: %d %v", status, body)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The upstream asks for multifactor authentication (403 mfa_required, as
// Auth0 and gatehouse answer; Azure AD says invalid_grant with AADSTS50076):
// the password was right, so the login is refused as invalid_grant saying
// why, and brute-force protection counts nothing.
func TestWaadUpstreamRequiresMFA(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	s.up.API("POST", "/rules", map[string]any{"name": "mfa", "script": `function (user, context, callback) {
		context.multifactor = { provider: 'any', allowRememberBrowser: false };
		callback(null, user, context);
	}`}, 201)
	s.down.API("PATCH", "/attack-protection/brute-force-protection", map[string]any{"enabled": true, "max_attempts": 2}, 200)
	for i := range 3 {
		status, body := s.login("corp", s.utn.Username, s.utn.Password)
		if status != 403 || body["error"] != "invalid_grant" || !strings.Contains(body["error_description"].(string), "multifactor") {
			t.Fatalf("login %d with the upstream asking for MFA: %d %v, want 403 invalid_grant naming multifactor authentication", i, status, body)
		}
	}
	if status, body := s.login("corp", s.utn.Username, "wrong"); status != 403 || body["error_description"] != "Wrong email or password." {
		t.Errorf("a wrong password after the MFA refusals: %d %v (were they counted?)", status, body)
	}
	s.down.API("GET", "/users/"+url.PathEscape("waad|"+s.utn.UserID), nil, 404)
}

// Two waad connections in front of the same provider (two applications of
// one Azure AD tenant) log in the same upstream user: the first keeps
// Auth0's "waad|<id>", the second's user is "waad|<connection>|<id>", each
// in its own connection with the provider's id as its identity, and both
// ids stay what they are at later logins, whichever connection comes first.
func TestWaadTwoConnectionsOneProvider(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	s.down.API("POST", "/connections", map[string]any{"name": "corp-two", "strategy": "waad",
		"enabled_clients": []string{s.dtn.ClientID},
		"options": map[string]any{"client_id": s.utn.ClientID, "client_secret": s.utn.ClientSecret,
			"discovery_url": s.gate.URL() + ".well-known/openid-configuration"}}, 201)
	want := map[string]string{"corp": "waad|" + s.utn.UserID, "corp-two": "waad|corp-two|" + s.utn.UserID}
	for round, realms := range [][]string{{"corp", "corp-two"}, {"corp-two", "corp"}} {
		for _, realm := range realms {
			status, body := s.login(realm, s.utn.Username, s.utn.Password)
			if status != 200 {
				t.Fatalf("round %d, login through %s: %d %v", round, realm, status, body)
			}
			if sub := claimsOf(t, body["id_token"].(string))["sub"]; sub != want[realm] {
				t.Errorf("round %d, login through %s: sub %v, want %s", round, realm, sub, want[realm])
			}
		}
	}
	for realm, id := range want {
		u := s.down.API("GET", "/users/"+url.PathEscape(id), nil, 200)
		ident := u["identities"].([]any)[0].(map[string]any)
		if ident["connection"] != realm || ident["user_id"] != s.utn.UserID || ident["provider"] != "waad" ||
			u["logins_count"] != float64(2) || u["email"] != s.utn.Username {
			t.Errorf("user %s: %v", id, u)
		}
	}
}

// The refresh-time check against a second gatehouse playing the provider:
// the login keeps the upstream's refresh token (sealed, never in the log);
// a user blocked or deleted upstream loses refresh (403 invalid_grant, and
// the family is gone), while another user's refresh keeps working; an
// upstream that is down answers 503 and logs no one out;
// user_check_interval_s spares the upstream within the interval; a
// provider that gives no refresh token leaves refresh unchecked, as before.
func TestWaadRefreshChecksTheUpstream(t *testing.T) {
	t.Parallel()
	s := startWaad(t)
	users := map[string]string{"ann@example.com": s.utn.UserID} // email → upstream user_id
	for _, email := range []string{"bob@example.com", "cat@example.com", "dan@example.com"} {
		u := s.up.API("POST", "/users", map[string]any{"connection": s.utn.Connection, "email": email, "password": s.utn.Password}, 201)
		users[email] = u["user_id"].(string)
	}
	rt := map[string]string{}
	for email := range users {
		status, body := s.login("corp", email, s.utn.Password)
		if status != 200 || body["refresh_token"] == nil {
			t.Fatalf("login %s: %d %v", email, status, body)
		}
		rt[email] = body["refresh_token"].(string)
	}
	refresh := func(email string, want int) {
		t.Helper()
		status, body := s.refresh(rt[email])
		if status != want || want == 403 && body["error"] != "invalid_grant" || want == 503 && body["error"] != "temporarily_unavailable" {
			t.Errorf("refresh of %s: %d %v, want %d", email, status, body, want)
		}
	}
	fams, err := s.down.App.Store.ListRefreshFamilies(context.Background(), "waad|"+users["ann@example.com"], "")
	if err != nil || len(fams) != 1 || !strings.Contains(string(fams[0].ConnectorData), "refresh_token") {
		t.Fatalf("ann's family keeps no upstream session: %v (%v)", fams, err)
	}
	annFamily := fams[0].ID
	var sess struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(fams[0].ConnectorData, &sess); err != nil || sess.RefreshToken == "" {
		t.Fatalf("ann's session: %s (%v)", fams[0].ConnectorData, err)
	}
	upstreamRT := sess.RefreshToken
	for email := range users {
		refresh(email, 200)
	}

	// Blocked upstream: the next refresh fails and ends the family.
	s.up.API("PATCH", "/users/"+url.PathEscape(users["ann@example.com"]), map[string]any{"blocked": true}, 200)
	refresh("ann@example.com", 403)
	if _, err := s.down.App.Store.GetRefreshFamily(context.Background(), annFamily); err == nil {
		t.Errorf("ann's family outlived the upstream's refusal")
	}
	s.up.API("PATCH", "/users/"+url.PathEscape(users["ann@example.com"]), map[string]any{"blocked": false}, 200)
	refresh("ann@example.com", 403) // revoked for good: a new login it takes
	// Deleted upstream: the same.
	s.up.API("DELETE", "/users/"+url.PathEscape(users["bob@example.com"]), nil, 204)
	refresh("bob@example.com", 403)
	refresh("cat@example.com", 200)

	// The upstream down: 503, nobody logged out.
	s.gate.Stop()
	refresh("cat@example.com", 503)
	s.gate.Start()
	refresh("cat@example.com", 200)

	// Within user_check_interval_s the upstream is not asked: dan, blocked
	// upstream just after a check, keeps refreshing until the interval
	// passes (here: until the interval is set back to 0).
	s.down.API("PATCH", "/connections/"+s.id, map[string]any{"options": map[string]any{
		"client_id": s.utn.ClientID, "discovery_url": s.gate.URL() + ".well-known/openid-configuration",
		"groups_claim": "https://corp.example/groups", "user_check_interval_s": 3600}}, 200)
	refresh("dan@example.com", 200)
	s.up.API("PATCH", "/users/"+url.PathEscape(users["dan@example.com"]), map[string]any{"blocked": true}, 200)
	refresh("dan@example.com", 200)
	s.down.API("PATCH", "/connections/"+s.id, map[string]any{"options": map[string]any{
		"client_id": s.utn.ClientID, "discovery_url": s.gate.URL() + ".well-known/openid-configuration",
		"groups_claim": "https://corp.example/groups", "user_check_interval_s": 0}}, 200)
	refresh("dan@example.com", 403)

	// The provider's application loses the refresh_token grant: the
	// provider gives no refresh token, so no session, no check.
	s.up.API("PATCH", "/clients/"+s.utn.ClientID, map[string]any{
		"grant_types": []string{"password", "http://auth0.com/oauth/grant-type/password-realm"}}, 200)
	status, body := s.login("corp", "cat@example.com", s.utn.Password)
	if status != 200 {
		t.Fatalf("login without an upstream refresh token: %d %v", status, body)
	}
	rt["plain"] = body["refresh_token"].(string)
	s.gate.Stop()
	refresh("plain", 200)
	s.gate.Start()

	log := s.log.String()
	if !strings.Contains(log, "refused the user's refresh token") {
		t.Errorf("no log line for the upstream's refusal")
	}
	if strings.Contains(log, s.utn.Password) || strings.Contains(log, s.utn.ClientSecret) || strings.Contains(log, upstreamRT) {
		t.Errorf("the log shows a password, the client secret or the upstream's refresh token")
	}
}
