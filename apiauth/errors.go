package apiauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// tokenError is a reason to refuse a token. Its text is safe to show to the
// client (it becomes the error_description), and every tokenError matches
// ErrInvalidToken under errors.Is.
type tokenError string

func (e tokenError) Error() string { return string(e) }

// Is makes every specific rejection also an ErrInvalidToken.
func (e tokenError) Is(target error) bool { return target == ErrInvalidToken }

// Errors returned by Validate. Every rejection of the token itself matches
// ErrInvalidToken; the others say which check failed.
var (
	ErrInvalidToken         = errors.New("the access token is invalid")
	ErrMalformedToken       = tokenError("the access token is malformed")
	ErrUnsupportedAlgorithm = tokenError("the access token's signing algorithm is not accepted")
	ErrUnknownKey           = tokenError("the access token's signing key is unknown")
	ErrInvalidSignature     = tokenError("the access token's signature is invalid")
	ErrMissingExpiry        = tokenError("the access token has no expiry")
	ErrTokenExpired         = tokenError("the access token has expired")
	ErrTokenNotYetValid     = tokenError("the access token is not valid yet")
	ErrTokenIssuedInFuture  = tokenError("the access token was issued in the future")
	ErrInvalidIssuer        = tokenError("the access token's issuer is not accepted")
	ErrInvalidAudience      = tokenError("the access token's audience is not accepted")

	// ErrKeysUnavailable means the issuer's signing keys could not be
	// fetched, so the token could be neither accepted nor refused. The
	// middleware answers 503 so that clients retry instead of re-authenticating.
	ErrKeysUnavailable = errors.New("apiauth: the issuer's signing keys are unavailable")
)

// Errors the middleware reports in Error.Err for problems with the request
// rather than with the token.
var (
	ErrMissingToken      = errors.New("apiauth: the request carries no bearer token")
	ErrMalformedRequest  = errors.New("apiauth: the Authorization header is malformed")
	ErrInsufficientScope = errors.New("apiauth: the access token lacks a required scope or permission")
	ErrNotAuthenticated  = errors.New("apiauth: RequireScope or RequirePermission used without Validator.Middleware")
)

// RFC 6750 §3.1 error codes, plus the two the middleware uses for failures
// that are not the client's.
const (
	CodeInvalidRequest         = "invalid_request"
	CodeInvalidToken           = "invalid_token"
	CodeInsufficientScope      = "insufficient_scope"
	CodeServerError            = "server_error"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	codeUnauthorized           = "unauthorized" // body only: RFC 6750 wants no error attribute here
)

// Error is a refused request, as handed to Config.ErrorHandler.
type Error struct {
	// Status is the HTTP status: 400, 401, 403, 500 or 503.
	Status int
	// Code is the RFC 6750 error code; empty when the request carried no
	// bearer token at all (RFC 6750 §3.1: no error attribute then).
	Code string
	// Description is a short human-readable reason, safe to send.
	Description string
	// Scope lists what the route requires, for insufficient_scope.
	Scope []string
	// Err is the cause, for logs; it is never sent to the client.
	Err error
}

func (e *Error) Error() string {
	msg := "apiauth: " + http.StatusText(e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Write sends the RFC 6750 response: the WWW-Authenticate challenge (for
// 400, 401 and 403) and a JSON body {"error": ..., "error_description": ...}.
// A custom ErrorHandler can log and then call Write.
func (e *Error) Write(w http.ResponseWriter, realm string) {
	h := w.Header()
	if e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		h.Set("WWW-Authenticate", e.challenge(realm))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	code := e.Code
	if code == "" {
		code = codeUnauthorized
	}
	// Encoding a struct of two strings cannot fail; a write error means the
	// client went away, and there is nobody left to tell.
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, e.Description})
}

// challenge renders the WWW-Authenticate value, e.g.
// Bearer realm="api", error="invalid_token", error_description="...".
func (e *Error) challenge(realm string) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="`)
	b.WriteString(quotable(realm))
	b.WriteByte('"')
	if e.Code != "" {
		b.WriteString(`, error="`)
		b.WriteString(quotable(e.Code))
		b.WriteByte('"')
		if e.Description != "" {
			b.WriteString(`, error_description="`)
			b.WriteString(quotable(e.Description))
			b.WriteByte('"')
		}
		if len(e.Scope) > 0 {
			b.WriteString(`, scope="`)
			b.WriteString(quotable(strings.Join(e.Scope, " ")))
			b.WriteByte('"')
		}
	}
	return b.String()
}

// quotable drops the characters RFC 6750 §3 does not allow inside its
// quoted attribute values (controls, non-ASCII, '"' and '\'), so that a
// value can never break out of the header syntax.
func quotable(s string) string {
	ok := func(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }
	clean := true
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if ok(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// errorFor turns a Validate error into the response the middleware sends.
func errorFor(err error) *Error {
	if errors.Is(err, ErrKeysUnavailable) {
		return &Error{
			Status:      http.StatusServiceUnavailable,
			Code:        CodeTemporarilyUnavailable,
			Description: "the token cannot be checked right now; retry later",
			Err:         err,
		}
	}
	desc := ErrInvalidToken.Error()
	var te tokenError
	if errors.As(err, &te) {
		desc = string(te)
	}
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Description: desc, Err: err}
}
