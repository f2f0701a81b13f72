package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error is an OAuth error as Auth0 sends it: {"error","error_description"}
// with an HTTP status. Extra members (mfa_token, error_uri) go in Extra.
type Error struct {
	Status      int
	Code        string
	Description string
	URI         string
	Extra       map[string]any
	// RetryAfter, in seconds, is sent as a Retry-After header when set.
	RetryAfter int
	// cause is logged, never sent.
	cause error
	// event, when set, is the Auth0 log event type the failure is logged
	// as instead of the grant's own failure type (fp, fu, ferrt...).
	event string
	// user, when set, is the user the failed request was about, for the
	// log event of a failure that ends before the exchange is known.
	user string
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.cause)
	}
	return e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that records why it happened, for the log.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.cause = err
	return &c
}

// WithEvent returns a copy of e logged as the Auth0 event type code (fp for
// a wrong password, ferrt for a reused refresh token...) rather than as
// the grant's generic failure.
func (e *Error) WithEvent(code string) *Error {
	c := *e
	c.event = code
	return &c
}

// WithUser returns a copy of e whose log event names userID.
func (e *Error) WithUser(userID string) *Error {
	c := *e
	c.user = userID
	return &c
}

// Event is the Auth0 log event type WithEvent set, or "".
func (e *Error) Event() string { return e.event }

// Errorf builds an Error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Description: fmt.Sprintf(format, args...)}
}

// The errors of the spec's error table that do not depend on the request.
var (
	ErrAccessDenied       = &Error{Status: http.StatusUnauthorized, Code: "access_denied", Description: "Unauthorized"}
	ErrInvalidAssertion   = &Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Invalid client assertion"}
	ErrWrongCredentials   = &Error{Status: http.StatusForbidden, Code: "invalid_grant", Description: "Wrong email or password."}
	ErrUserBlocked        = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Description: "user is blocked"}
	ErrInvalidRefresh     = &Error{Status: http.StatusForbidden, Code: "invalid_grant", Description: "Unknown or invalid refresh token."}
	ErrRefreshUserDeleted = &Error{Status: http.StatusForbidden, Code: "invalid_grant", Description: "The refresh_token was generated for a user who doesn't exist anymore."}
	ErrNoDefaultDirectory = &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "Authorization server not configured with default connection."}
	ErrServer             = &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "Internal server error"}
	ErrBodyTooLarge       = &Error{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: "Request body too large"}
	ErrBusy               = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "The server is busy. Try again shortly.", RetryAfter: 1}
)

// DirectoryUnavailable answers a request whose user's directory could not
// be asked (an LDAP server down): not the user's fault, so neither a wrong
// password nor invalid_grant (a client would throw its refresh token
// away), and not a server error.
func DirectoryUnavailable(connection string) *Error {
	return Errorf(http.StatusServiceUnavailable, "temporarily_unavailable",
		"The connection %s is not available. Try again later.", truncate(connection))
}

// MFARequired ends a login at the MFA gate: 403 mfa_required with the
// mfa_token that resumes it (mfa-api.md §2).
func MFARequired(mfaToken string, requirements map[string]any) *Error {
	e := &Error{Status: http.StatusForbidden, Code: "mfa_required", Description: "Multifactor authentication required",
		Extra: map[string]any{"mfa_token": mfaToken}}
	if requirements != nil {
		e.Extra["mfa_requirements"] = requirements
	}
	return e
}

// MissingParam is row 1 of the error table.
func MissingParam(name string) *Error {
	return Errorf(http.StatusBadRequest, "invalid_request", "Missing required parameter: %s", name)
}

// GrantNotAllowed is row 6 of the error table.
func GrantNotAllowed(grantType string) *Error {
	e := Errorf(http.StatusForbidden, "unauthorized_client", "Grant type '%s' not allowed for the client.", grantType)
	e.URI = "https://auth0.com/docs/clients/client-grant-types"
	return e
}

// AsError converts any error into an *Error; unknown errors become
// server_error with the original kept as the cause.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrServer.WithCause(err)
}

// WriteError writes e as JSON with Auth0's headers.
func WriteError(w http.ResponseWriter, e *Error) {
	body := make(map[string]any, 3+len(e.Extra))
	for k, v := range e.Extra {
		body[k] = v
	}
	body["error"] = e.Code
	body["error_description"] = e.Description
	if e.URI != "" {
		body["error_uri"] = e.URI
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs keep their '&', as Auth0 sends them
	b := []byte(`{"error":"server_error","error_description":"Internal server error"}`)
	if err := enc.Encode(v); err == nil {
		b = buf.Bytes()
	} else {
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}
