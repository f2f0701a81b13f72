package selfservice

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// resetSent is Auth0's answer to every change_password request, whether
// or not the user exists.
const resetSent = "We've just sent you an email to reset your password."

// sendTimeout bounds the delivery of a reset email, which runs after the
// answer so that its time says nothing about whether the user exists.
const sendTimeout = 30 * time.Second

// changePassword is POST /dbconnections/change_password: it emails a
// reset link to the user of the connection with that address, if there
// is one, and answers the same text either way.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := readBody(r)
	if err != nil {
		h.writeDBError(w, r, asBodyError(err))
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	params, err := oauth.ParseBody(ct, body)
	if err != nil {
		h.writeDBError(w, r, asBodyError(badBody("Invalid request body")))
		return
	}
	email, connName := strings.ToLower(strings.TrimSpace(params["email"])), params["connection"]
	switch {
	case email == "":
		h.writeDBError(w, r, asBodyError(badBody("Missing required property: email")))
		return
	case connName == "":
		h.writeDBError(w, r, asBodyError(badBody("Missing required property: connection")))
		return
	}
	if err := h.takeAll(ctx, bucket{"reset-ip|" + oauth.ClientIP(ctx), limitResetPerIP},
		bucket{"reset-email|" + bucketKey(email), limitResetPerEmail}); err != nil {
		h.writeDBError(w, r, err)
		return
	}
	client, conn, err := h.Tenant.SignupConnection(ctx, params["client_id"], connName)
	if err != nil {
		h.emit(ctx, events.Event{Type: events.FailedChangePasswordRequest, ClientID: params["client_id"], UserName: email,
			Connection: connName, Description: err.Error(), UserAgent: r.UserAgent()})
		h.writeDBError(w, r, err)
		return
	}
	ev := events.Event{Type: events.SuccessChangePasswordRequest, ClientID: client.ClientID, ClientName: client.Name,
		UserName: email, Connection: conn.Name, ConnectionID: conn.ID, Strategy: database.Name, UserAgent: r.UserAgent()}
	user, err := h.Tenant.FindConnectionUser(ctx, conn, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ev.Description = "no such user: nothing sent"
	case err != nil:
		h.writeDBError(w, r, err)
		return
	default:
		ev.UserID = user.UserID
		in := &tenant.TicketInput{UserID: user.UserID, ClientID: client.ClientID}
		ttl := tenant.DefaultTicketTTL
		if _, t := tenant.EmailOverride(ctx, h.Store, notify.TemplateResetEmail); t != nil {
			// The tenant's reset_email decides where the page sends the
			// user and how long its link lives.
			in.ResultURL, in.IncludeEmailInRedirect, in.TTLSec = t.ResultURL, t.IncludeEmailInRedirect, t.URLLifetimeInSeconds
			if t.URLLifetimeInSeconds > 0 {
				ttl = time.Duration(t.URLLifetimeInSeconds) * time.Second
			}
		}
		link, _, err := h.Tenant.CreateTicket(ctx, store.TicketPasswordChange, in)
		if err != nil {
			h.writeDBError(w, r, err)
			return
		}
		// Deliver after answering: the answer takes as long either way.
		go h.sendReset(context.WithoutCancel(ctx), user, client.Name, link, ttl)
	}
	h.emit(ctx, ev)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(resetSent))
}

func (h *Handler) sendReset(ctx context.Context, user *store.User, app, link string, ttl time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if err := h.sendEmail(ctx, notify.TemplateResetEmail, notify.Data{Email: user.Email, URL: link, Application: app,
		TTL: int((ttl + time.Minute - 1) / time.Minute)}, nil); err != nil {
		h.Logger.ErrorContext(ctx, "reset email not sent", slog.String("user_id", user.UserID), slog.Any("err", err))
	}
}

// sendEmail renders template name for the tenant and sends it. own, when
// not nil, is the text to use instead of the tenant's email template.
func (h *Handler) sendEmail(ctx context.Context, name string, d notify.Data, own *notify.Template) error {
	ts, err := h.Store.GetTenantSettings(ctx)
	if err != nil {
		return err
	}
	d.Tenant = h.tenantName(ts)
	override, _ := tenant.EmailOverride(ctx, h.Store, name)
	if own != nil {
		override = *own
	}
	msg, err := notify.Render(name, override, d)
	if err != nil {
		return err
	}
	return h.Mailer.SendMail(ctx, msg)
}

// csrfToken binds the reset form to its ticket: an HMAC of the ticket's
// id under the server key, sent both as a cookie and as a form field
// (double submit), so a page on another site can neither read nor forge
// it.
func (h *Handler) csrfToken(t *store.Ticket) string {
	m := hmac.New(sha256.New, h.Key)
	m.Write([]byte("gatehouse reset csrf v1|" + t.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

const csrfCookie = "gh_reset_csrf"

// setCSRFCookie binds a ticket page's form to ticket t: the cookie
// (scoped to the page's path) and the form field carry the same token.
func (h *Handler) setCSRFCookie(w http.ResponseWriter, t *store.Ticket, name, path string) string {
	token := h.csrfToken(t)
	http.SetCookie(w, &http.Cookie{Name: name, Value: token, Path: "/" + path, HttpOnly: true,
		Secure: strings.HasPrefix(h.Issuer, "https://"), SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	return token
}

// postedTicket reads a ticket page's form post: the body (bounded), the
// live ticket of kind it names, and the CSRF token, compared in constant
// time with both the cookie and the form field. When ok is false it has
// answered the request.
func (h *Handler) postedTicket(w http.ResponseWriter, r *http.Request, kind, cookieName string) (t *store.Ticket, secret, token string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		h.render(w, http.StatusBadRequest, page{Title: "Something went wrong", Message: "The form could not be read."})
		return nil, "", "", false
	}
	secret = r.PostForm.Get("ticket")
	t, err := h.Tenant.OpenTicket(r.Context(), kind, secret)
	if err != nil {
		h.pageError(w, r, err)
		return nil, "", "", false
	}
	token = h.csrfToken(t)
	cookie, _ := r.Cookie(cookieName)
	if cookie == nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(token)) != 1 ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(token)) != 1 {
		h.Logger.InfoContext(r.Context(), "ticket form refused: CSRF token missing or wrong", slog.String("kind", kind))
		h.render(w, http.StatusForbidden, page{Title: "Something went wrong", Message: "This form has expired. Open the link again."})
		return nil, "", "", false
	}
	return t, secret, token, true
}

// resetPage is GET /lo/reset?ticket=...: the form to choose a new
// password.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.Tenant.OpenTicket(ctx, store.TicketPasswordChange, r.URL.Query().Get("ticket"))
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	token := h.setCSRFCookie(w, t, csrfCookie, tenant.ResetPath)
	h.render(w, http.StatusOK, page{Title: "Change your password", Form: true, Ticket: r.URL.Query().Get("ticket"), CSRF: token,
		Policy: h.policyText(ctx, t)})
}

// policyText is the connection's password policy as a list for the page.
func (h *Handler) policyText(ctx context.Context, t *store.Ticket) []string {
	u, err := h.Store.GetUser(ctx, t.UserID)
	if err != nil {
		return nil
	}
	conn, err := h.Store.GetConnection(ctx, u.ConnectionID)
	if err != nil {
		return nil
	}
	opts, err := database.ParseOptions(conn.Options)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(database.StrengthReport(opts, "").Policy, "\n") {
		out = append(out, strings.TrimLeft(line, "* "))
	}
	return out
}

// resetSubmit is POST /lo/reset: the new password, the ticket and the
// CSRF token.
func (h *Handler) resetSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, secret, want, ok := h.postedTicket(w, r, store.TicketPasswordChange, csrfCookie)
	if !ok {
		return
	}
	password := r.PostForm.Get("password")
	again := page{Title: "Change your password", Form: true, Ticket: secret, CSRF: want, Policy: h.policyText(ctx, t)}
	if password == "" || password != r.PostForm.Get("confirm") {
		again.Message = "The two passwords do not match."
		h.render(w, http.StatusBadRequest, again)
		return
	}
	ev := events.Event{Type: events.SuccessChangePassword, ClientID: t.ClientID, UserID: t.UserID, UserAgent: r.UserAgent()}
	u, err := h.Tenant.ResetPassword(ctx, t, password)
	var pe *tenant.PasswordError
	var te *tenant.Error
	switch {
	case errors.As(err, &pe):
		_, msg, _ := cutName(pe.Error())
		again.Message = msg + "."
		ev.Type, ev.Description = events.FailedChangePassword, pe.Error()
		h.emit(ctx, ev)
		h.render(w, http.StatusBadRequest, again)
		return
	case errors.As(err, &te) && (te.Kind == tenant.Invalid || te.Kind == tenant.Unavailable):
		// A custom database's change_password refused the password or
		// could not answer: the ticket is kept for another try.
		status := http.StatusBadRequest
		if te.Kind == tenant.Unavailable {
			status = http.StatusServiceUnavailable
		}
		again.Message = strings.TrimSuffix(te.Message, ".") + "."
		ev.Type, ev.Description = events.FailedChangePassword, err.Error()
		h.emit(ctx, ev)
		h.render(w, status, again)
		return
	case err != nil:
		ev.Type, ev.Description = events.FailedChangePassword, err.Error()
		h.emit(ctx, ev)
		h.pageError(w, r, err)
		return
	}
	ev.UserName = u.Email
	h.emit(ctx, ev)
	if h.Protection != nil {
		h.Protection.PasswordReset(ctx, u)
	}
	h.finish(w, r, t, u, "Your password has been changed.")
}

// verifyEmail is GET /lo/verify_email?ticket=...: it marks the email
// verified.
func (h *Handler) verifyEmail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := h.Tenant.OpenTicket(ctx, store.TicketEmailVerification, r.URL.Query().Get("ticket"))
	if err == nil {
		var u *store.User
		if u, err = h.Tenant.VerifyEmail(ctx, t); err == nil {
			h.emit(ctx, events.Event{Type: events.SuccessVerificationEmail, UserID: u.UserID, UserName: u.Email, ClientID: t.ClientID, UserAgent: r.UserAgent()})
			h.finish(w, r, t, u, "Your email address has been verified.")
			return
		}
	}
	h.emit(ctx, events.Event{Type: events.FailedVerificationEmail, Description: err.Error(), UserAgent: r.UserAgent()})
	h.pageError(w, r, err)
}

// finish sends the user to the ticket's result_url (with success=true,
// message and, when asked, email, as Auth0 does), or shows message.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, t *store.Ticket, u *store.User, message string) {
	if t.ResultURL == "" {
		h.render(w, http.StatusOK, page{Title: "Done", Message: message})
		return
	}
	dest, err := url.Parse(t.ResultURL)
	if err != nil {
		h.render(w, http.StatusOK, page{Title: "Done", Message: message})
		return
	}
	q := dest.Query()
	q.Set("success", "true")
	q.Set("message", message)
	if t.IncludeEmailInRedirect {
		q.Set("email", u.Email)
	}
	dest.RawQuery = q.Encode()
	http.Redirect(w, r, dest.String(), http.StatusSeeOther)
}

func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, tenant.ErrTicketInvalid) {
		h.render(w, http.StatusNotFound, page{Title: "This link is no longer valid",
			Message: "The link was already used or has expired. Ask for a new one."})
		return
	}
	h.Logger.ErrorContext(r.Context(), "self-service page failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	h.render(w, http.StatusInternalServerError, page{Title: "Something went wrong", Message: "Try again later."})
}

// page is what the template shows.
type page struct {
	Title   string
	Message string
	Form    bool
	Ticket  string
	CSRF    string
	Policy  []string
	Nonce   string
	// Enroll is the enrolment page's authenticator; RecoveryCode is
	// shown once, when an enrolment made one.
	Enroll       *enrollment
	RecoveryCode string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title>
<style nonce="{{.Nonce}}">
body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1.5rem;padding:.6rem 1.2rem}.msg{padding:.6rem;background:#f4f4f4}ul{color:#555}
code{word-break:break-all;font-size:1.05rem}svg{display:block;margin:1rem 0;max-width:100%;height:auto}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Message}}<p class="msg" role="status">{{.Message}}</p>{{end}}
{{if .Form}}<form method="post" action="">
<input type="hidden" name="ticket" value="{{.Ticket}}"><input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
<label for="confirm">Confirm the new password</label><input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
{{if .Policy}}<ul>{{range .Policy}}<li>{{.}}</li>{{end}}</ul>{{end}}
<button type="submit">Change password</button>
</form>{{end}}
{{with .Enroll}}<p>Scan this QR code with an authenticator app, or type the key into it.</p>
{{.QR}}
<p>Key: <code id="secret">{{.Secret}}</code></p>
<details><summary>Setup link</summary><p><code id="uri">{{.URI}}</code></p></details>
<form method="post" action="">
<input type="hidden" name="ticket" value="{{$.Ticket}}"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<label for="code">Code from the app</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required>
<button type="submit">Confirm</button>
</form>{{end}}
{{if .RecoveryCode}}<p>Your recovery code signs you in once if you lose the app. Write it down and keep it safe; it is not shown again:</p>
<p><code id="recovery-code">{{.RecoveryCode}}</code></p>{{end}}
</body></html>
`))

// render writes p under a strict content security policy: nothing but
// the page's own nonce-bound style, posting only to itself, in no frame.
func (h *Handler) render(w http.ResponseWriter, status int, p page) {
	b := make([]byte, 16)
	rand.Read(b)
	p.Nonce = base64.RawStdEncoding.EncodeToString(b)
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+p.Nonce+"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, p); err != nil {
		h.Logger.Error("render page", slog.Any("err", err))
	}
}
