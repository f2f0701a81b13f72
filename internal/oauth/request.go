package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/input"
)

// MaxBodyBytes bounds every Authentication API request body. The largest
// legitimate one is a token request with a 2 KiB client assertion.
const MaxBodyBytes = 64 << 10

// maxParams bounds how many parameters one body may carry.
const maxParams = 64

// Request is a token, revoke or MFA request, parsed once from a form or JSON
// body plus the Authorization header.
type Request struct {
	GrantType           string
	ClientID            string
	ClientSecret        string
	ClientAssertion     string
	ClientAssertionType string
	Username            string
	Password            string
	Realm               string
	Audience            string
	Scope               string
	RefreshToken        string
	Token               string // /oauth/revoke

	// Basic holds HTTP Basic credentials, when the header carried them.
	Basic *BasicCredentials

	// Params has every body parameter, for grants with parameters of their own.
	Params map[string]string
}

// BasicCredentials are client credentials from an Authorization: Basic header.
type BasicCredentials struct {
	ClientID, ClientSecret string
}

var errBadContentType = errors.New("unsupported content type")

// ParseRequest reads and parses r's body (form or JSON) and Basic header.
// Every failure is a 4xx *Error.
func ParseRequest(r *http.Request) (*Request, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, ErrBodyTooLarge
		}
		return nil, Errorf(http.StatusBadRequest, "invalid_request", "Could not read request body")
	}
	params, err := ParseBody(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "invalid_request", "%s", describe(err))
	}
	req := FromParams(params)
	basic, berr := BasicAuth(r)
	if berr != nil {
		return nil, berr
	}
	req.Basic = basic
	return req, nil
}

// BasicAuth reads client credentials from r's Authorization: Basic
// header (nil without one), checked as body parameters are.
func BasicAuth(r *http.Request) (*BasicCredentials, *Error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, nil
	}
	basic, ok := parseBasic(h)
	if !ok {
		return nil, Errorf(http.StatusBadRequest, "invalid_request", "Malformed Authorization header")
	}
	if basic != nil && (input.Text(basic.ClientID) != nil || input.Text(basic.ClientSecret) != nil) {
		return nil, Errorf(http.StatusBadRequest, "invalid_request", "Client credentials in the Authorization header %s", textRule)
	}
	return basic, nil
}

// textRule ends the description of a refused text parameter.
const textRule = "must be valid UTF-8 without NUL characters"

// textError refuses a body for its text (invalid UTF-8, a NUL), which
// every store would treat differently.
type textError struct{ what string }

func (e *textError) Error() string { return e.what + " " + textRule }
func (e *textError) Unwrap() error { return input.ErrInvalidText }

func errText(what string) error { return &textError{what} }

// FromParams builds a Request from parsed body parameters.
func FromParams(p map[string]string) *Request {
	return &Request{
		GrantType:           p["grant_type"],
		ClientID:            p["client_id"],
		ClientSecret:        p["client_secret"],
		ClientAssertion:     p["client_assertion"],
		ClientAssertionType: p["client_assertion_type"],
		Username:            p["username"],
		Password:            p["password"],
		Realm:               p["realm"],
		Audience:            p["audience"],
		Scope:               p["scope"],
		RefreshToken:        p["refresh_token"],
		Token:               p["token"],
		Params:              p,
	}
}

func describe(err error) string {
	switch {
	case errors.Is(err, errBadContentType):
		return "Content-Type must be application/x-www-form-urlencoded or application/json"
	}
	return "Malformed request body: " + err.Error()
}

// ParseBody parses a form or JSON body into string parameters. JSON values
// must be strings (arrays of strings are joined with spaces, as some SDKs
// send scope lists); form parameters must not repeat (RFC 6749 §3.2), nor
// JSON keys; every name and value must be valid UTF-8 without NUL (an
// error wrapping input.ErrInvalidText otherwise), so that no store ever
// sees text it would store, compare or refuse differently.
func ParseBody(contentType string, body []byte) (map[string]string, error) {
	mt := "application/x-www-form-urlencoded"
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, errBadContentType
		}
	}
	if !utf8.Valid(body) {
		return nil, errText("body")
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return parseForm(body)
	case "application/json":
		return parseJSON(body)
	}
	return nil, errBadContentType
}

func parseForm(body []byte) (map[string]string, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errors.New("invalid form encoding")
	}
	if len(vals) > maxParams {
		return nil, errors.New("too many parameters")
	}
	out := make(map[string]string, len(vals))
	for k, v := range vals {
		if input.Text(k) != nil {
			return nil, errText("parameter names")
		}
		if len(v) != 1 {
			return nil, errors.New("parameter " + quote(k) + " repeats")
		}
		if input.Text(v[0]) != nil {
			return nil, errText("parameter " + quote(k))
		}
		out[k] = v[0]
	}
	return out, nil
}

func parseJSON(body []byte) (map[string]string, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, errors.New("invalid JSON")
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON object")
	}
	if doc == nil {
		return nil, errors.New("JSON body must be an object")
	}
	// encoding/json keeps the last of repeated keys and turns \u0000 into
	// a NUL: refuse what it let through.
	var dup *input.DuplicateKeyError
	var text *input.TextError
	switch err := input.CheckJSON(body); {
	case errors.As(err, &dup):
		return nil, errors.New("parameter " + quote(dup.Key) + " repeats")
	case errors.As(err, &text) && text.Key == "":
		return nil, errText("body")
	case errors.As(err, &text):
		return nil, errText("parameter " + quote(text.Key))
	case err != nil:
		return nil, errors.New("invalid JSON")
	}
	if len(doc) > maxParams {
		return nil, errors.New("too many parameters")
	}
	out := make(map[string]string, len(doc))
	for k, raw := range doc {
		if string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			out[k] = s
			continue
		}
		var list []string
		if err := json.Unmarshal(raw, &list); err == nil {
			out[k] = strings.Join(list, " ")
			continue
		}
		return nil, errors.New("parameter " + quote(k) + " must be a string")
	}
	return out, nil
}

// quote names a parameter in an error description: bounded, and never
// echoing invalid text.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "?"), "\x00", "?")
	return "'" + s + "'"
}

// parseBasic decodes "Basic base64(urlenc(id):urlenc(secret))" (RFC 6749
// §2.3.1). ok is false for a malformed header; a non-Basic scheme yields
// nil credentials and ok true (it is not client authentication).
func parseBasic(h string) (*BasicCredentials, bool) {
	scheme, rest, found := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return nil, true
	}
	if !found {
		return nil, false
	}
	r := &http.Request{Header: http.Header{"Authorization": {"Basic " + strings.TrimSpace(rest)}}}
	id, secret, ok := r.BasicAuth()
	if !ok {
		return nil, false
	}
	var err1, err2 error
	if id, err1 = url.QueryUnescape(id); err1 != nil {
		return nil, false
	}
	if secret, err2 = url.QueryUnescape(secret); err2 != nil {
		return nil, false
	}
	return &BasicCredentials{ClientID: id, ClientSecret: secret}, true
}
