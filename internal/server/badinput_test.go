package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/tenant"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBadInputNeverBreaksTheServer sweeps every route the server lists
// (App.Routes, so a route added later is swept too) with hostile requests,
// on SQLite and on PostgreSQL: no or a forged token, hostile path ids,
// malformed and over-limit bodies, wrong content types, a wrong JSON type
// for every field the route's objects have, bad query parameters and
// methods the path does not take. Each must be answered with a 4xx in the
// endpoint's own error shape (a request that is not wrong for every route,
// such as an unknown query parameter, may also succeed, but never fail
// with a 5xx), nothing may be logged at ERROR level, and the server must
// still serve afterwards.
func TestBadInputNeverBreaksTheServer(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			logged := &testenv.ErrorLog{}
			opts := []testenv.Option{
				testenv.WithLogger(slog.New(logged)),
				// A small users-import limit keeps the over-limit upload small.
				testenv.WithConfig(func(c *config.Config) { c.ImportMaxBytes = 256 << 10 }),
			}
			if backend == "postgres" {
				opts = append(opts, testenv.WithPostgres())
			}
			e := testenv.Start(t, opts...)
			tn := e.SeedTenant(withMFAGrants)
			s := newSweeper(t, e, tn)
			start := time.Now()
			s.run()
			t.Logf("%d requests in %v", s.sent.Load(), time.Since(start).Round(time.Millisecond))
			for _, line := range logged.Take() {
				t.Errorf("logged at ERROR: %s", line)
			}
			// The server still serves: a login (with the application's
			// secret as the sweep left it: rotate-secret takes no body),
			// and the Management API.
			// A fresh Management API token: the sweep rotated the signing
			// keys (POST /keys/signing/rotate takes no body).
			e.Mgmt = s.mgmtToken()
			e.API("PUT", "/guardian/policies", []string{}, http.StatusOK)
			// A null may clear a setting: the default directory again.
			e.API("PATCH", "/tenants/settings", map[string]any{"default_directory": tn.Connection}, http.StatusOK)
			tn.ClientSecret = e.API("GET", "/clients/"+tn.ClientID, nil, http.StatusOK)["client_secret"].(string)
			if status, body := e.PasswordGrant(tn, nil); status != http.StatusOK {
				t.Errorf("password grant after the sweep: %d %v", status, body)
			}
			e.API("GET", "/users/"+url.PathEscape(tn.UserID), nil, http.StatusOK)
		})
	}
}

// route is one pattern of App.Routes, split.
type route struct {
	method, path string // path in ServeMux syntax: "/api/v2/clients/{id}"
	params       []string
}

func parseRoute(pattern string) route {
	method, path, _ := strings.Cut(pattern, " ")
	rt := route{method: method, path: path}
	for _, seg := range strings.Split(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			rt.params = append(rt.params, strings.TrimSuffix(strings.TrimSuffix(name, "}"), "..."))
		}
	}
	return rt
}

func (rt route) String() string { return rt.method + " " + rt.path }

func (rt route) mgmt() bool { return strings.HasPrefix(rt.path, "/api/v2/") }

func (rt route) takesBody() bool {
	return rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH"
}

// fill puts values in the route's path parameters: hostile for the one at
// index hostile (-1: none), the sweep's real ids elsewhere.
func (rt route) fill(ids map[string]string, hostile int, bad string) string {
	segs := strings.Split(rt.path, "/")
	n := 0
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		switch {
		case n == hostile:
			segs[i] = bad
		case ids[strings.Join(segs[:i], "/")] != "":
			segs[i] = url.PathEscape(ids[strings.Join(segs[:i], "/")])
		default:
			segs[i] = "sweep-" + rt.params[n]
		}
		n++
	}
	return strings.Join(segs, "/")
}

// probe is one hostile request and what its answer may be.
type probe struct {
	what   string
	method string
	target string // path and query
	ctype  string
	body   []byte
	chunk  bool   // send the body chunked, without a declared length
	authz  string // the Authorization header; "" for none
	// strict: the request is wrong whatever the route, so the answer is a
	// 4xx; otherwise a 2xx or 3xx is fine too, a 5xx never.
	strict bool
	// emptyOK: a strict probe may also find an empty list (a hostile id
	// finds nothing, say the logs of a user that does not exist).
	emptyOK bool
	// status, when set, is the only right answer.
	status int
}

type sweeper struct {
	t      *testing.T
	e      *testenv.Env
	tn     *testenv.Tenant
	client *http.Client
	routes []route
	// ids holds a real id for the path parameter after each path prefix
	// ("/api/v2/clients" -> a client id), found by listing.
	ids map[string]string
	// samples holds, per body route, a JSON object of the kind the route
	// takes, read from the API: its fields' types are the right ones.
	samples map[string]map[string]any
	mu      sync.Mutex
	token   string
	// userToken is an access token of the seed's user (for /userinfo),
	// mfaToken the mfa_token of its login (for the MFA API).
	userToken, mfaToken string
	sent                atomic.Int64
}

func newSweeper(t *testing.T, e *testenv.Env, tn *testenv.Tenant) *sweeper {
	s := &sweeper{t: t, e: e, tn: tn, token: e.Mgmt, ids: map[string]string{}, samples: map[string]map[string]any{},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for _, p := range e.App.Routes() {
		s.routes = append(s.routes, parseRoute(p))
	}
	if len(s.routes) < 100 {
		t.Fatalf("App.Routes lists only %d routes", len(s.routes))
	}
	s.seed()
	s.discover()
	return s
}

// seed adds one of each object the seed tenant lacks, so that their
// routes are swept with a real id and their fields' types are known.
func (s *sweeper) seed() {
	e := s.e
	e.API("POST", "/rules", map[string]any{"name": "sweep", "script": `function (user, context, callback) {
		callback(null, user, context);
	}`}, http.StatusCreated)
	e.API("POST", "/actions/actions", map[string]any{
		"name": "sweep", "code": "exports.onExecutePostLogin = async (event, api) => {};", "runtime": "node18",
		"supported_triggers": []map[string]string{{"id": "post-login", "version": "v3"}},
		"dependencies":       []map[string]string{{"name": "lodash", "version": "4.17.21"}},
		"secrets":            []map[string]string{{"name": "KEY", "value": "v"}},
	}, http.StatusCreated)
	e.API("PUT", "/rules-configs/SWEEP", map[string]any{"value": "v"}, http.StatusOK)
	e.API("POST", "/email-templates", map[string]any{"template": "reset_email", "syntax": "liquid", "enabled": false,
		"from": "help@example.com", "subject": "Reset", "body": `<p><a href="{{ url }}">reset</a></p>`,
		"resultUrl": "https://app.example.com/after-reset", "urlLifetimeInSeconds": 600}, http.StatusCreated)
	e.API("PATCH", "/tenants/settings", map[string]any{"friendly_name": "Sweep", "support_email": "help@example.com",
		"flags": map[string]any{"enable_client_connections": false}, "session_cookie": map[string]any{"mode": "persistent"},
		"allowed_logout_urls": []string{"https://app.example.com/"}, "sessions": map[string]any{"oidc_logout_prompt_enabled": false},
		"ephemeral_session_lifetime": 24, "customize_mfa_in_postlogin_action": false}, http.StatusOK)
	// The user's tokens: an access token, then, once MFA is required, an
	// mfa_token (the sweep ends by requiring it no more).
	status, body := e.PasswordGrant(s.tn, url.Values{"scope": {"openid profile email"}})
	if status != http.StatusOK {
		s.t.Fatalf("password grant: %d %v", status, body)
	}
	s.userToken = body["access_token"].(string)
	e.API("PUT", "/guardian/factors/otp", map[string]any{"enabled": true}, http.StatusOK)
	e.API("PUT", "/guardian/factors/recovery-code", map[string]any{"enabled": true}, http.StatusOK)
	e.API("PUT", "/guardian/policies", []string{"all-applications"}, http.StatusOK)
	status, body = e.PasswordGrant(s.tn, nil)
	if status != http.StatusForbidden || body["mfa_token"] == nil {
		s.t.Fatalf("password grant with MFA: %d %v", status, body)
	}
	s.mfaToken = body["mfa_token"].(string)
	// Email templates are named, not listed.
	s.ids["/api/v2/email-templates"] = "reset_email"
}

// mgmtToken is a fresh Management API token: a probe may rotate the
// signing keys (POST /keys/signing/rotate takes no body).
func (s *sweeper) mgmtToken() string {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {testenv.BootstrapID},
		"client_secret": {testenv.BootstrapSecret}, "audience": {s.e.Issuer + "api/v2/"}}
	resp, err := s.client.PostForm(s.e.URL+"/oauth/token", v)
	if err != nil {
		s.t.Errorf("management token: %v", err)
		return s.e.Mgmt
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		s.t.Errorf("management token: %d %v", resp.StatusCode, err)
		return s.e.Mgmt
	}
	return body.AccessToken
}

// get reads a Management API path with a valid token.
func (s *sweeper) get(path string) (int, any) {
	req, _ := http.NewRequest("GET", s.e.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var v any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// discover lists every collection for a real id of its members, then reads
// what each body route's objects look like.
func (s *sweeper) discover() {
	gets := map[string]bool{}
	var lists []route
	for _, rt := range s.routes {
		if rt.mgmt() && rt.method == "GET" {
			gets[rt.path] = true
			lists = append(lists, rt)
		}
	}
	// Fewer parameters first, so that nested collections find their
	// parents' ids.
	slices.SortStableFunc(lists, func(a, b route) int { return len(a.params) - len(b.params) })
	for _, rt := range lists {
		status, v := s.get(rt.fill(s.ids, -1, ""))
		if status != http.StatusOK {
			continue
		}
		for _, m := range members(v) {
			// Not the sweep's own Management API client: a probe may
			// rotate its secret.
			if id := memberID(m); id != "" && id != testenv.BootstrapID {
				s.ids[rt.path] = id
				break
			}
		}
	}
	for _, rt := range s.routes {
		if !rt.mgmt() || !rt.takesBody() {
			continue
		}
		// The object at the same path, or a member of the collection
		// a POST adds to.
		if !gets[rt.path] {
			continue
		}
		status, v := s.get(rt.fill(s.ids, -1, ""))
		if status != http.StatusOK {
			continue
		}
		switch obj := v.(type) {
		case map[string]any:
			if rt.method != "POST" {
				s.samples[rt.String()] = obj
			} else if m := firstMember(v); m != nil {
				s.samples[rt.String()] = m
			}
		case []any:
			if m := firstMember(v); m != nil && rt.method == "POST" {
				s.samples[rt.String()] = m
			}
		}
	}
}

// members are the objects of a list, bare or in a paging envelope
// ({"total":..., "clients":[...]}).
func members(v any) []map[string]any {
	var list []any
	switch l := v.(type) {
	case []any:
		list = l
	case map[string]any:
		for _, x := range l {
			if arr, ok := x.([]any); ok {
				list = arr
			}
		}
	}
	var out []map[string]any
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// firstMember is the first object of a list.
func firstMember(v any) map[string]any {
	if m := members(v); len(m) > 0 {
		return m[0]
	}
	return nil
}

// memberID is the id of a list's member.
func memberID(m map[string]any) string {
	for _, k := range []string{"id", "client_id", "user_id", "kid", "log_id", "key", "name"} {
		if id, ok := m[k].(string); ok && id != "" {
			return id
		}
	}
	return ""
}

func (s *sweeper) run() {
	work := make(chan route)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rt := range work {
				for _, p := range s.probes(rt) {
					s.send(rt, p)
				}
			}
		}()
	}
	for _, rt := range s.routes {
		work <- rt
	}
	close(work)
	wg.Wait()
	for _, p := range s.methodProbes() {
		s.send(route{path: p.target}, p)
	}
	s.mu.Lock()
	s.token = s.mgmtToken()
	s.mu.Unlock()
}

// hostileIDs are path segments no id is: NUL, dot segments, a slash, very
// long, unicode, Auth0's provider separator, invalid UTF-8, spaces.
var hostileIDs = []string{
	"%00", "..", "%2e%2e", "a%2F..%2F..%2Fb", strings.Repeat("a", 3000), "%C3%BC%E2%9C%93%F0%9F%92%A5",
	"auth0%7C%7C", "%7C", "%FF%FE", "%20", "a%0Ab", "%25",
}

// authFields are the Authentication API's request parameters, each sent
// with a wrong JSON type.
var authFields = []string{
	"grant_type", "client_id", "client_secret", "client_assertion", "client_assertion_type", "username", "password",
	"realm", "audience", "scope", "refresh_token", "token", "token_type_hint", "mfa_token", "otp", "oob_code",
	"binding_code", "recovery_code", "connection", "email", "phone_number", "send", "authParams", "authenticator_types",
	"oob_channels", "challenge_type", "authenticator_id", "user_metadata", "given_name", "family_name", "name",
	"nickname", "picture", "username", "ticket", "csrf", "confirm", "code",
}

// wrongValues are one value of each JSON type, keyed by their kind.
var wrongValues = map[string]string{
	"string": `"sweep"`, "number": `7`, "bool": `true`, "array": `[1,{"a":null}]`, "object": `{"a":{"b":[]}}`,
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

func (s *sweeper) probes(rt route) []probe {
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()
	if rt.mgmt() {
		token = s.mgmtToken()
	}
	authz := "Bearer " + token
	switch {
	case strings.HasPrefix(rt.path, "/userinfo"):
		authz = "Bearer " + s.userToken
	case strings.HasPrefix(rt.path, "/mfa/"):
		authz = "Bearer " + s.mfaToken
	case !rt.mgmt():
		authz = "Bearer " + strings.Repeat("x", 100)
	}
	real := rt.fill(s.ids, -1, "")
	var ps []probe
	add := func(p probe) {
		if p.method == "" {
			p.method = rt.method
		}
		if p.target == "" {
			p.target = real
		}
		if p.authz == "" {
			p.authz = authz
		}
		if p.authz == "-" {
			p.authz = ""
		}
		ps = append(ps, p)
	}
	if rt.mgmt() {
		add(probe{what: "no token", authz: "-", strict: true})
		add(probe{what: "forged token", authz: "Bearer " + strings.Repeat("e", 200) + ".x.y", strict: true})
		add(probe{what: "basic auth", authz: "Basic c3dlZXA6c3dlZXA=", strict: true})
	}
	for i := range rt.params {
		for _, bad := range hostileIDs {
			p := probe{what: "path id " + bad[:min(len(bad), 20)], target: rt.fill(s.ids, i, bad), strict: true, emptyOK: true}
			if rt.takesBody() {
				p.ctype, p.body = "application/json", []byte(`{}`)
			}
			add(p)
		}
	}
	if rt.takesBody() {
		for _, b := range []string{
			`{`, `{"a":1}x`, `{"a":1} {"b":2}`, `[` + strings.Repeat("[", 20000), `{"a":` + strings.Repeat(`{"a":`, 20000) + `1`,
			`"sweep"`, `123`, `true`, `null`, "{\"name\":\"\xff\xfe\"}", `{"name":"a\u0000b"}`, `{"name":"a","name":"b"}`,
			"\xef\xbb\xbf{}",
		} {
			add(probe{what: "malformed body " + b[:min(len(b), 20)], ctype: "application/json", body: []byte(b), strict: true})
		}
		// Valid JSON, but no field takes such a number: a route that takes
		// no body may ignore it.
		add(probe{what: "huge number", ctype: "application/json", body: []byte(`{"name":1e999999}`), strict: !rt.mgmt()})
		limit := 2<<20 + 128<<10 // over every route's limit
		huge := append([]byte(`{"a":"`), bytes.Repeat([]byte("a"), limit)...)
		huge = append(huge, `"}`...)
		add(probe{what: "huge body", ctype: "application/json", body: huge, strict: true})
		add(probe{what: "huge chunked body", ctype: "application/json", body: huge, chunk: true, strict: true})
		for _, ct := range []string{"text/plain", "application/xml", "application/json; charset=utf-16", ";;;", "multipart/form-data; boundary=x"} {
			body := `{}`
			if strings.HasPrefix(ct, "multipart") {
				body = "--x--"
			}
			if rt.method == "POST" && rt.path == "/api/v2/jobs/users-imports" {
				continue // its body is multipart: the malformed ones above cover it
			}
			add(probe{what: "content type " + ct, ctype: ct, body: []byte(body), strict: rt.mgmt()})
		}
		if !rt.mgmt() {
			for _, form := range []struct {
				body   string
				strict bool // malformed for every route; the others are wrong for the token endpoint only
			}{
				{"%%%", true}, {"grant_type=password&grant_type=refresh_token", true}, {"a=%00&b=%FF", true},
				{"grant_type=password&username=" + s.tn.Username + "&password=\x00\xff&client_id=" + s.tn.ClientID, true},
				{"email=" + strings.Repeat("a", 5000) + "@example.com", false},
				{"grant_type=refresh_token&refresh_token=v1." + strings.Repeat("A", 65) + "&client_id=" + s.tn.ClientID + "&client_secret=" + s.tn.ClientSecret, false},
				{"grant_type=password&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=" + strings.Repeat("e", 5000), false},
			} {
				add(probe{what: "form " + form.body[:min(len(form.body), 30)], ctype: "application/x-www-form-urlencoded", body: []byte(form.body),
					strict: form.strict || rt.path == "/oauth/token"})
			}
			for _, f := range authFields {
				for _, kind := range []string{"number", "bool", "array", "object"} {
					add(probe{what: "field " + f + " as " + kind, ctype: "application/json",
						body: []byte(`{"` + f + `":` + wrongValues[kind] + `}`), strict: true})
				}
				add(probe{what: "field " + f + " nested", ctype: "application/json",
					body: []byte(`{"` + f + `":` + strings.Repeat(`[`, 5000) + strings.Repeat(`]`, 5000) + `}`), strict: true})
			}
		}
		if sample := s.samples[rt.String()]; sample != nil {
			for _, f := range slices.Sorted(func(yield func(string) bool) {
				for k := range sample {
					if !yield(k) {
						return
					}
				}
			}) {
				have := jsonKind(sample[f])
				for kind, v := range wrongValues {
					if kind == have || have == "null" {
						continue
					}
					add(probe{what: "field " + f + " as " + kind, ctype: "application/json", body: []byte(`{"` + f + `":` + v + `}`), strict: true})
				}
				add(probe{what: "field " + f + " null", ctype: "application/json", body: []byte(`{"` + f + `":null}`)})
				if have == "object" || have == "array" {
					// Deep but valid: the store must not be the one to refuse it.
					deep := strings.Repeat(`{"a":[`, 2000) + strings.Repeat(`]}`, 2000)
					add(probe{what: "field " + f + " deep", ctype: "application/json", body: []byte(`{"` + f + `":` + deep + `}`)})
				}
			}
		}
	}
	if rt.method == "GET" {
		// A route that pages as Auth0's lists do (a bare array, or with
		// include_totals an envelope with the total) must refuse bad
		// paging; others may ignore the parameters.
		paged := false
		if rt.mgmt() {
			_, bare := s.get(real + "?page=0&per_page=1")
			status, v := s.get(real + "?page=0&per_page=1&include_totals=true")
			if m, ok := v.(map[string]any); ok && status == http.StatusOK {
				_, list := bare.([]any)
				_, total := m["total"]
				paged = list && total
			}
		}
		for _, q := range []string{"page=-1", "per_page=1000000000", "per_page=1e9", "per_page=-5", "page=abc", "include_totals=maybe"} {
			add(probe{what: "query " + q, target: real + "?" + q, strict: paged})
		}
		for _, q := range []string{
			"fields=" + url.QueryEscape("garbage,,%,\u00fc"), "fields=" + strings.Repeat("a,", 3000), "include_fields=maybe",
			"sort=garbage", "sort=name:5", "sort=" + url.QueryEscape("date:-1:x"), "q=" + url.QueryEscape(`email:"`),
			"q=" + url.QueryEscape(`((((((((((`), "q=" + url.QueryEscape(`user_id:*`), "q=" + strings.Repeat("a%20OR%20", 2000),
			"from=-1&take=1000000000", "take=abc", "page=1&page=2", "search_engine=v9", "a=%00", "%FF=1",
		} {
			add(probe{what: "query " + q[:min(len(q), 30)], target: real + "?" + q})
		}
	}
	return ps
}

// methodProbes sends every listed path the methods no route on it takes.
func (s *sweeper) methodProbes() []probe {
	taken := map[string][]string{}
	for _, rt := range s.routes {
		taken[rt.path] = append(taken[rt.path], rt.method)
	}
	// Which route a request reaches: a literal path of one route may be an
	// id of another's ("GET /api/v2/jobs/users-imports" is a job's).
	routed := http.NewServeMux()
	for _, rt := range s.routes {
		routed.HandleFunc(rt.String(), func(http.ResponseWriter, *http.Request) {})
	}
	var ps []probe
	for _, path := range slices.Sorted(func(yield func(string) bool) {
		for k := range taken {
			if !yield(k) {
				return
			}
		}
	}) {
		target := route{path: path, params: parseRoute("X " + path).params}.fill(s.ids, -1, "")
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "PROPFIND"} {
			if slices.Contains(taken[path], m) {
				continue
			}
			p := probe{what: "method " + m, method: m, target: target, authz: "Bearer " + s.mgmtTokenCached(), strict: true}
			req, _ := http.NewRequest(m, s.e.URL+target, nil)
			if _, pattern := routed.Handler(req); pattern == "" {
				// The Management API answers Auth0's 404 for a method no
				// route takes, the Authentication API 405.
				p.status = http.StatusMethodNotAllowed
				if (route{path: path}).mgmt() {
					p.status = http.StatusNotFound
				}
			}
			ps = append(ps, p)
		}
	}
	return ps
}

func (s *sweeper) mgmtTokenCached() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = s.mgmtToken()
	return s.token
}

// send makes the request and checks the answer.
func (s *sweeper) send(rt route, p probe) {
	t := s.t
	var body io.Reader
	if p.body != nil {
		body = bytes.NewReader(p.body)
		if p.chunk {
			body = io.MultiReader(body) // hides the length
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, p.method, s.e.URL+p.target, body)
	if err != nil {
		t.Errorf("%s %s: %v", rt, p.what, err)
		return
	}
	if p.ctype != "" {
		req.Header.Set("Content-Type", p.ctype)
	}
	if p.authz != "" {
		req.Header.Set("Authorization", p.authz)
	}
	s.sent.Add(1)
	resp, err := s.client.Do(req)
	if err != nil {
		t.Errorf("%s %s (%s): %v", p.method, short(p.target), p.what, err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	where := fmt.Sprintf("%s %s (%s)", p.method, short(p.target), p.what)
	switch {
	case resp.StatusCode >= 500:
		t.Errorf("%s: %d %s", where, resp.StatusCode, short(string(raw)))
		return
	case resp.StatusCode == http.StatusOK && p.emptyOK && emptyList(raw):
		return
	case resp.StatusCode < 400 && p.strict:
		t.Errorf("%s: %d, want a 4xx: %s", where, resp.StatusCode, short(string(raw)))
		return
	case resp.StatusCode < 400:
		return
	}
	if p.status != 0 && resp.StatusCode != p.status {
		t.Errorf("%s: %d, want %d: %s", where, resp.StatusCode, p.status, short(string(raw)))
	}
	if p.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
		t.Errorf("%s: 405 without Allow", where)
	}
	if msg := checkShape(req.URL.Path, resp, raw); msg != "" {
		t.Errorf("%s: %d %s: %s", where, resp.StatusCode, msg, short(string(raw)))
	}
}

// emptyList reports whether raw is an empty JSON list, bare or in an
// envelope.
func emptyList(raw []byte) bool {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	if l, ok := v.([]any); ok {
		return len(l) == 0
	}
	m, ok := v.(map[string]any)
	return ok && len(members(v)) == 0 && slices.ContainsFunc(slices.Collect(func(yield func(any) bool) {
		for _, x := range m {
			if !yield(x) {
				return
			}
		}
	}), func(x any) bool { _, isList := x.([]any); return isList })
}

func short(s string) string {
	if len(s) > 160 {
		return s[:160] + "..."
	}
	return s
}

// checkShape says what is wrong with an error answer's shape for the API
// path belongs to, or "".
func checkShape(path string, resp *http.Response, raw []byte) string {
	status := resp.StatusCode
	ct := resp.Header.Get("Content-Type")
	if strings.HasPrefix(path, "/"+tenant.ResetPath) || strings.HasPrefix(path, "/"+tenant.VerifyPath) ||
		strings.HasPrefix(path, "/"+tenant.GuardianEnrollPath) {
		// The ticket pages are for a browser: a page, unless the server
		// refused the request before the page's handler.
		if strings.HasPrefix(ct, "text/html") {
			return ""
		}
		return oauthShape(status, ct, raw)
	}
	if strings.HasPrefix(path, "/userinfo") && status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != "" {
		return "" // RFC 6750's challenge, plain text as Auth0 sends it
	}
	if !strings.HasPrefix(ct, "application/json") {
		return "content type " + ct
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return "not a JSON object"
	}
	switch {
	case strings.HasPrefix(path, "/api/v2/"), strings.HasPrefix(path, "/jobs/files/"):
		if body["statusCode"] != float64(status) || body["error"] != http.StatusText(status) {
			return "not the Management API's shape"
		}
		if m, _ := body["message"].(string); m == "" {
			return "no message"
		}
		if c, ok := body["errorCode"]; ok {
			if s, _ := c.(string); s == "" {
				return "an empty errorCode"
			}
		}
		return ""
	case strings.HasPrefix(path, "/dbconnections/"):
		// {name, code, description, statusCode}
		if body["statusCode"] != float64(status) || body["code"] == nil || body["description"] == nil || body["name"] == nil {
			return "not the /dbconnections shape"
		}
		return ""
	}
	return oauthShape(status, ct, raw)
}

func oauthShape(status int, ct string, raw []byte) string {
	if !strings.HasPrefix(ct, "application/json") {
		return "content type " + ct
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return "not a JSON object"
	}
	code, _ := body["error"].(string)
	if _, ok := body["error_description"].(string); code == "" || !ok {
		return "not the {error, error_description} shape"
	}
	return ""
}
