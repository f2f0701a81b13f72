// Command cli is a first-party command-line app that signs its user in the
// way the seed describes: it asks for username and password, trades them at
// gatehouse's /oauth/token for tokens (password grant, with audience and
// offline_access), answers mfa_required with a code from an authenticator
// app (enrolling one on the first login: the otpauth URI as a QR code in
// the terminal, and the recovery code), keeps the refresh token in the user's config directory
// readable only by the user, refreshes the access token when it is about to
// expire, and calls the sample API with it.
//
//	cli login          ask for credentials and store the tokens
//	cli call [PATH]    call the API (default /api/private-scoped), logging in first if needed
//	cli logout         revoke the refresh token and forget it
//
// Configuration comes from the environment: GATEHOUSE_DOMAIN (issuer URL),
// CLIENT_ID, CLIENT_SECRET (empty for a public native app), API_AUDIENCE and
// API_URL.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"
)

// app holds the configuration and the terminal.
type app struct {
	domain, clientID, clientSecret, audience, apiURL string
	credsPath                                        string
	in                                               *bufio.Reader
	inFile                                           *os.File // for hidden password input when it is a terminal
	out                                              io.Writer
	http                                             *http.Client
	now                                              func() time.Time
}

// credentials is what the app keeps between runs.
type credentials struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

func main() {
	a, err := newApp(os.Getenv, os.Stdin, os.Stdout)
	if err == nil {
		err = a.run(context.Background(), os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newApp(getenv func(string) string, stdin *os.File, stdout io.Writer) (*app, error) {
	dir := getenv("CLI_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("find config directory: %w", err)
		}
		dir = filepath.Join(base, "gatehouse-example")
	}
	a := &app{
		domain:       strings.TrimSuffix(orDefault(getenv("GATEHOUSE_DOMAIN"), "http://127.0.0.1:8080"), "/"),
		clientID:     getenv("CLIENT_ID"),
		clientSecret: getenv("CLIENT_SECRET"),
		audience:     orDefault(getenv("API_AUDIENCE"), "https://api.example.com"),
		apiURL:       strings.TrimSuffix(orDefault(getenv("API_URL"), "http://127.0.0.1:3010"), "/"),
		credsPath:    filepath.Join(dir, "credentials.json"),
		in:           bufio.NewReader(stdin),
		inFile:       stdin,
		out:          stdout,
		http:         &http.Client{Timeout: 15 * time.Second},
		now:          time.Now,
	}
	if a.clientID == "" {
		return nil, errors.New("set CLIENT_ID (and CLIENT_SECRET for a confidential application)")
	}
	return a, nil
}

func (a *app) run(ctx context.Context, args []string) error {
	cmd := "call"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "login":
		return a.login(ctx)
	case "logout":
		return a.logout(ctx)
	case "call":
		path := "/api/private-scoped"
		if len(args) > 0 {
			path = args[0]
		}
		return a.call(ctx, path)
	}
	return fmt.Errorf("unknown command %q (want login, call or logout)", cmd)
}

// login asks for credentials and exchanges them for tokens.
func (a *app) login(ctx context.Context) error {
	fmt.Fprint(a.out, "Email or username: ")
	username, err := a.readLine()
	if err != nil {
		return err
	}
	fmt.Fprint(a.out, "Password: ")
	password, err := a.readPassword()
	fmt.Fprintln(a.out)
	if err != nil {
		return err
	}
	creds, err := a.token(ctx, url.Values{
		"grant_type": {"password"},
		"username":   {username},
		"password":   {password},
		"audience":   {a.audience},
		"scope":      {"openid profile email offline_access read:sample"},
	}, nil)
	var mfa *mfaRequired
	if errors.As(err, &mfa) {
		creds, err = a.secondFactor(ctx, mfa.token)
	}
	if err != nil {
		return err
	}
	if creds.RefreshToken == "" {
		fmt.Fprintln(a.out, "note: no refresh token was issued (is offline access allowed for the API and the refresh_token grant for the app?)")
	}
	if err := a.save(creds); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "Logged in.")
	return nil
}

// call makes sure a fresh access token is at hand and calls the API.
func (a *app) call(ctx context.Context, path string) error {
	creds, err := a.load()
	if errors.Is(err, os.ErrNotExist) {
		if err := a.login(ctx); err != nil {
			return err
		}
		creds, err = a.load()
	}
	if err != nil {
		return err
	}
	// Refresh a minute early, so the token cannot expire on its way.
	if a.now().Add(time.Minute).After(creds.ExpiresAt) {
		if creds.RefreshToken == "" {
			return errors.New("the access token expired and there is no refresh token: run `cli login`")
		}
		fresh, err := a.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {creds.RefreshToken}}, creds)
		if err != nil {
			return fmt.Errorf("refresh: %w (run `cli login` again)", err)
		}
		if err := a.save(fresh); err != nil {
			return err
		}
		creds = fresh
		fmt.Fprintln(a.out, "(access token refreshed)")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", a.apiURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+creds.AccessToken)
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("call API: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the API answered %s: %s", resp.Status, strings.TrimSpace(resp.Header.Get("WWW-Authenticate")+" "+string(body)))
	}
	fmt.Fprintf(a.out, "%s\n", strings.TrimSpace(string(body)))
	return nil
}

// logout revokes the refresh token at gatehouse and forgets the tokens.
func (a *app) logout(ctx context.Context) error {
	creds, err := a.load()
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(a.out, "Not logged in.")
		return nil
	}
	if err != nil {
		return err
	}
	if creds.RefreshToken != "" {
		form := a.clientAuth(url.Values{"token": {creds.RefreshToken}})
		resp, err := a.http.PostForm(a.domain+"/oauth/revoke", form)
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("revoke: gatehouse answered %s", resp.Status)
		}
	}
	if err := os.Remove(a.credsPath); err != nil {
		return err
	}
	fmt.Fprintln(a.out, "Logged out.")
	return nil
}

// token posts a token request; prev keeps the refresh token when a
// non-rotating refresh returns none.
func (a *app) token(ctx context.Context, form url.Values, prev *credentials) (*credentials, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", a.domain+"/oauth/token", strings.NewReader(a.clientAuth(form).Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach gatehouse: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
		MFAToken     string `json:"mfa_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("gatehouse answered %s with an unreadable body", resp.Status)
	}
	switch {
	case body.Error == "mfa_required" && body.MFAToken != "":
		return nil, &mfaRequired{token: body.MFAToken}
	case body.Error == "invalid_grant" && form.Get("grant_type") == grantMFAOTP && strings.Contains(body.Description, "otp"):
		return nil, &wrongCode{body.Description}
	case resp.StatusCode != http.StatusOK:
		return nil, explain(resp.StatusCode, body.Error, body.Description)
	}
	creds := &credentials{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken,
		ExpiresAt: a.now().Add(time.Duration(body.ExpiresIn) * time.Second)}
	if creds.RefreshToken == "" && prev != nil {
		creds.RefreshToken = prev.RefreshToken
	}
	return creds, nil
}

// explain turns gatehouse's (Auth0's) error codes into advice for a person.
func explain(status int, code, description string) error {
	switch code {
	case "invalid_grant":
		if description == "Wrong email or password." {
			return errors.New("wrong email or password")
		}
		return fmt.Errorf("your session is no longer valid: %s", description)
	case "unauthorized":
		return fmt.Errorf("your account is blocked: %s", description)
	case "too_many_attempts":
		return fmt.Errorf("too many attempts: %s", description)
	case "mfa_required":
		return errors.New("this account requires multi-factor authentication, but gatehouse sent no mfa_token")
	case "unauthorized_client":
		return fmt.Errorf("the application may not do this (does it have the MFA grant types?): %s", description)
	case "expired_token":
		return errors.New("the login took too long; run `cli login` again")
	case "password_leaked":
		return errors.New("this password appeared in a data breach; reset it before logging in")
	case "access_denied":
		return fmt.Errorf("access denied: %s", description)
	case "temporarily_unavailable":
		return errors.New("gatehouse is busy; try again in a moment")
	}
	return fmt.Errorf("gatehouse refused the request (%d %s): %s", status, code, description)
}

// wrongCode is an MFA code gatehouse did not accept.
type wrongCode struct{ description string }

func (e *wrongCode) Error() string { return "the code was not accepted: " + e.description }

// clientAuth adds the application's credentials (client_secret_post).
func (a *app) clientAuth(form url.Values) url.Values {
	form.Set("client_id", a.clientID)
	if a.clientSecret != "" {
		form.Set("client_secret", a.clientSecret)
	}
	return form
}

// save writes the tokens readable by the user alone.
func (a *app) save(c *credentials) error {
	if err := os.MkdirAll(filepath.Dir(a.credsPath), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := a.credsPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.credsPath)
}

func (a *app) load() (*credentials, error) {
	b, err := os.ReadFile(a.credsPath)
	if err != nil {
		return nil, err
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s is damaged; run `cli login`: %w", a.credsPath, err)
	}
	return &c, nil
}

func (a *app) readLine() (string, error) {
	line, err := a.in.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readPassword reads without echo from a terminal, or a line otherwise.
func (a *app) readPassword() (string, error) {
	if a.inFile != nil && term.IsTerminal(int(a.inFile.Fd())) {
		b, err := term.ReadPassword(int(a.inFile.Fd()))
		return string(b), err
	}
	return a.readLine()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
