package apiauth

import (
	"context"
	"net/http"
	"strings"
)

// Middleware returns a handler that lets through only requests with a valid
// bearer token in the Authorization header, with its claims in the request
// context (see ClaimsFrom). Refusals follow RFC 6750:
//
//   - no Authorization header, or another scheme than Bearer: 401 with
//     `WWW-Authenticate: Bearer realm="api"` and no error attribute (§3.1);
//   - a malformed header ("Bearer" without a token, a token with characters
//     outside the b64token syntax, several Authorization headers): 400
//     invalid_request;
//   - a token that fails validation: 401 invalid_token;
//   - keys that cannot be fetched from the issuer: 503 temporarily_unavailable.
//
// Only the Authorization header is read: RFC 6750 discourages tokens in the
// query string and form-encoded bodies are not consumed.
func (v *Validator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, e := bearerToken(r.Header)
		if e != nil {
			v.fail(w, r, e)
			return
		}
		ac := &authContext{v: v}
		if err := v.validate(r.Context(), token, &ac.claims); err != nil {
			v.fail(w, r, errorFor(err))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ac)))
	})
}

// RequireScope returns middleware that lets through only requests whose
// token was granted every one of scopes; others get 403 insufficient_scope
// with the required scopes in the challenge. It must run inside
// Validator.Middleware (without it every request gets 500).
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return require(scopes, (*Claims).HasScope)
}

// RequirePermission is RequireScope for the permissions claim that an API
// with RBAC enforcement adds to its tokens.
func RequirePermission(permissions ...string) func(http.Handler) http.Handler {
	return require(permissions, (*Claims).HasPermission)
}

func require(needed []string, has func(*Claims, string) bool) func(http.Handler) http.Handler {
	needed = append([]string(nil), needed...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ac, ok := r.Context().Value(ctxKey{}).(*authContext)
			if !ok {
				e := &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Err: ErrNotAuthenticated}
				e.Write(w, DefaultRealm)
				return
			}
			for _, s := range needed {
				if !has(&ac.claims, s) {
					ac.v.fail(w, r, &Error{
						Status:      http.StatusForbidden,
						Code:        CodeInsufficientScope,
						Description: "the access token lacks " + s,
						Scope:       needed,
						Err:         ErrInsufficientScope,
					})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (v *Validator) fail(w http.ResponseWriter, r *http.Request, e *Error) {
	if v.onError != nil {
		v.onError(w, r, e)
		return
	}
	e.Write(w, v.realm)
}

// bearerToken extracts the token from the Authorization header (RFC 6750
// §2.1). The scheme is case-insensitive (RFC 7235 §2.1).
func bearerToken(h http.Header) (string, *Error) {
	values := h["Authorization"]
	switch {
	case len(values) == 0 || (len(values) == 1 && values[0] == ""):
		return "", missingToken()
	case len(values) > 1:
		return "", malformed("several Authorization headers")
	}
	scheme, rest, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// Another scheme is no bearer credential at all (RFC 6750 §3.1).
		return "", missingToken()
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", malformed("the Bearer credential is empty")
	}
	if !isB64Token(token) {
		return "", malformed("the Bearer credential is not a b64token")
	}
	return token, nil
}

func missingToken() *Error {
	return &Error{Status: http.StatusUnauthorized, Description: "a bearer token is required", Err: ErrMissingToken}
}

func malformed(desc string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: desc, Err: ErrMalformedRequest}
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
