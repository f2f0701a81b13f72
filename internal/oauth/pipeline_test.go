package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// memStore holds one client and the signing keys in memory; any other
// store call panics (the dispatcher must not make it).
type memStore struct {
	store.Store
	mu     sync.Mutex
	client *store.Client
	keys   []*store.SigningKey
}

func (m *memStore) GetClient(_ context.Context, id string) (*store.Client, error) {
	if id != m.client.ClientID {
		return nil, store.ErrNotFound
	}
	c := *m.client
	return &c, nil
}

func (m *memStore) ListSigningKeys(context.Context) ([]*store.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keys, nil
}

func (m *memStore) ReplaceSigningKeys(_ context.Context, fn func([]*store.SigningKey) ([]*store.SigningKey, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	ks, err := fn(m.keys)
	if err == nil {
		m.keys = ks
	}
	return err
}

// journal records the phases a request went through, in order.
type journal struct {
	mu     sync.Mutex
	phases []string
	events []string
}

func (j *journal) add(p string) {
	j.mu.Lock()
	j.phases = append(j.phases, p)
	j.mu.Unlock()
}

func (j *journal) Emit(_ context.Context, e events.Event) {
	j.mu.Lock()
	j.events = append(j.events, e.Type)
	j.mu.Unlock()
	j.add("events:" + e.Type)
}

// fakeGrant is a grant whose phases write to the journal. A user login
// unless m2m; subjectErr fails the subject phase.
type fakeGrant struct {
	j          *journal
	m2m        bool
	subjectErr error
}

func (g *fakeGrant) Type() string { return "urn:test:fake" }
func (g *fakeGrant) Events() oauth.GrantEvents {
	return oauth.GrantEvents{Success: "sfake", Failure: "ffake", Login: !g.m2m}
}

func (g *fakeGrant) Check(_ context.Context, req *oauth.Request, client *store.Client) (oauth.Exchange, error) {
	g.j.add("grant")
	return &fakeExchange{g: g, client: client}, nil
}

type fakeExchange struct {
	g      *fakeGrant
	client *store.Client
}

func (x *fakeExchange) Attempt() *oauth.Attempt {
	return &oauth.Attempt{GrantType: "urn:test:fake", Client: x.client, Username: "ann"}
}

func (x *fakeExchange) Authenticate(context.Context) (*oauth.Authorization, error) {
	x.g.j.add("subject")
	if x.g.subjectErr != nil {
		return nil, x.g.subjectErr
	}
	a := &oauth.Authorization{GrantType: "password", Client: x.client, Scopes: []string{"openid", "profile"}}
	if !x.g.m2m {
		a.User = &store.User{UserID: "auth0|ann", Name: "Ann"}
	}
	return a, nil
}

func (x *fakeExchange) Commit(context.Context, *oauth.Authorization) (string, error) {
	x.g.j.add("commit")
	return "", nil
}

func newTestHandler(t *testing.T, g *fakeGrant, hooks oauth.Hooks) *oauth.Handler {
	t.Helper()
	st := &memStore{client: &store.Client{ClientID: "app", ClientSecret: "s3cret", Name: "App",
		GrantTypes: []string{"urn:test:fake"}}}
	km := keys.NewManager(st, "test", time.Now)
	if err := km.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	ca := &oauth.ClientAuthenticator{Clients: st, Nonces: st, Audience: "https://test/", Now: time.Now}
	hooks.Events = g.j
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return oauth.NewHandler(ca, &tokens.Minter{Issuer: "https://test/", Keys: km}, st, time.Now, log, hooks, g)
}

func post(h *oauth.Handler) (int, map[string]any) {
	form := url.Values{"grant_type": {"urn:test:fake"}, "client_id": {"app"}, "client_secret": {"s3cret"}}
	r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.Token(w, r)
	var body map[string]any
	json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body
}

func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

// TestPipelinePhases: the dispatcher calls every phase in its fixed order,
// and a phase that refuses ends the road there.
func TestPipelinePhases(t *testing.T) {
	t.Parallel()
	errBlocked := oauth.Errorf(http.StatusTooManyRequests, "too_many_attempts", "blocked")
	cases := []struct {
		name       string
		m2m        bool
		subjectErr error
		hooks      func(j *journal) oauth.Hooks
		status     int
		code       string
		phases     []string
	}{
		{"a login goes through every phase", false, nil, recording, 200, "",
			[]string{"grant", "guard", "subject", "post-login", "mfa", "commit", "events:s", "events:sfake"}},
		{"client credentials has no post-login nor MFA", true, nil, recording, 200, "",
			[]string{"grant", "guard", "subject", "commit", "events:sfake"}},
		{"a guard ends the request before the subject is authenticated", false, nil, func(j *journal) oauth.Hooks {
			h := recording(j)
			h.Guard = oauth.GuardFunc(func(context.Context, *oauth.Attempt) error { j.add("guard"); return errBlocked })
			return h
		}, 429, "too_many_attempts", []string{"grant", "guard", "events:ffake"}},
		{"a failed subject is logged as its own event", false, oauth.ErrWrongCredentials.WithEvent("fp"), recording, 403, "invalid_grant",
			[]string{"grant", "guard", "subject", "events:fp"}},
		{"post-login denies", false, nil, func(j *journal) oauth.Hooks {
			h := recording(j)
			h.PostLogin = oauth.PostLoginFunc(func(_ context.Context, a *oauth.Authorization) error {
				j.add("post-login")
				return a.Deny("no access on Sundays")
			})
			return h
		}, 403, "access_denied", []string{"grant", "guard", "subject", "post-login", "events:f"}},
		{"the MFA gate answers mfa_required", false, nil, func(j *journal) oauth.Hooks {
			h := recording(j)
			h.MFA = oauth.MFAGateFunc(func(context.Context, *oauth.Authorization) error {
				j.add("mfa")
				return oauth.MFARequired("mfa-token-0123456789abcdef0123456789", nil)
			})
			return h
		}, 403, "mfa_required", []string{"grant", "guard", "subject", "post-login", "mfa", "events:ffake"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			g := &fakeGrant{j: j, m2m: c.m2m, subjectErr: c.subjectErr}
			status, body := post(newTestHandler(t, g, c.hooks(j)))
			if status != c.status || (c.code != "" && body["error"] != c.code) {
				t.Fatalf("%d %v, want %d %s", status, body, c.status, c.code)
			}
			if !reflect.DeepEqual(j.phases, c.phases) {
				t.Fatalf("phases %v, want %v", j.phases, c.phases)
			}
			if c.code == "mfa_required" && body["mfa_token"] == nil {
				t.Fatalf("mfa_required without mfa_token: %v", body)
			}
		})
	}
}

// recording hooks write each phase to the journal and let it through.
func recording(j *journal) oauth.Hooks {
	return oauth.Hooks{
		Guard:     oauth.GuardFunc(func(context.Context, *oauth.Attempt) error { j.add("guard"); return nil }),
		PostLogin: oauth.PostLoginFunc(func(context.Context, *oauth.Authorization) error { j.add("post-login"); return nil }),
		MFA:       oauth.MFAGateFunc(func(context.Context, *oauth.Authorization) error { j.add("mfa"); return nil }),
	}
}

// TestPostLoginClaimsReachBothTokens: what post-login puts in the claim
// maps is minted into the access and ID tokens, never over a registered
// claim.
func TestPostLoginClaimsReachBothTokens(t *testing.T) {
	t.Parallel()
	j := &journal{}
	hooks := oauth.Hooks{PostLogin: oauth.PostLoginFunc(func(_ context.Context, a *oauth.Authorization) error {
		if a.User == nil || a.Client == nil {
			return errors.New("post-login without the user or the client")
		}
		a.AccessClaims["https://example.com/plan"] = "gold"
		a.AccessClaims["sub"] = "someone-else"
		a.IDClaims["https://example.com/roles"] = []string{"admin"}
		a.Scopes = []string{"openid"}
		return nil
	})}
	status, body := post(newTestHandler(t, &fakeGrant{j: j}, hooks))
	if status != 200 {
		t.Fatalf("%d %v", status, body)
	}
	at, id := payload(t, body["access_token"].(string)), payload(t, body["id_token"].(string))
	if at["https://example.com/plan"] != "gold" || at["sub"] != "auth0|ann" || at["scope"] != "openid" {
		t.Errorf("access token claims %v", at)
	}
	if roles, _ := id["https://example.com/roles"].([]any); len(roles) != 1 || roles[0] != "admin" {
		t.Errorf("ID token claims %v", id)
	}
	if body["scope"] != "openid" {
		t.Errorf("scope %v", body["scope"])
	}
}

// TestATokenThatCannotBeMintedIsRefusedBeforeTheCommit: the signatures
// overlap the commit, so everything that can refuse a token must do so
// before it; a claim JSON cannot carry ends the request with no write (a
// refresh family rotated for tokens never handed out would turn the
// client's retry into a reuse).
func TestATokenThatCannotBeMintedIsRefusedBeforeTheCommit(t *testing.T) {
	t.Parallel()
	for _, claims := range []string{"access", "id"} {
		t.Run(claims, func(t *testing.T) {
			t.Parallel()
			j := &journal{}
			hooks := recording(j)
			hooks.PostLogin = oauth.PostLoginFunc(func(_ context.Context, a *oauth.Authorization) error {
				if claims == "access" {
					a.AccessClaims["https://example.com/n"] = math.NaN()
				} else {
					a.IDClaims["https://example.com/n"] = math.Inf(1)
				}
				return nil
			})
			status, body := post(newTestHandler(t, &fakeGrant{j: j}, hooks))
			if status != http.StatusInternalServerError || body["error"] != "server_error" {
				t.Fatalf("%d %v, want 500 server_error", status, body)
			}
			if slices.Contains(j.phases, "commit") {
				t.Fatalf("phases %v: committed a login whose tokens could not be minted", j.phases)
			}
		})
	}
}
