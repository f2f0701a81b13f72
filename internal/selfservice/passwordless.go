package selfservice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory/passwordless"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
)

// StartInput is the body of POST /passwordless/start.
type StartInput struct {
	// Params are the string parameters, client authentication among them.
	Params map[string]string
	// AuthParams is authParams as sent (an object); codes do not use it.
	AuthParams map[string]any
}

// maxAuthParams bounds the keys of authParams.
const maxAuthParams = 32

// startError is the error shape of /passwordless/start:
// {"error":"bad.<field>","error_description":...}.
func startError(code, format string, args ...any) *oauth.Error {
	return oauth.Errorf(http.StatusBadRequest, code, format, args...)
}

// ParseStart reads a /passwordless/start body: JSON (authParams an object,
// every other value a string) or a form. Text is checked at the edge as
// for every Authentication API body.
func ParseStart(contentType string, body []byte) (*StartInput, error) {
	mt := "application/json"
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, startError("bad.request", "Content-Type must be application/json or application/x-www-form-urlencoded")
		}
	}
	if !utf8.Valid(body) {
		return nil, startError("bad.request", "the body must be valid UTF-8")
	}
	in := &StartInput{Params: map[string]string{}}
	switch mt {
	case "application/json":
		if err := input.CheckJSON(body); err != nil {
			return nil, startError("bad.request", "Invalid JSON body: %s", err.Error())
		}
		var doc map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&doc); err != nil || doc == nil {
			return nil, startError("bad.request", "Invalid JSON body")
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, startError("bad.request", "Invalid JSON body: trailing data")
		}
		if len(doc) > 64 {
			return nil, startError("bad.request", "Too many properties")
		}
		for k, raw := range doc {
			if k == "authParams" {
				if err := json.Unmarshal(raw, &in.AuthParams); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
					return nil, startError("bad.authParams", "authParams must be an object")
				}
				if len(in.AuthParams) > maxAuthParams {
					return nil, startError("bad.authParams", "authParams may have at most %d properties", maxAuthParams)
				}
				continue
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, startError("bad."+k, "%s must be a string", truncate(k))
			}
			in.Params[k] = v
		}
	case "application/x-www-form-urlencoded":
		params, err := oauth.ParseBody(mt, body)
		if err != nil {
			return nil, startError("bad.request", "Invalid form body")
		}
		in.Params = params
	default:
		return nil, startError("bad.request", "Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	return in, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64]
	}
	return s
}

// startView is Auth0's answer to /passwordless/start.
type startView struct {
	ID            string `json:"_id"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	PhoneNumber   string `json:"phone_number,omitempty"`
	PhoneVerified *bool  `json:"phone_verified,omitempty"`
	// RequestLanguage is always null here, as Auth0 sends it for sms.
	RequestLanguage *string `json:"request_language,omitempty"`
}

// passwordlessStart is POST /passwordless/start with send=code: it mails
// or texts a one-time code for the passwordless/otp grant. The answer does
// not tell whether the address or number belongs to a user.
func (h *Handler) passwordlessStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(err error) {
		e := oauth.AsError(err)
		level := slog.LevelInfo
		if e.Status >= 500 {
			level = slog.LevelError
		}
		h.Logger.LogAttrs(ctx, level, "passwordless start refused", slog.String("error", e.Code), slog.Int("status", e.Status), slog.Any("cause", err))
		oauth.WriteError(w, e)
	}
	body, err := readBody(r)
	if err != nil {
		var bb *errBadBody
		if errors.As(err, &bb) {
			err = startError("bad.request", "%s", bb.msg)
		}
		fail(err)
		return
	}
	in, err := ParseStart(r.Header.Get("Content-Type"), body)
	if err != nil {
		fail(err)
		return
	}
	req := oauth.FromParams(in.Params)
	basic, berr := oauth.BasicAuth(r)
	if berr != nil {
		fail(berr)
		return
	}
	req.Basic = basic
	client, _, err := h.Clients.Authenticate(ctx, req)
	if err != nil {
		fail(err)
		return
	}
	if !client.AllowsGrant(protocol.GrantPasswordlessOTP) {
		fail(oauth.GrantNotAllowed(protocol.GrantPasswordlessOTP))
		return
	}
	conn, err := h.passwordlessConnection(ctx, client, in.Params["connection"])
	if err != nil {
		fail(err)
		return
	}
	kind := conn.Strategy
	field := map[string]string{passwordless.Email: "email", passwordless.SMS: "phone_number"}[kind]
	raw := in.Params[field]
	if raw == "" {
		fail(startError("bad."+field, "Missing required property: %s", field))
		return
	}
	id, err := passwordless.Normalize(kind, raw)
	if err != nil {
		fail(startError("bad."+field, "error in %s - %s format validation failed: %s", field, field, truncate(raw)))
		return
	}
	if kind == passwordless.Email {
		switch in.Params["send"] {
		case "code":
		case "", "link":
			// Auth0's default is a link, which gatehouse does not send.
			fail(startError("bad.send", "send must be code: gatehouse sends no magic links"))
			return
		default:
			fail(startError("bad.send", "send must be code or link"))
			return
		}
	}
	opts, err := passwordless.ParseOptions(conn.Options)
	if err != nil {
		fail(oauth.ErrServer.WithCause(err))
		return
	}
	ip := oauth.ClientIP(ctx)
	if err := h.takeAll(ctx, bucket{"pwdless-ip|" + ip, limitCodePerIP},
		bucket{"pwdless-id|" + passwordless.RecordID(conn, id), limitCodePerIdentifier}); err != nil {
		fail(err)
		return
	}
	ev := events.Event{Type: events.CodeLinkSent, ClientID: client.ClientID, ClientName: client.Name, UserName: id,
		Connection: conn.Name, ConnectionID: conn.ID, Strategy: kind, UserAgent: r.UserAgent()}
	if kind == passwordless.SMS {
		ev.Type = events.CodeSent
	}
	send := true
	if opts.DisableSignup {
		u, err := h.Tenant.PasswordlessUser(ctx, conn, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			send, ev.Description = false, "signup disabled and no such user: nothing sent"
		case err != nil:
			fail(oauth.ErrServer.WithCause(err))
			return
		default:
			ev.UserID = u.UserID
		}
	}
	if send {
		code := passwordless.NewCode(opts.Length())
		rec := passwordless.RecordID(conn, id)
		_, err := h.Store.UpdatePasswordlessCode(ctx, rec, func(c *store.PasswordlessCode) error {
			*c = store.PasswordlessCode{ID: rec, ConnectionID: conn.ID, Identifier: id, ClientID: client.ClientID,
				CodeHash: passwordless.Hash(h.Key, rec, code), ExpiresAt: h.now().Add(opts.TTL())}
			return nil
		})
		if err != nil {
			fail(oauth.ErrServer.WithCause(err))
			return
		}
		// Deliver after answering, so the time taken says nothing about
		// whether a message went out.
		go h.sendCode(context.WithoutCancel(ctx), conn, opts, client, id, code)
	}
	h.emit(ctx, ev)
	view := startView{ID: ids.Hex(12)}
	no := false
	if kind == passwordless.SMS {
		view.PhoneNumber, view.PhoneVerified = id, &no
	} else {
		view.Email, view.EmailVerified = id, &no
	}
	writeJSON(w, http.StatusOK, view)
}

// passwordlessConnection finds the passwordless connection name: Auth0's
// passwordless connections are named after their strategy.
func (h *Handler) passwordlessConnection(ctx context.Context, client *store.Client, name string) (*store.Connection, error) {
	if name == "" {
		return nil, startError("bad.connection", "Missing required property: connection")
	}
	conn, err := h.Store.ConnectionByName(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && !passwordless.Is(conn):
		return nil, startError("bad.connection", "Connection does not exist")
	case err != nil:
		return nil, oauth.ErrServer.WithCause(err)
	}
	if !conn.EnabledFor(client.ClientID) {
		return nil, startError("bad.connection", "Connection is disabled for this client")
	}
	return conn, nil
}

// sendCode mails or texts a code.
func (h *Handler) sendCode(ctx context.Context, conn *store.Connection, opts passwordless.Options, client *store.Client, id, code string) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	d := notify.Data{Email: id, Code: code, TTL: int((opts.TTL() + time.Minute - 1) / time.Minute), Application: client.Name}
	var err error
	if conn.Strategy == passwordless.SMS {
		var text string
		if text, err = h.smsText(ctx, opts, d); err == nil {
			err = h.SMS.SendSMS(ctx, id, text)
		}
	} else {
		err = h.sendEmail(ctx, notify.TemplatePasswordlessEmail, d,
			&notify.Template{Subject: opts.Subject, Body: opts.Template, From: opts.From})
	}
	if err != nil {
		h.Logger.ErrorContext(ctx, "passwordless code not sent", slog.String("connection", conn.Name), slog.Any("err", err))
	}
}

// smsText is the text message of a code: the connection's template, else
// a plain default, with the tenant's name.
func (h *Handler) smsText(ctx context.Context, opts passwordless.Options, d notify.Data) (string, error) {
	ts, err := h.Store.GetTenantSettings(ctx)
	if err != nil {
		return "", err
	}
	d.Tenant = h.tenantName(ts)
	return notify.SMSText(opts.Template, d), nil
}
