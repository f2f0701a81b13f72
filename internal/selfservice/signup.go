package selfservice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// maxBodyBytes bounds the bodies of the self-service endpoints.
const maxBodyBytes = oauth.MaxBodyBytes

// errBadBody is a body the endpoint cannot read; its text is shown.
type errBadBody struct{ msg string }

func (e *errBadBody) Error() string { return e.msg }

func badBody(format string, args ...any) error { return &errBadBody{fmt.Sprintf(format, args...)} }

// signupBody is the JSON body of POST /dbconnections/signup as Auth0's
// SDKs send it. Pointers tell absent from empty.
type signupBody struct {
	ClientID     *string           `json:"client_id"`
	Email        *string           `json:"email"`
	Password     *string           `json:"password"`
	Connection   *string           `json:"connection"`
	Username     *string           `json:"username"`
	GivenName    *string           `json:"given_name"`
	FamilyName   *string           `json:"family_name"`
	Name         *string           `json:"name"`
	Nickname     *string           `json:"nickname"`
	Picture      *string           `json:"picture"`
	UserMetadata map[string]string `json:"user_metadata"`
}

// ParseSignup reads a signup body (JSON, or a form without user_metadata).
// Text is checked at the edge: valid UTF-8, no NUL, no repeated keys, and
// every field a string (user_metadata an object of strings).
func ParseSignup(contentType string, body []byte) (*tenant.SignupInput, error) {
	mt := "application/json"
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, badBody("Content-Type must be application/json or application/x-www-form-urlencoded")
		}
	}
	if !utf8.Valid(body) {
		return nil, badBody("the body must be valid UTF-8")
	}
	var b signupBody
	switch mt {
	case "application/json":
		if err := input.CheckJSON(body); err != nil {
			return nil, badBody("Invalid JSON body: %s", err.Error())
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&b); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return nil, badBody("%s must be a string", te.Field)
			}
			return nil, badBody("Invalid JSON body")
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, badBody("Invalid JSON body: trailing data")
		}
	case "application/x-www-form-urlencoded":
		params, err := oauth.ParseBody(mt, body)
		if err != nil {
			return nil, badBody("Invalid form body")
		}
		for k, dst := range map[string]**string{
			"client_id": &b.ClientID, "email": &b.Email, "password": &b.Password, "connection": &b.Connection,
			"username": &b.Username, "given_name": &b.GivenName, "family_name": &b.FamilyName, "name": &b.Name,
			"nickname": &b.Nickname, "picture": &b.Picture,
		} {
			if v, ok := params[k]; ok {
				*dst = &v
			}
		}
	default:
		return nil, badBody("Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	for k := range b.UserMetadata {
		if input.Text(k) != nil {
			return nil, badBody("user_metadata names must be valid UTF-8 without NUL")
		}
	}
	in := &tenant.SignupInput{
		ClientID: deref(b.ClientID), Email: deref(b.Email), Password: deref(b.Password), Connection: deref(b.Connection),
		Username: opt(b.Username), GivenName: opt(b.GivenName), FamilyName: opt(b.FamilyName), Name: opt(b.Name),
		Nickname: opt(b.Nickname), Picture: opt(b.Picture), UserMetadata: b.UserMetadata,
	}
	return in, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func opt(p *string) tenant.Opt[string] {
	if p == nil {
		return tenant.Opt[string]{}
	}
	return tenant.Some(*p)
}

// readBody reads r's body under the limit.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, oauth.ErrBodyTooLarge
		}
		return nil, badBody("Could not read the request body")
	}
	return body, nil
}

// signupView is Auth0's answer to a signup: the new user's id without
// its provider prefix, and the profile given.
type signupView struct {
	ID            string            `json:"_id"`
	Email         string            `json:"email"`
	EmailVerified bool              `json:"email_verified"`
	Username      string            `json:"username,omitempty"`
	GivenName     string            `json:"given_name,omitempty"`
	FamilyName    string            `json:"family_name,omitempty"`
	Name          string            `json:"name,omitempty"`
	Nickname      string            `json:"nickname,omitempty"`
	Picture       string            `json:"picture,omitempty"`
	UserMetadata  map[string]string `json:"user_metadata,omitempty"`
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		h.writeDBError(w, r, asBodyError(err))
		return
	}
	in, err := ParseSignup(r.Header.Get("Content-Type"), body)
	if err != nil {
		h.writeDBError(w, r, asBodyError(err))
		return
	}
	in.IP, in.UserAgent = oauth.ClientIP(ctx), r.UserAgent()
	if h.Protection != nil {
		_, conn, err := h.Tenant.SignupConnection(ctx, in.ClientID, in.Connection)
		if err == nil {
			err = h.Protection.CheckSignup(ctx, in.IP, conn, in.Email, in.Password)
		}
		if err != nil {
			h.writeDBError(w, r, err)
			return
		}
	}
	u, err := h.Tenant.Signup(ctx, in)
	if err != nil {
		h.writeDBError(w, r, err)
		return
	}
	v := signupView{ID: u.Identities[0].UserID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		UserMetadata: in.UserMetadata}
	// Auth0 echoes the profile fields the caller gave, not the defaults.
	for _, f := range []struct {
		dst *string
		o   tenant.Opt[string]
		v   string
	}{{&v.GivenName, in.GivenName, u.GivenName}, {&v.FamilyName, in.FamilyName, u.FamilyName},
		{&v.Name, in.Name, u.Name}, {&v.Nickname, in.Nickname, u.Nickname}, {&v.Picture, in.Picture, u.Picture}} {
		if f.o.Set {
			*f.dst = f.v
		}
	}
	writeJSON(w, http.StatusOK, v)
	h.verifyAfterSignup(ctx, u, in.ClientID)
}

// asBodyError turns a parse failure into the endpoint's 4xx.
func asBodyError(err error) error {
	var bb *errBadBody
	if errors.As(err, &bb) {
		return &tenant.Error{Kind: tenant.Invalid, Code: "invalid_body", Message: bb.msg}
	}
	return err
}
