// Package protect is gatehouse's attack protection in the token
// pipeline's guard phase: brute-force protection (per identifier and IP,
// or per identifier), suspicious IP throttling, the same-user login rate
// limit, the refresh-token rate limit and breached password detection at
// login. The settings and their rules are internal/tenant's; the counters
// are the store's (store.Counters), shared by every node.
//
// A password attempt costs one counter statement before the hash: it
// reserves its brute-force slot (so of any number of simultaneous wrong
// passwords exactly max_attempts are checked), takes a unit of the
// same-user bucket and looks at the IP's bucket, all in one upsert. A
// success clears the reservation inside the login's own write; a wrong
// password keeps it (and takes a unit of the IP's bucket); any other end
// (a directory that cannot answer, a busy server) gives it back.
package protect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/protect/breached"
	"github.com/gatehouse/gatehouse/internal/protocol"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Auth0's answers (authentication-api.md §12 rows 9 and 10; §3.2).
var (
	ErrBlocked = &oauth.Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
		Description: "Your account has been blocked after multiple consecutive login attempts. We've sent you a notification via your preferred contact method with instructions on how to unblock it."}
	ErrSuspiciousIP = &oauth.Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
		Description: "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator."}
	ErrPasswordLeaked = &oauth.Error{Status: http.StatusUnauthorized, Code: "password_leaked",
		Description: "This login attempt has been blocked because the password you're using was previously disclosed through a data breach (not in this application). Please check your email for more information."}
)

// The same-user login limit (authentication-api.md §13): 20 logins of
// one identifier from one IP, then one every 6 s (10 a minute); and the
// refresh limit: 10 exchanges of one family from one IP, then 10 a minute.
const (
	SameUserBurst    = 20
	SameUserInterval = 6 * time.Second
	RefreshBurst     = 10
	RefreshInterval  = 6 * time.Second
)

// Checker tells whether a password is known to be leaked (breached.Checker).
type Checker interface {
	Leaked(ctx context.Context, password string) (bool, error)
}

// Observer counts the guard's verdicts (metrics.Metrics): protection is
// one of the metrics package's BruteForce, SuspiciousIP, SameUserLimit or
// RefreshLimit, outcome Blocked or Refused; BreachedPassword's stage is
// tenant.StagePreLogin here, its outcome Blocked, Allowed or CheckFailed.
type Observer interface {
	Protection(protection, outcome string)
	BreachedPassword(stage, outcome string)
}

// The label values the guard reports (the metrics package's constants).
const (
	obsBruteForce   = "brute_force"
	obsSuspiciousIP = "suspicious_ip"
	obsSameUser     = "same_user_limit"
	obsRefresh      = "refresh_limit"
	obsBlocked      = "blocked"
	obsRefused      = "refused"
	obsAllowed      = "allowed"
	obsCheckFailed  = "check_failed"
)

// Store is what the guard reads and writes.
type Store interface {
	store.Tenants
	store.Counters
	store.Users
}

// Guard implements oauth.Guard.
type Guard struct {
	Store  Store
	Events events.Emitter
	// Mailer sends the user_notification notices; nil writes them to the log.
	Mailer notify.Mailer
	// Breached answers breached password detection at login; nil: none.
	Breached Checker
	// Admins receives the admin_notification shields' notices; nil: the log.
	Admins *AdminNotices
	Now    func() time.Time
	Log    *slog.Logger
	// Observe counts blocks, throttles, refusals and leaked passwords; nil: none.
	Observe Observer

	refresh *memLimiter
	once    sync.Once
}

var _ oauth.Guard = (*Guard)(nil)

func (g *Guard) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

func (g *Guard) count(protection, outcome string) {
	if g.Observe != nil {
		g.Observe.Protection(protection, outcome)
	}
}

func (g *Guard) emit(ctx context.Context, a *oauth.Attempt, typ, description string) {
	if g.Events == nil {
		return
	}
	e := events.Event{Type: typ, Date: g.now(), Description: description, IP: a.IP, UserAgent: a.UserAgent,
		UserName: a.Username, UserID: a.UserID, Details: map[string]any{"grant_type": a.GrantType}}
	if a.Client != nil {
		e.ClientID, e.ClientName = a.Client.ClientID, a.Client.Name
	}
	if c := a.Connection; c != nil {
		e.Connection, e.ConnectionID, e.Strategy = c.Name, c.ID, c.Strategy
	}
	g.Events.Emit(ctx, e)
}

// Check implements oauth.Guard.
func (g *Guard) Check(ctx context.Context, a *oauth.Attempt) (oauth.Pass, error) {
	switch {
	case a.RefreshFamily != "":
		return noPass{}, g.checkRefresh(ctx, a)
	case a.Connection != nil && a.Username != "" && isPasswordGrant(a.GrantType):
		return g.checkPassword(ctx, a)
	}
	return noPass{}, nil
}

func isPasswordGrant(gt string) bool {
	return gt == protocol.GrantPassword || gt == protocol.GrantPasswordRealm
}

// checkRefresh is the refresh rate limit, kept in this node's memory: a
// refresh grant stays at one durable write (its rotation), so a node
// admits RefreshBurst exchanges of a family from an IP and then one every
// RefreshInterval; behind a load balancer each node counts its own. An
// IP on the brute-force allowlist is not limited.
func (g *Guard) checkRefresh(ctx context.Context, a *oauth.Attempt) error {
	ts, err := g.Store.GetTenantSettings(ctx)
	if err != nil {
		return oauth.ErrServer.WithCause(fmt.Errorf("attack protection settings: %w", err))
	}
	if allowlisted(tenant.ProtectionOf(ts).BruteForce.Allowlist, a.IP) {
		return nil
	}
	g.once.Do(func() { g.refresh = newMemLimiter(RefreshBurst, RefreshInterval, 100000) })
	ok, retry := g.refresh.take(a.RefreshFamily+"|"+a.IP, g.now())
	if ok {
		return nil
	}
	g.count(obsRefresh, obsRefused)
	e := *oauth.Errorf(http.StatusTooManyRequests, "too_many_requests",
		"Too many requests. Check the X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset headers.")
	e.RetryAfter = seconds(retry)
	return &e
}

// seconds rounds a wait up to whole seconds, at least one.
func seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// pass is the guard's hold on one password attempt.
type pass struct {
	g   *Guard
	p   tenant.Protection
	now time.Time

	reserved bool             // a brute-force slot was taken
	bfKey    store.CounterKey // its counter
	bfLevel  int              // the count with this attempt's slot
	ipKey    *store.CounterKey
	ipStage  store.ThrottleStage
	verified bool // the password was right: the commit clears bfKey
}

// checkPassword is the password attempt's one counter statement and the
// verdicts on it.
func (g *Guard) checkPassword(ctx context.Context, a *oauth.Attempt) (oauth.Pass, error) {
	ts, err := g.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(fmt.Errorf("attack protection settings: %w", err))
	}
	ps := &pass{g: g, p: tenant.ProtectionOf(ts), now: g.now()}
	bf, sip := ps.p.BruteForce, ps.p.SuspiciousIP
	bfAllowed := allowlisted(bf.Allowlist, a.IP)
	ipAllowed := allowlisted(sip.Allowlist, a.IP)
	ident := tenant.NormalizeIdentifier(a.Username)

	var takes []store.CounterTake
	ipAt, sulAt, bfAt := -1, -1, -1
	if sip.Enabled && !ipAllowed && a.IP != "" {
		st := sip.Stages[tenant.StagePreLogin]
		if st.MaxAttempts > 0 && st.Rate > 0 {
			k := tenant.IPKey(tenant.StagePreLogin, a.IP)
			ps.ipKey, ps.ipStage = &k, st
			ipAt = len(takes)
			// Cost 0: only failed logins use the IP's bucket up.
			takes = append(takes, store.CounterTake{CounterKey: k, Burst: st.MaxAttempts, Interval: time.Duration(st.Rate) * time.Millisecond, IP: a.IP})
		}
	}
	if !bfAllowed {
		sulAt = len(takes)
		takes = append(takes, store.CounterTake{
			CounterKey: store.CounterKey{Kind: tenant.CounterSameUser, Key: a.Connection.ID + "|" + ident + "|" + a.IP},
			Burst:      SameUserBurst, Interval: SameUserInterval, Cost: 1,
			Connection: a.Connection.Name, Identifier: ident, IP: a.IP,
		})
	}
	if bf.Enabled && !bfAllowed && bruteForceOn(a.Connection) {
		ip := a.IP
		if bf.Mode == tenant.ModeIdentifier {
			ip = ""
		}
		ps.bfKey = tenant.BruteForceKey(a.Connection.ID, ident, ip)
		bfAt = len(takes)
		takes = append(takes, store.CounterTake{CounterKey: ps.bfKey, Burst: bf.MaxAttempts,
			Interval: tenant.BruteForceInterval, Expire: tenant.BruteForceExpiry, Cost: 1,
			Connection: a.Connection.Name, Identifier: ident, IP: ip})
	}
	if len(takes) == 0 {
		return ps, nil
	}
	res, err := g.Store.TakeCounters(ctx, ps.now, takes...)
	if err != nil {
		return nil, oauth.ErrServer.WithCause(err)
	}
	if bfAt >= 0 && res[bfAt].Taken {
		ps.reserved, ps.bfLevel = true, res[bfAt].Level
	}
	var refusal error
	switch {
	case ipAt >= 0 && !res[ipAt].Taken && slices.Contains(sip.Shields, tenant.ShieldBlock):
		refusal = ErrSuspiciousIP
		g.count(obsSuspiciousIP, obsRefused)
	case sulAt >= 0 && !res[sulAt].Taken:
		e := *ErrTooManyLogins
		e.RetryAfter = seconds(res[sulAt].Empty.Sub(ps.now) - (SameUserBurst-1)*SameUserInterval)
		refusal = e.WithEvent(events.SameUserLoginLimit)
		g.count(obsSameUser, obsRefused)
	case bfAt >= 0 && !res[bfAt].Taken && slices.Contains(bf.Shields, tenant.ShieldBlock):
		refusal = ErrBlocked
		g.count(obsBruteForce, obsRefused)
	}
	if refusal != nil {
		ps.giveBack(ctx)
		return nil, refusal
	}
	return ps, nil
}

// CheckSignup is suspicious IP throttling's signup stage: call it for
// every signup attempt (POST /dbconnections/signup), whatever its outcome,
// before the user is created, with the signing-up user's IP (as
// oauth.ClientIP(ctx) gives it). Every signup uses a unit of the IP's
// pre-user-registration bucket (Auth0: 50, then one every 1.2 s); an
// empty bucket answers 429 too_many_attempts with the throttling
// description when the block shield is on (nil otherwise), and the
// signup that empties it logs limit_mu. An allowlisted IP is never
// throttled. It costs one counter statement.
func (g *Guard) CheckSignup(ctx context.Context, ip string, conn *store.Connection, client *store.Client) error {
	ts, err := g.Store.GetTenantSettings(ctx)
	if err != nil {
		return oauth.ErrServer.WithCause(fmt.Errorf("attack protection settings: %w", err))
	}
	sip := tenant.ProtectionOf(ts).SuspiciousIP
	st := sip.Stages[tenant.StagePreUserRegistration]
	if !sip.Enabled || ip == "" || allowlisted(sip.Allowlist, ip) || st.MaxAttempts < 1 || st.Rate < 1 {
		return nil
	}
	res, err := g.Store.TakeCounters(ctx, g.now(), store.CounterTake{CounterKey: tenant.IPKey(tenant.StagePreUserRegistration, ip),
		Burst: st.MaxAttempts, Interval: time.Duration(st.Rate) * time.Millisecond, Cost: 1, IP: ip})
	if err != nil {
		return oauth.ErrServer.WithCause(err)
	}
	a := &oauth.Attempt{Client: client, Connection: conn, IP: ip, GrantType: "signup"}
	if res[0].Taken && res[0].Level >= st.MaxAttempts {
		g.emit(ctx, a, events.BlockedIP, "too many signups from this IP address")
		g.count(obsSuspiciousIP, obsBlocked)
	}
	if !res[0].Taken && slices.Contains(sip.Shields, tenant.ShieldBlock) {
		g.count(obsSuspiciousIP, obsRefused)
		return ErrSuspiciousIP
	}
	return nil
}

// ErrTooManyLogins answers the same-user login limit (logged limit_sul).
var ErrTooManyLogins = &oauth.Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts",
	Description: "Too many login attempts for this user from your IP address. Wait a little and try again."}

// bruteForceOn reads a database connection's brute_force_protection
// option (default true).
func bruteForceOn(c *store.Connection) bool {
	var o struct {
		BruteForce *bool `json:"brute_force_protection"`
	}
	if len(c.Options) == 0 || json.Unmarshal(c.Options, &o) != nil || o.BruteForce == nil {
		return true
	}
	return *o.BruteForce
}

// allowlisted reports whether ip is in the allowlist. Entries were
// checked when saved; one that no longer parses matches nothing.
func allowlisted(list []string, ip string) bool {
	if len(list) == 0 || ip == "" {
		return false
	}
	nets, err := tenant.ParseAllowlist(list)
	if err != nil {
		nets = nets[:0]
		for _, v := range list {
			if n, err := tenant.ParseAllowlist([]string{v}); err == nil {
				nets = append(nets, n...)
			}
		}
	}
	return tenant.Allowed(nets, ip)
}

// giveBack returns the attempt's brute-force slot: it did not count.
func (ps *pass) giveBack(ctx context.Context) {
	if !ps.reserved {
		return
	}
	ps.reserved = false
	if err := ps.g.Store.ReturnCounter(context.WithoutCancel(ctx), ps.bfKey, 1, tenant.BruteForceInterval); err != nil {
		ps.g.Log.WarnContext(ctx, "return brute-force slot", slog.Any("err", err))
	}
}

// Authenticated implements oauth.Pass.
func (ps *pass) Authenticated(ctx context.Context, a *oauth.Attempt, auth *oauth.Authorization, err error) error {
	if err == nil {
		if ps.reserved {
			ps.verified = true
			k := ps.bfKey
			a.ResetCounter = &k
		}
		return ps.checkLeaked(ctx, a, auth)
	}
	var oe *oauth.Error
	wrong := errors.As(err, &oe) && (oe.Event() == events.FailedLoginWrongPassword || oe.Event() == events.FailedLoginUnknownUser)
	if !wrong {
		// Not a wrong password (a directory that cannot answer, a busy
		// server, a user blocked by an administrator): it does not count.
		ps.giveBack(ctx)
		return err
	}
	ps.failed(ctx, a)
	return err
}

// failed records a wrong password: the brute-force slot stays taken (the
// one that reaches max_attempts creates the block) and the IP's bucket
// loses a unit.
func (ps *pass) failed(ctx context.Context, a *oauth.Attempt) {
	bf := ps.p.BruteForce
	if ps.reserved && ps.bfLevel == bf.MaxAttempts {
		ps.g.emit(ctx, a, events.BlockedAccount, fmt.Sprintf("%d failed login attempts", bf.MaxAttempts))
		ps.g.count(obsBruteForce, obsBlocked)
		if slices.Contains(bf.Shields, tenant.ShieldUserNotification) {
			ps.g.notifyBlocked(ctx, a, bf.MaxAttempts)
		}
	}
	ps.reserved = false // kept: nothing to give back
	if ps.ipKey == nil {
		return
	}
	res, err := ps.g.Store.TakeCounters(ctx, ps.now, store.CounterTake{CounterKey: *ps.ipKey, Burst: ps.ipStage.MaxAttempts,
		Interval: time.Duration(ps.ipStage.Rate) * time.Millisecond, Cost: 1, IP: a.IP})
	if err != nil {
		ps.g.Log.WarnContext(ctx, "count a failed login of the IP", slog.Any("err", err))
		return
	}
	if res[0].Taken && res[0].Level >= ps.ipStage.MaxAttempts {
		ps.g.emit(ctx, a, events.BlockedIP, "too many failed logins from this IP address")
		ps.g.count(obsSuspiciousIP, obsBlocked)
		if slices.Contains(ps.p.SuspiciousIP.Shields, tenant.ShieldAdminNotification) {
			ps.g.admins().Send(ctx, "Suspicious IP throttling blocked "+a.IP, fmt.Sprintf(
				"The IP address %s is blocked after %d failed logins across accounts.\n"+
					"It is unblocked as its count drains, or at once with DELETE /api/v2/anomaly/blocks/ips/%s.\n",
				a.IP, ps.ipStage.MaxAttempts, a.IP))
		}
	}
}

// checkLeaked is breached password detection at login, once the
// password is verified.
func (ps *pass) checkLeaked(ctx context.Context, a *oauth.Attempt, auth *oauth.Authorization) error {
	br := ps.p.Breached
	if !br.Enabled || ps.g.Breached == nil || a.Password == "" {
		return nil
	}
	leaked, err := breached.Check(ctx, ps.g.Breached, br.Method, a.Password)
	if err != nil {
		// A range API that cannot answer must not lock users out.
		ps.g.Log.WarnContext(ctx, "breached password check failed", slog.Any("err", err))
		ps.g.breached(obsCheckFailed)
		return nil
	}
	if !leaked {
		return nil
	}
	if auth != nil && auth.User != nil {
		a.UserID = auth.User.UserID
	}
	ps.g.emit(ctx, a, events.PasswordLeaked, "the password is in a list of leaked passwords")
	if tenant.NotifyAdminsNow(br, "") {
		conn := ""
		if a.Connection != nil {
			conn = a.Connection.Name
		}
		ps.g.admins().Send(ctx, "Breached password detected at login", fmt.Sprintf(
			"A login of %s (user %s) on connection %s from %s used a password found in a data breach.\n",
			a.Username, orDash(a.UserID), orDash(conn), orDash(a.IP)))
	}
	if slices.Contains(br.Shields, tenant.ShieldUserNotification) && auth != nil && auth.User != nil && auth.User.Email != "" {
		ps.g.send(ctx, notify.Email{To: auth.User.Email, Subject: "Your password was found in a data breach",
			Text: "The password you signed in with appears in a list of passwords leaked in a data breach of another service.\n" +
				"Change it as soon as you can, here and anywhere else you use it.\n"})
	}
	if slices.Contains(br.Shields, tenant.ShieldBlock) {
		ps.g.breached(obsBlocked)
		return ErrPasswordLeaked
	}
	ps.g.breached(obsAllowed)
	return nil
}

func (g *Guard) breached(outcome string) {
	if g.Observe != nil {
		g.Observe.BreachedPassword(tenant.StagePreLogin, outcome)
	}
}

// Done implements oauth.Pass: a verified login that ended before its
// commit (the MFA gate, a rule's denial, a leaked password) still resets
// its count.
func (ps *pass) Done(ctx context.Context, a *oauth.Attempt, err error) {
	if ps.verified && err != nil {
		if derr := ps.g.Store.DeleteCounter(context.WithoutCancel(ctx), ps.bfKey); derr != nil {
			ps.g.Log.WarnContext(ctx, "reset brute-force counter", slog.Any("err", derr))
		}
	}
}

// notifyBlocked tells the user their account is blocked from an IP
// (the user_notification shield). gatehouse has no unblock link yet: the
// notice says how else the block ends.
func (g *Guard) notifyBlocked(ctx context.Context, a *oauth.Attempt, attempts int) {
	u, err := g.Store.UserByIdentifier(ctx, a.Connection.ID, a.Username)
	if err != nil || u.Email == "" {
		return // an unknown identifier has no one to tell
	}
	from := "an unknown address"
	if ip, err := netip.ParseAddr(a.IP); err == nil {
		from = "the IP address " + ip.String()
	}
	g.send(ctx, notify.Email{To: u.Email, Subject: "Your account has been blocked",
		Text: fmt.Sprintf("Your account was blocked after %d failed login attempts from %s.\n"+
			"Changing your password ends the block, and so can your administrator.\n"+
			"If these attempts were not yours, someone may be trying to guess your password.\n", attempts, from)})
}

// send delivers a notice off the request path, within a bounded time.
func (g *Guard) send(ctx context.Context, e notify.Email) {
	m := g.Mailer
	if m == nil {
		m = notify.LogMailer{Logger: g.Log}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	go func() {
		defer cancel()
		if err := m.SendMail(ctx, e); err != nil {
			g.Log.WarnContext(ctx, "send attack protection notice", slog.Any("err", err))
		}
	}()
}

// admins is where the guard's administrator notices go.
func (g *Guard) admins() *AdminNotices {
	if g.Admins == nil {
		return &AdminNotices{Log: g.Log}
	}
	return g.Admins
}

// noPass is the Pass of attempts the guard only judges up front.
type noPass struct{}

func (noPass) Authenticated(_ context.Context, _ *oauth.Attempt, _ *oauth.Authorization, err error) error {
	return err
}
func (noPass) Done(context.Context, *oauth.Attempt, error) {}
