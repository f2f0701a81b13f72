package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp/totp"

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

func newCLIEnv(t *testing.T, opts ...testenv.TenantOption) *cliEnv {
	gh := testenv.Start(t)
	tn := gh.SeedTenant(opts...)
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

// session runs one CLI command and answers its prompts as they appear:
// each step waits for its prompt in what the CLI printed since the last
// answer, then types what answer returns for the whole output so far.
type step struct {
	prompt string
	answer func(out string) string
}

type screen struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screen) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(b)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (c *cliEnv) session(steps []step, args ...string) (string, error) {
	c.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	out := &screen{}
	a, err := newApp(func(k string) string { return c.vars[k] }, r, out)
	if err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- a.run(context.Background(), args) }()
	seen := 0
	for _, s := range steps {
		deadline := time.Now().Add(15 * time.Second)
		for {
			o := out.String()
			if i := strings.Index(o[seen:], s.prompt); i >= 0 {
				seen += i + len(s.prompt)
				w.WriteString(s.answer(o) + "\n")
				break
			}
			select {
			case err := <-done:
				return out.String(), fmt.Errorf("ended before the prompt %q: %v", s.prompt, err)
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("no prompt %q in:\n%s", s.prompt, o)
			}
		}
	}
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		c.t.Fatalf("the CLI did not finish:\n%s", out.String())
	}
	return out.String(), err
}

// TestCLIMultiFactor: with MFA required, the first login enrols an
// authenticator app (the otpauth URI, a QR code drawn in half blocks, the
// recovery code) and logs in with its first code; a later login asks for
// a code only, and takes another after a wrong one.
func TestCLIMultiFactor(t *testing.T) {
	c := newCLIEnv(t, func(client, _ map[string]any) {
		client["grant_types"] = append(client["grant_types"].([]string), grantMFAOTP)
	})
	c.gh.API("PUT", "/guardian/factors/otp", map[string]any{"enabled": true}, 200)
	c.gh.API("PUT", "/guardian/factors/recovery-code", map[string]any{"enabled": true}, 200)
	c.gh.API("PUT", "/guardian/policies", []string{"all-applications"}, 200)

	secretRE := regexp.MustCompile(`otpauth://totp/[^\s]*[?&]secret=([A-Z2-7]+)`)
	var secret string
	codeAt := func(at time.Time) func(string) string {
		return func(out string) string {
			m := secretRE.FindStringSubmatch(out)
			if m != nil {
				secret = m[1]
			}
			code, err := totp.GenerateCode(secret, at)
			if err != nil {
				t.Fatalf("no secret to compute a code from: %v\n%s", err, out)
			}
			return code
		}
	}
	typed := func(s string) func(string) string { return func(string) string { return s } }
	credentials := []step{{"Email or username: ", typed(c.tn.Username)}, {"Password: ", typed(c.tn.Password)}}

	out, err := c.session(append(credentials, step{"Code from your authenticator app: ", codeAt(time.Now())}), "login")
	if err != nil || !strings.Contains(out, "Logged in.") {
		t.Fatalf("first login: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Scan this QR code") || !strings.Contains(out, "(or enter the secret "+secret+" by hand)") {
		t.Errorf("first login printed no enrolment:\n%s", out)
	}
	if !regexp.MustCompile(`Recovery code [^\n]*: [A-Z0-9]{24}\n`).MatchString(out) {
		t.Errorf("no recovery code:\n%s", out)
	}
	// The QR code: a square of half-block lines, quiet zone included.
	var qrLines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.ContainsAny(l, "▀▄█") {
			qrLines = append(qrLines, l)
		}
	}
	if len(qrLines) < 12 {
		t.Fatalf("QR code of %d lines:\n%s", len(qrLines), out)
	}
	width := utf8.RuneCountInString(qrLines[0])
	if width < 25 || (width+1)/2 != len(qrLines) || qrLines[0] != strings.Repeat("█", width) {
		t.Errorf("QR code %d wide, %d lines, first %q", width, len(qrLines), qrLines[0])
	}
	// Read back, the blocks are the modules of the URI's QR code.
	want, err := qr.Encode(regexp.MustCompile(`(?m)^otpauth://\S+$`).FindString(out), qr.M, qr.Auto)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < want.Bounds().Dy(); y++ {
		row := []rune(qrLines[(y+2)/2])
		for x := 0; x < want.Bounds().Dx(); x++ {
			r, _, _, _ := want.At(x, y).RGBA()
			cell := row[x+2]
			light := cell == '█' || (cell == '▀' && (y+2)%2 == 0) || (cell == '▄' && (y+2)%2 == 1)
			if light != (r > 0x7fff) {
				t.Fatalf("QR module (%d,%d) drawn %q", x, y, cell)
			}
		}
	}
	if strings.Contains(out, c.tn.Password) {
		t.Error("the password was echoed")
	}
	out, err = c.run("", "call")
	if err != nil || !strings.Contains(out, "hello from the API") {
		t.Fatalf("call after the MFA login: %v\n%s", err, out)
	}

	// The next login: no enrolment, a code; a wrong one gets another try.
	// (The first code of the next time step: each code works once.)
	out, err = c.session(append(credentials,
		step{"Code from your authenticator app: ", typed("000000")},
		step{"Code from your authenticator app: ", codeAt(time.Now().Add(30 * time.Second))}), "login")
	if err != nil || !strings.Contains(out, "Logged in.") || !strings.Contains(out, "That code was not accepted.") {
		t.Fatalf("second login: %v\n%s", err, out)
	}
	if strings.Contains(out, "otpauth://") || strings.Contains(out, "Scan this QR code") || strings.Contains(out, "Recovery code") {
		t.Errorf("second login enrolled again:\n%s", out)
	}
	if cr := c.credentials(); cr.RefreshToken == "" || cr.AccessToken == "" {
		t.Fatalf("credentials after the second login: %+v", cr)
	}
}
