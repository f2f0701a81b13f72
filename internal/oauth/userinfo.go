package oauth

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// bearer extracts an RFC 6750 bearer token from the Authorization header.
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 8192
}

// UserinfoHandler serves GET and POST /userinfo: the current profile of the
// token's user, filtered by the token's scopes (which must include openid).
func (h *Handler) UserinfoHandler(users store.Users) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := badInput(r); e != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="userinfo", error="invalid_request"`)
			WriteError(w, e)
			return
		}
		raw, ok := bearer(r)
		if !ok {
			unauthorized(w, "")
			return
		}
		claims, err := h.Minter.Verify(raw, h.Minter.UserinfoAudience(), h.Now())
		if err != nil {
			unauthorized(w, "invalid_token")
			return
		}
		if !strings.Contains(" "+claims.Scope+" ", " openid ") {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid"`)
			WriteError(w, Errorf(http.StatusForbidden, "insufficient_scope", "The access token does not grant openid"))
			return
		}
		u, err := users.GetUser(r.Context(), claims.Subject)
		if errors.Is(err, store.ErrNotFound) {
			unauthorized(w, "invalid_token")
			return
		}
		if err != nil {
			h.Logger.ErrorContext(r.Context(), "userinfo: load user", slog.Any("err", err))
			WriteError(w, ErrServer)
			return
		}
		body := tokens.ProfileClaims(u, strings.Fields(claims.Scope))
		body["sub"] = u.UserID
		writeJSON(w, http.StatusOK, body)
	}
}

// badInput refuses a /userinfo request with text that is not valid (the
// Authorization header, a query or body parameter) or a body that is not a
// form or JSON object of string parameters. Only the header is read; the
// rest is refused for its form alone, as every Authentication API endpoint
// refuses it.
func badInput(r *http.Request) *Error {
	refuse := func(what string) *Error {
		return Errorf(http.StatusBadRequest, "invalid_request", "%s %s", what, textRule)
	}
	if input.Text(r.Header.Get("Authorization")) != nil {
		return refuse("The Authorization header")
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			if input.Text(k) != nil || input.Text(v) != nil {
				return refuse("Query parameters")
			}
		}
	}
	if r.Method != http.MethodPost || r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		return Errorf(http.StatusBadRequest, "invalid_request", "Could not read request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if _, err := ParseBody(r.Header.Get("Content-Type"), body); errors.Is(err, input.ErrInvalidText) {
		return refuse("Body parameters")
	} else if err != nil {
		return Errorf(http.StatusBadRequest, "invalid_request", "%s", describe(err))
	}
	return nil
}

// unauthorized answers 401 with an RFC 6750 challenge.
func unauthorized(w http.ResponseWriter, code string) {
	challenge := `Bearer realm="userinfo"`
	if code != "" {
		challenge += `, error="` + code + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("Unauthorized"))
}
