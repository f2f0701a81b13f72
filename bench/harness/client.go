package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Result is the outcome of one token request.
type Result struct {
	Status int    // 0 when the request never got an answer
	Code   string // the error member of an error body
	// Transport names a failure before any answer ("timeout", "refused", ...).
	Transport    string
	RefreshToken string
	RetryAfter   time.Duration
}

// OK reports whether the server issued tokens.
func (r Result) OK() bool { return r.Status == http.StatusOK && r.Code == "" && r.Transport == "" }

// Key names the outcome for the error tally.
func (r Result) Key() string {
	switch {
	case r.Transport != "":
		return "transport " + r.Transport
	case r.Code != "":
		return strconv.Itoa(r.Status) + " " + r.Code
	}
	return strconv.Itoa(r.Status)
}

// NewHTTPClient returns a client that keeps up to conns connections alive
// to one host, so every worker reuses its own connection as a real client
// pool would.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only; never through a proxy
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// TokenClient posts to one server's /oauth/token, or spreads its
// requests over several servers (nodes sharing one database) in turn.
type TokenClient struct {
	HTTP *http.Client
	URL  string // base URL without trailing slash
	// URLs, when it holds more than one, replaces URL: request i goes to
	// URLs[i mod len(URLs)].
	URLs []string
	next atomic.Uint64
}

// base picks the server for the next request.
func (c *TokenClient) base() string {
	if len(c.URLs) > 1 {
		return c.URLs[(c.next.Add(1)-1)%uint64(len(c.URLs))]
	}
	return c.URL
}

// tokenBody is the part of a token response the load generator reads.
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// Token posts form and reads the answer. Only a failure to build the
// request is an error; everything the server or network does is a Result.
func (c *TokenClient) Token(ctx context.Context, form url.Values) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base()+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Result{}, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Result{Transport: transportKind(err)}, nil
	}
	defer resp.Body.Close()
	return readToken(resp), nil
}

// readToken reads a token endpoint's answer into a Result.
func readToken(resp *http.Response) Result {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Result{Status: resp.StatusCode, Transport: transportKind(err)}
	}
	res := Result{Status: resp.StatusCode}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		res.RetryAfter = time.Duration(s) * time.Second
	}
	var body tokenBody
	if err := json.Unmarshal(raw, &body); err != nil {
		res.Code = "undecodable_body"
		return res
	}
	switch {
	case body.Error != "":
		res.Code = body.Error
	case resp.StatusCode == http.StatusOK && body.AccessToken == "":
		res.Code = "no_access_token"
	}
	res.RefreshToken = body.RefreshToken
	return res
}

// Conn returns a token client for one worker's goroutine: its requests go
// over a keep-alive connection of its own to each server, written and read
// on that goroutine. http.Client hands every request to two transport
// goroutines and back; on a machine whose cores the server under test
// shares, those wake-ups cost the load generator more CPU than the request
// itself, and the server's figures then carry that cost.
func (c *TokenClient) Conn() *TokenConn {
	return &TokenConn{client: c, conns: map[string]*wire{}}
}

// TokenConn is one worker's connections; it is not safe for concurrent use.
type TokenConn struct {
	client *TokenClient
	conns  map[string]*wire // by base URL
	buf    bytes.Buffer
}

// wire is one open HTTP/1.1 connection.
type wire struct {
	conn net.Conn
	r    *bufio.Reader
	host string
}

// requestTimeout bounds one request on a TokenConn, as the http.Client's
// Timeout does for Token.
const requestTimeout = 30 * time.Second

// Token posts form as TokenClient.Token does (the same request line and
// headers: Host, User-Agent, Content-Length, Content-Type) and reads the
// answer.
func (t *TokenConn) Token(ctx context.Context, form url.Values) (Result, error) {
	base := t.client.base()
	w, err := t.open(ctx, base)
	if err != nil {
		return Result{Transport: transportKind(err)}, nil
	}
	deadline := time.Now().Add(requestTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	body := form.Encode()
	t.buf.Reset()
	fmt.Fprintf(&t.buf, "POST /oauth/token HTTP/1.1\r\nHost: %s\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: %d\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n%s", w.host, len(body), body)
	resp, err := w.roundTrip(t.buf.Bytes(), deadline)
	if err != nil {
		t.drop(base)
		return Result{Transport: transportKind(err)}, nil
	}
	res := readToken(resp)
	// Close reads whatever readToken left of the body (it stops at 1 MiB),
	// so the next response starts where it should.
	if err := resp.Body.Close(); err != nil && res.Transport == "" {
		res.Transport = transportKind(err)
	}
	if resp.Close || res.Transport != "" {
		t.drop(base)
	}
	return res, nil
}

// Close closes every connection.
func (t *TokenConn) Close() {
	for base := range t.conns {
		t.drop(base)
	}
}

func (t *TokenConn) open(ctx context.Context, base string) (*wire, error) {
	if w := t.conns[base]; w != nil {
		return w, nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("token conn: %q is not an http:// base URL", base)
	}
	d := net.Dialer{Timeout: requestTimeout}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	w := &wire{conn: conn, r: bufio.NewReader(conn), host: u.Host}
	t.conns[base] = w
	return w, nil
}

func (t *TokenConn) drop(base string) {
	if w := t.conns[base]; w != nil {
		w.conn.Close()
		delete(t.conns, base)
	}
}

// roundTrip writes one request and reads its response's head; the caller
// reads the body before the next request.
func (w *wire) roundTrip(req []byte, deadline time.Time) (*http.Response, error) {
	if err := w.conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if _, err := w.conn.Write(req); err != nil {
		return nil, err
	}
	return http.ReadResponse(w.r, nil)
}

// transportKind names a client-side failure without echoing the URL.
func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "connection reset"):
		return "reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "error"
}

// Management calls one server's Management API v2 with a bearer token.
type Management struct {
	HTTP  *http.Client
	URL   string // base URL without trailing slash
	Token string
}

// Call sends in (when not nil) as JSON to /api/v2+path, checks the status
// and decodes the answer into out (when not nil).
func (m *Management) Call(ctx context.Context, method, path string, in, out any, want int) error {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.URL+"/api/v2"+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+m.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := m.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, errorOf(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// errorOf returns the error and message members of an error body, never the
// whole body (which could carry a secret).
func errorOf(raw []byte) string {
	var e struct {
		Error            string `json:"error"`
		ErrorCode        string `json:"errorCode"`
		Message          string `json:"message"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return "(no JSON body)"
	}
	return strings.TrimSpace(strings.Join([]string{e.Error, e.ErrorCode, e.Message, e.ErrorDescription}, " "))
}

// ManagementToken gets a Management API token with client credentials.
func ManagementToken(ctx context.Context, hc *http.Client, baseURL, issuer, clientID, clientSecret string) (string, error) {
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {clientSecret}, "audience": {issuer + "api/v2/"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("management token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("management token: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("management token: %w", err)
	}
	var body tokenBody
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &body) != nil || body.AccessToken == "" {
		return "", fmt.Errorf("management token: status %d: %s", resp.StatusCode, errorOf(raw))
	}
	return body.AccessToken, nil
}

// Issuer reads the server's issuer from its discovery document.
func Issuer(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discovery: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || doc.Issuer == "" {
		return "", fmt.Errorf("discovery: no issuer (%v)", err)
	}
	return doc.Issuer, nil
}
