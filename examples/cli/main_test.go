package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/apiauth"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// cliEnv runs the CLI against a real gatehouse and a sample API.
type cliEnv struct {
	t      *testing.T
	gh     *testenv.Env
	tn     *testenv.Tenant
	vars   map[string]string
	offset time.Duration
}

func newCLIEnv(t *testing.T) *cliEnv {
	gh := testenv.Start(t)
	tn := gh.SeedTenant()
	v, err := apiauth.New(context.Background(), apiauth.Config{Issuer: gh.Issuer, Audience: tn.API})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(v.Middleware(apiauth.RequireScope("read:sample")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"message":"hello from the API"}`)) }))))
	t.Cleanup(api.Close)
	return &cliEnv{t: t, gh: gh, tn: tn, vars: map[string]string{
		"GATEHOUSE_DOMAIN": gh.URL, "CLIENT_ID": tn.ClientID, "CLIENT_SECRET": tn.ClientSecret,
		"API_AUDIENCE": tn.API, "API_URL": api.URL, "CLI_CONFIG_DIR": filepath.Join(t.TempDir(), "cfg"),
	}}
}

// run runs one CLI command with input typed at its prompts.
func (c *cliEnv) run(input string, args ...string) (string, error) {
	c.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		c.t.Fatal(err)
	}
	w.WriteString(input)
	w.Close()
	defer r.Close()
	var out bytes.Buffer
	a, err := newApp(func(k string) string { return c.vars[k] }, r, &out)
	if err != nil {
		return "", err
	}
	a.now = func() time.Time { return time.Now().Add(c.offset) }
	err = a.run(context.Background(), args)
	return out.String(), err
}

func (c *cliEnv) credentials() credentials {
	b, err := os.ReadFile(filepath.Join(c.vars["CLI_CONFIG_DIR"], "credentials.json"))
	if err != nil {
		c.t.Fatal(err)
	}
	var cr credentials
	json.Unmarshal(b, &cr)
	return cr
}

func TestCLISeedFlow(t *testing.T) {
	c := newCLIEnv(t)
	out, err := c.run(c.tn.Username+"\n"+c.tn.Password+"\n", "login")
	if err != nil || !strings.Contains(out, "Logged in.") {
		t.Fatalf("login: %v\n%s", err, out)
	}
	if strings.Contains(out, c.tn.Password) {
		t.Fatal("the password was echoed")
	}
	path := filepath.Join(c.vars["CLI_CONFIG_DIR"], "credentials.json")
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Fatalf("%s: mode %v, want %v (%v)", p, fi.Mode().Perm(), want, err)
		}
	}
	first := c.credentials()
	if first.RefreshToken == "" {
		t.Fatal("no refresh token stored")
	}

	out, err = c.run("", "call")
	if err != nil || !strings.Contains(out, "hello from the API") || strings.Contains(out, "refreshed") {
		t.Fatalf("call: %v\n%s", err, out)
	}

	// A day later the access token is about to expire: the CLI refreshes.
	c.offset = 24*time.Hour - 30*time.Second
	out, err = c.run("", "call")
	if err != nil || !strings.Contains(out, "access token refreshed") || !strings.Contains(out, "hello from the API") {
		t.Fatalf("call after expiry: %v\n%s", err, out)
	}
	if c.credentials().AccessToken == first.AccessToken {
		t.Fatal("the stored access token did not change")
	}

	out, err = c.run("", "logout")
	if err != nil || !strings.Contains(out, "Logged out.") {
		t.Fatalf("logout: %v\n%s", err, out)
	}
	status, body := c.gh.PostForm("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken},
		"client_id": {c.tn.ClientID}, "client_secret": {c.tn.ClientSecret}})
	if status != 403 {
		t.Fatalf("refresh token still works after logout: %d %v", status, body)
	}
}

func TestCLIExplainsRefusals(t *testing.T) {
	c := newCLIEnv(t)
	blocked := c.gh.API("POST", "/users", map[string]any{"connection": c.tn.Connection, "email": "blocked@example.com", "password": c.tn.Password}, 201)
	c.gh.API("PATCH", "/users/"+url.PathEscape(blocked["user_id"].(string)), map[string]any{"blocked": true}, 200)
	cases := []struct {
		name, input, want string
	}{
		{"wrong password", c.tn.Username + "\nnope\n", "wrong email or password"},
		{"unknown user", "nobody@example.com\nnope\n", "wrong email or password"},
		{"blocked user", "blocked@example.com\n" + c.tn.Password + "\n", "your account is blocked"},
	}
	for _, tc := range cases {
		if _, err := c.run(tc.input, "login"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	c.vars["CLIENT_SECRET"] = "wrong"
	if _, err := c.run(c.tn.Username+"\n"+c.tn.Password+"\n", "login"); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("wrong client secret: %v", err)
	}
	delete(c.vars, "CLIENT_ID")
	if _, err := c.run("", "call"); err == nil || !strings.Contains(err.Error(), "CLIENT_ID") {
		t.Errorf("missing CLIENT_ID: %v", err)
	}
}
