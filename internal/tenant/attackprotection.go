package tenant

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/protect/breached"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Attack protection's vocabulary (attack-protection.md).
const (
	ShieldBlock             = "block"
	ShieldUserNotification  = "user_notification"
	ShieldAdminNotification = "admin_notification"

	ModeIdentifierAndIP = "count_per_identifier_and_ip"
	ModeIdentifier      = "count_per_identifier"

	StagePreLogin               = "pre-login"
	StagePreUserRegistration    = "pre-user-registration"
	StagePreCustomTokenExchange = "pre-custom-token-exchange"
	StagePreChangePassword      = "pre-change-password"

	MethodStandard = "standard"
	MethodEnhanced = "enhanced"

	// admin_notification_frequency's values.
	FrequencyImmediately = "immediately"
	FrequencyDaily       = "daily"
	FrequencyWeekly      = "weekly"
	FrequencyMonthly     = "monthly"
)

// AdminNotifier delivers a notice to the tenant's administrators
// (protect.AdminNotices).
type AdminNotifier interface {
	Send(ctx context.Context, subject, text string)
}

// NotifyAdminsNow reports whether a breached password found at stage
// ("" for a login) is for the administrators at once: the stage's
// admin_notification shield with the "immediately" frequency.
func NotifyAdminsNow(b store.BreachedPasswordDetection, stage string) bool {
	shields := b.Shields
	if stage != "" {
		shields = b.StageShields[stage]
	}
	return slices.Contains(shields, ShieldAdminNotification) && slices.Contains(b.AdminNotificationFrequency, FrequencyImmediately)
}

// The counters attack protection keeps (store.Counters), by kind.
const (
	// CounterBruteForce counts failed logins of an identifier (from an
	// IP, in ModeIdentifierAndIP).
	CounterBruteForce = "bf"
	// CounterSameUser counts every login of an identifier from an IP
	// (the same-user login rate limit).
	CounterSameUser = "sul"
	// CounterIPLogin counts failed logins of an IP across accounts.
	CounterIPLogin = "ip-login"
	// CounterIPSignup counts signups of an IP.
	CounterIPSignup = "ip-signup"
)

// Brute-force counters never drain by themselves; one left alone for
// BruteForceExpiry is forgotten (the block's longest life).
const (
	BruteForceInterval = 10 * 365 * 24 * time.Hour
	BruteForceExpiry   = 30 * 24 * time.Hour
	maxAllowlist       = 100
)

// DefaultBruteForce is a new tenant's brute-force protection (on).
func DefaultBruteForce() store.BruteForceProtection {
	return store.BruteForceProtection{Enabled: true, Shields: []string{ShieldBlock, ShieldUserNotification},
		Allowlist: []string{}, Mode: ModeIdentifierAndIP, MaxAttempts: 10}
}

// DefaultSuspiciousIP is a new tenant's suspicious IP throttling (on, at
// Auth0's rates: 100 failed logins a day, 50 signups then one per 1.2 s).
func DefaultSuspiciousIP() store.SuspiciousIPThrottling {
	return store.SuspiciousIPThrottling{Enabled: true, Shields: []string{ShieldAdminNotification, ShieldBlock}, Allowlist: []string{},
		Stages: map[string]store.ThrottleStage{
			StagePreLogin:               {MaxAttempts: 100, Rate: 864000},
			StagePreUserRegistration:    {MaxAttempts: 50, Rate: 1200},
			StagePreCustomTokenExchange: {MaxAttempts: 10, Rate: 600000},
		}}
}

// DefaultBreached is a new tenant's breached password detection (off).
func DefaultBreached() store.BreachedPasswordDetection {
	return store.BreachedPasswordDetection{Shields: []string{}, AdminNotificationFrequency: []string{}, Method: MethodStandard,
		StageShields: map[string][]string{StagePreUserRegistration: {}, StagePreChangePassword: {}}}
}

// Protection is the tenant's attack protection with every default filled.
type Protection struct {
	BruteForce   store.BruteForceProtection
	SuspiciousIP store.SuspiciousIPThrottling
	Breached     store.BreachedPasswordDetection
}

// ProtectionOf returns the settings' attack protection, defaults filled.
func ProtectionOf(ts *store.TenantSettings) Protection {
	p := Protection{BruteForce: DefaultBruteForce(), SuspiciousIP: DefaultSuspiciousIP(), Breached: DefaultBreached()}
	if ap := ts.AttackProtection.Clone(); ap != nil {
		if ap.BruteForce != nil {
			p.BruteForce = *ap.BruteForce
		}
		if ap.SuspiciousIP != nil {
			def := p.SuspiciousIP.Stages
			p.SuspiciousIP = *ap.SuspiciousIP
			for k, v := range def {
				if _, ok := p.SuspiciousIP.Stages[k]; !ok {
					if p.SuspiciousIP.Stages == nil {
						p.SuspiciousIP.Stages = map[string]store.ThrottleStage{}
					}
					p.SuspiciousIP.Stages[k] = v
				}
			}
		}
		if ap.Breached != nil {
			p.Breached = *ap.Breached
			for _, k := range []string{StagePreUserRegistration, StagePreChangePassword} {
				if p.Breached.StageShields == nil {
					p.Breached.StageShields = map[string][]string{}
				}
				if p.Breached.StageShields[k] == nil {
					p.Breached.StageShields[k] = []string{}
				}
			}
		}
	}
	return p
}

// Protection returns the tenant's attack protection.
func (s *Service) Protection(ctx context.Context) (Protection, error) {
	ts, err := s.Store.GetTenantSettings(ctx)
	if err != nil {
		return Protection{}, fmt.Errorf("get attack protection: %w", err)
	}
	return ProtectionOf(ts), nil
}

// BruteForceInput is PATCH /attack-protection/brute-force-protection.
type BruteForceInput struct {
	Enabled     Opt[bool]     `json:"enabled"`
	Shields     Opt[[]string] `json:"shields"`
	Allowlist   Opt[[]string] `json:"allowlist"`
	Mode        Opt[string]   `json:"mode"`
	MaxAttempts Opt[int]      `json:"max_attempts"`
}

// SuspiciousIPInput is PATCH /attack-protection/suspicious-ip-throttling.
type SuspiciousIPInput struct {
	Enabled   Opt[bool]                  `json:"enabled"`
	Shields   Opt[[]string]              `json:"shields"`
	Allowlist Opt[[]string]              `json:"allowlist"`
	Stage     Opt[map[string]StageInput] `json:"stage"`
}

// StageInput is one stage of suspicious IP throttling.
type StageInput struct {
	MaxAttempts Opt[int]   `json:"max_attempts"`
	Rate        Opt[int64] `json:"rate"`
}

// BreachedInput is PATCH /attack-protection/breached-password-detection.
type BreachedInput struct {
	Enabled                    Opt[bool]                          `json:"enabled"`
	Shields                    Opt[[]string]                      `json:"shields"`
	AdminNotificationFrequency Opt[[]string]                      `json:"admin_notification_frequency"`
	Method                     Opt[string]                        `json:"method"`
	Stage                      Opt[map[string]BreachedStageInput] `json:"stage"`
}

// BreachedStageInput is one stage of breached password detection.
type BreachedStageInput struct {
	Shields Opt[[]string] `json:"shields"`
}

// enumList checks that every value of list is one of allowed.
func enumList(prop string, list, allowed []string) ([]string, error) {
	for _, v := range list {
		if !slices.Contains(allowed, v) {
			return nil, invalidProp(prop, "No enum match for: \"%s\"", v)
		}
	}
	return uniq(list), nil
}

// ParseAllowlist reads allowlist entries: IPv4 or IPv6 addresses and
// CIDR networks.
func ParseAllowlist(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, v := range list {
		v = strings.TrimSpace(v)
		if p, err := netip.ParsePrefix(v); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" { // a zoned address is in no network: it would never match
			return nil, fmt.Errorf("%q is not an IP address or CIDR range", v)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Allowed reports whether ip is in one of the networks.
func Allowed(networks []netip.Prefix, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

func checkAllowlist(list []string) ([]string, error) {
	if len(list) > maxAllowlist {
		return nil, invalidProp("allowlist", "Array is too long (%d), maximum %d", len(list), maxAllowlist)
	}
	for i, v := range list {
		if _, err := ParseAllowlist([]string{v}); err != nil {
			return nil, invalidProp(fmt.Sprintf("allowlist[%d]", i), "Object didn't pass validation for format ipv4-or-ipv6-or-cidr: %s", v)
		}
	}
	return uniq(list), nil
}

// updateProtection changes the stored attack protection with fn, which
// sees the current settings with their defaults filled.
func (s *Service) updateProtection(ctx context.Context, fn func(p *Protection) error) (Protection, error) {
	var out Protection
	_, err := s.Store.UpdateTenantSettings(ctx, func(ts *store.TenantSettings) error {
		p := ProtectionOf(ts)
		if err := fn(&p); err != nil {
			return err
		}
		ts.AttackProtection = &store.AttackProtection{BruteForce: &p.BruteForce, SuspiciousIP: &p.SuspiciousIP, Breached: &p.Breached}
		out = p
		return nil
	})
	return out, err
}

// UpdateBruteForce applies a partial change to brute-force protection.
func (s *Service) UpdateBruteForce(ctx context.Context, in *BruteForceInput) (_ store.BruteForceProtection, err error) {
	defer s.audit(ctx, "Update brute-force protection", &err)
	var shields, allow []string
	if in.Shields.Set {
		if shields, err = enumList("shields", in.Shields.V, []string{ShieldBlock, ShieldUserNotification}); err != nil {
			return store.BruteForceProtection{}, err
		}
	}
	if in.Allowlist.Set {
		if allow, err = checkAllowlist(in.Allowlist.V); err != nil {
			return store.BruteForceProtection{}, err
		}
	}
	if in.Mode.Set && in.Mode.V != ModeIdentifierAndIP && in.Mode.V != ModeIdentifier {
		return store.BruteForceProtection{}, invalidProp("mode", "No enum match for: \"%s\"", in.Mode.V)
	}
	if in.MaxAttempts.Set && (in.MaxAttempts.V < 1 || in.MaxAttempts.V > 100) {
		if in.MaxAttempts.V < 1 {
			return store.BruteForceProtection{}, invalidProp("max_attempts", "Value %d is less than minimum 1", in.MaxAttempts.V)
		}
		return store.BruteForceProtection{}, invalidProp("max_attempts", "Value %d is greater than maximum 100", in.MaxAttempts.V)
	}
	p, err := s.updateProtection(ctx, func(p *Protection) error {
		b := &p.BruteForce
		setIf(&b.Enabled, in.Enabled)
		setIf(&b.Mode, in.Mode)
		setIf(&b.MaxAttempts, in.MaxAttempts)
		if in.Shields.Set {
			b.Shields = shields
		}
		if in.Allowlist.Set {
			b.Allowlist = allow
		}
		return nil
	})
	if err != nil {
		return store.BruteForceProtection{}, fmt.Errorf("update brute-force protection: %w", err)
	}
	return p.BruteForce, nil
}

// UpdateSuspiciousIP applies a partial change to suspicious IP throttling.
func (s *Service) UpdateSuspiciousIP(ctx context.Context, in *SuspiciousIPInput) (_ store.SuspiciousIPThrottling, err error) {
	defer s.audit(ctx, "Update suspicious IP throttling", &err)
	var shields, allow []string
	if in.Shields.Set {
		if shields, err = enumList("shields", in.Shields.V, []string{ShieldBlock, ShieldAdminNotification}); err != nil {
			return store.SuspiciousIPThrottling{}, err
		}
	}
	if in.Allowlist.Set {
		if allow, err = checkAllowlist(in.Allowlist.V); err != nil {
			return store.SuspiciousIPThrottling{}, err
		}
	}
	for name, st := range in.Stage.V {
		if name != StagePreLogin && name != StagePreUserRegistration && name != StagePreCustomTokenExchange {
			return store.SuspiciousIPThrottling{}, invalidProp("stage", "Additional properties not allowed: %s", name)
		}
		if st.MaxAttempts.Set && (st.MaxAttempts.V < 1 || st.MaxAttempts.V > 72000) {
			return store.SuspiciousIPThrottling{}, invalidProp("stage."+name+".max_attempts", "Value %d is out of range 1 to 72000", st.MaxAttempts.V)
		}
		if st.Rate.Set && (st.Rate.V < 1200 || st.Rate.V > 86400000) {
			return store.SuspiciousIPThrottling{}, invalidProp("stage."+name+".rate", "Value %d is out of range 1200 to 86400000", st.Rate.V)
		}
	}
	p, err := s.updateProtection(ctx, func(p *Protection) error {
		t := &p.SuspiciousIP
		setIf(&t.Enabled, in.Enabled)
		if in.Shields.Set {
			t.Shields = shields
		}
		if in.Allowlist.Set {
			t.Allowlist = allow
		}
		for name, st := range in.Stage.V {
			cur := t.Stages[name]
			setIf(&cur.MaxAttempts, st.MaxAttempts)
			setIf(&cur.Rate, st.Rate)
			t.Stages[name] = cur
		}
		return nil
	})
	if err != nil {
		return store.SuspiciousIPThrottling{}, fmt.Errorf("update suspicious IP throttling: %w", err)
	}
	return p.SuspiciousIP, nil
}

// UpdateBreached applies a partial change to breached password detection.
func (s *Service) UpdateBreached(ctx context.Context, in *BreachedInput) (_ store.BreachedPasswordDetection, err error) {
	defer s.audit(ctx, "Update breached password detection", &err)
	var shields, freq []string
	if in.Shields.Set {
		if shields, err = enumList("shields", in.Shields.V, []string{ShieldBlock, ShieldUserNotification, ShieldAdminNotification}); err != nil {
			return store.BreachedPasswordDetection{}, err
		}
	}
	if in.AdminNotificationFrequency.Set {
		if freq, err = enumList("admin_notification_frequency", in.AdminNotificationFrequency.V,
			[]string{FrequencyImmediately, FrequencyDaily, FrequencyWeekly, FrequencyMonthly}); err != nil {
			return store.BreachedPasswordDetection{}, err
		}
	}
	if in.Method.Set && in.Method.V != MethodStandard && in.Method.V != MethodEnhanced {
		return store.BreachedPasswordDetection{}, invalidProp("method", "No enum match for: \"%s\"", in.Method.V)
	}
	stages := map[string][]string{}
	for name, st := range in.Stage.V {
		if name != StagePreUserRegistration && name != StagePreChangePassword {
			return store.BreachedPasswordDetection{}, invalidProp("stage", "Additional properties not allowed: %s", name)
		}
		if st.Shields.Set {
			list, err := enumList("stage."+name+".shields", st.Shields.V, []string{ShieldBlock, ShieldAdminNotification})
			if err != nil {
				return store.BreachedPasswordDetection{}, err
			}
			stages[name] = list
		}
	}
	p, err := s.updateProtection(ctx, func(p *Protection) error {
		b := &p.Breached
		setIf(&b.Enabled, in.Enabled)
		setIf(&b.Method, in.Method)
		if in.Shields.Set {
			b.Shields = shields
		}
		if in.AdminNotificationFrequency.Set {
			b.AdminNotificationFrequency = freq
		}
		for name, list := range stages {
			b.StageShields[name] = list
		}
		return nil
	})
	if err != nil {
		return store.BreachedPasswordDetection{}, fmt.Errorf("update breached password detection: %w", err)
	}
	return p.Breached, nil
}

// NormalizeIdentifier is how brute force keys an identifier: an email or
// username is matched case-insensitively, as the user lookup does.
func NormalizeIdentifier(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// BruteForceKey is the counter of failed logins of identifier in a
// connection, from ip (mode count_per_identifier_and_ip) or from
// anywhere (ip "": count_per_identifier).
func BruteForceKey(connectionID, identifier, ip string) store.CounterKey {
	return store.CounterKey{Kind: CounterBruteForce, Key: connectionID + "|" + NormalizeIdentifier(identifier) + "|" + ip}
}

// Block is one brute-force block (GET /user-blocks).
type Block struct {
	Identifier string
	IP         string // "" for an account lockout (count_per_identifier)
	Connection string
}

// errNoIdentifier refuses a user-blocks query without one.
var errNoIdentifier = &Error{Kind: Invalid, Code: "invalid_query_string", Message: "Missing required query parameter: identifier"}

// UserBlocks lists the brute-force blocks of an identifier. With
// considerEnablement, none while brute-force protection is off.
func (s *Service) UserBlocks(ctx context.Context, identifier string, considerEnablement bool) ([]Block, error) {
	if strings.TrimSpace(identifier) == "" {
		return nil, errNoIdentifier
	}
	p, err := s.Protection(ctx)
	if err != nil {
		return nil, err
	}
	if considerEnablement && !p.BruteForce.Enabled {
		return []Block{}, nil
	}
	list, err := s.Store.ListCounters(ctx, CounterBruteForce, NormalizeIdentifier(identifier), "")
	if err != nil {
		return nil, fmt.Errorf("list user blocks: %w", err)
	}
	now := s.now()
	out := []Block{}
	for _, c := range list {
		if c.Touched.Add(BruteForceExpiry).After(now) && c.Level(now) >= p.BruteForce.MaxAttempts {
			out = append(out, Block{Identifier: c.Identifier, IP: c.IP, Connection: c.Connection})
		}
	}
	return out, nil
}

// identifiers are the values a user logs in with: email and username.
func identifiers(u *store.User) []string {
	var out []string
	for _, v := range []string{u.Email, u.Username} {
		if v != "" && !slices.Contains(out, NormalizeIdentifier(v)) {
			out = append(out, NormalizeIdentifier(v))
		}
	}
	return out
}

// UserBlocksOf lists the brute-force blocks of every identifier of a user.
func (s *Service) UserBlocksOf(ctx context.Context, userID string, considerEnablement bool) ([]Block, error) {
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []Block{}
	for _, id := range identifiers(u) {
		blocks, err := s.UserBlocks(ctx, id, considerEnablement)
		if err != nil {
			return nil, err
		}
		for _, b := range blocks {
			if b.Connection == u.Connection {
				out = append(out, b)
			}
		}
	}
	return out, nil
}

// Unblock removes every brute-force block (and failure count) of an
// identifier, from every IP.
func (s *Service) Unblock(ctx context.Context, identifier string) (err error) {
	defer s.audit(ctx, "Unblock an identifier", &err)
	if strings.TrimSpace(identifier) == "" {
		return errNoIdentifier
	}
	n, err := s.Store.DeleteCounters(ctx, CounterBruteForce, NormalizeIdentifier(identifier), "")
	if err != nil {
		return fmt.Errorf("unblock: %w", err)
	}
	if n > 0 {
		s.emit(ctx, events.Event{Type: events.BlockReleased, UserName: identifier, Description: "brute-force block released"})
	}
	return nil
}

// UnblockUser removes the brute-force blocks of every identifier of a
// user (DELETE /user-blocks/{id}).
func (s *Service) UnblockUser(ctx context.Context, userID string) (err error) {
	defer s.audit(ctx, "Unblock a user", &err)
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	return s.ClearBruteForce(ctx, u)
}

// ClearBruteForce forgets the failed logins and brute-force blocks of a
// user's identifiers, from every IP. A password change calls it (the
// Management API's here; a self-service password reset should too).
func (s *Service) ClearBruteForce(ctx context.Context, u *store.User) error {
	released := 0
	for _, id := range identifiers(u) {
		n, err := s.Store.DeleteCounters(ctx, CounterBruteForce, id, "")
		if err != nil {
			return fmt.Errorf("clear brute-force counters of %s: %w", u.UserID, err)
		}
		released += n
	}
	if released > 0 {
		s.emit(ctx, events.Event{Type: events.BlockReleased, UserID: u.UserID, UserName: u.Email,
			Connection: u.Connection, ConnectionID: u.ConnectionID, Description: "brute-force block released"})
	}
	return nil
}

// IPKey is the counter of an IP in one throttling stage.
func IPKey(stage, ip string) store.CounterKey {
	kind := CounterIPLogin
	if stage == StagePreUserRegistration {
		kind = CounterIPSignup
	}
	return store.CounterKey{Kind: kind, Key: ip}
}

// errBadIP refuses an anomaly path that is no IP address.
var errBadIP = &Error{Kind: Invalid, Code: "invalid_uri", Message: "id must be an IPv4 or IPv6 address"}

func canonicalIP(ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", errBadIP
	}
	return a.Unmap().String(), nil
}

// IPBlocked reports whether suspicious IP throttling blocks ip now, at
// login or at signup.
func (s *Service) IPBlocked(ctx context.Context, ip string) (bool, error) {
	ip, err := canonicalIP(ip)
	if err != nil {
		return false, err
	}
	p, err := s.Protection(ctx)
	if err != nil {
		return false, err
	}
	now := s.now()
	for _, stage := range []string{StagePreLogin, StagePreUserRegistration} {
		k := IPKey(stage, ip)
		list, err := s.Store.ListCounters(ctx, k.Kind, "", ip)
		if err != nil {
			return false, fmt.Errorf("check ip block: %w", err)
		}
		for _, c := range list {
			st := p.SuspiciousIP.Stages[stage]
			if c.Key == ip && st.MaxAttempts > 0 && c.Level(now) >= st.MaxAttempts {
				return true, nil
			}
		}
	}
	return false, nil
}

// UnblockIP forgets ip's failed logins and signups.
func (s *Service) UnblockIP(ctx context.Context, ip string) (err error) {
	defer s.audit(ctx, "Unblock an IP address", &err)
	if ip, err = canonicalIP(ip); err != nil {
		return err
	}
	for _, stage := range []string{StagePreLogin, StagePreUserRegistration} {
		if err := s.Store.DeleteCounter(ctx, IPKey(stage, ip)); err != nil {
			return fmt.Errorf("unblock ip: %w", err)
		}
	}
	return nil
}

// PasswordChecker tells whether a password is known to be leaked
// (breached.Checker).
type PasswordChecker interface {
	Leaked(ctx context.Context, password string) (bool, error)
}

// ErrPasswordLeaked refuses a new password found in a breach when the
// stage's block shield is on.
var ErrPasswordLeaked = &Error{Kind: Invalid, Code: "password_leaked",
	Message: "This password was previously disclosed through a data breach (not in this application). Choose another password."}

// CheckNewPassword applies breached password detection to a password
// being set: stage is StagePreUserRegistration (a new user: the
// Management API, a signup) or StagePreChangePassword (a password change
// or reset). A leaked password is logged (signup_pwd_leak,
// reset_pwd_leak) and, with the stage's block shield, refused with
// ErrPasswordLeaked. A checker that cannot answer lets the password
// through (logged): detection must not lock users out.
func (s *Service) CheckNewPassword(ctx context.Context, stage string, u *store.User, password string) error {
	if s.Breached == nil {
		return nil
	}
	p, err := s.Protection(ctx)
	if err != nil {
		return err
	}
	if !p.Breached.Enabled {
		return nil
	}
	leaked, err := breached.Check(ctx, s.Breached, p.Breached.Method, password)
	if err != nil {
		s.emit(ctx, events.Event{Type: events.FailedAPIOperation, Description: "breached password check failed",
			Details: map[string]any{"error": err.Error()}})
		s.countBreached(stage, "check_failed")
		return nil
	}
	if !leaked {
		return nil
	}
	code := events.ResetPasswordLeaked
	if stage == StagePreUserRegistration {
		code = events.SignupPasswordLeaked
	}
	s.emit(ctx, events.Event{Type: code, UserID: u.UserID, UserName: u.Email, Connection: u.Connection,
		ConnectionID: u.ConnectionID, Description: "the password is in a list of leaked passwords"})
	if s.Admins != nil && NotifyAdminsNow(p.Breached, stage) {
		what := "A password change"
		if stage == StagePreUserRegistration {
			what = "A new user's password"
		}
		s.Admins.Send(ctx, "Breached password detected ("+stage+")", fmt.Sprintf(
			"%s for user %s (%s) on connection %s uses a password found in a data breach.\n", what, u.UserID, u.Email, u.Connection))
	}
	if slices.Contains(p.Breached.StageShields[stage], ShieldBlock) {
		s.countBreached(stage, "blocked")
		return ErrPasswordLeaked
	}
	s.countBreached(stage, "allowed")
	return nil
}

// countBreached reports a leaked password (or a failed check) to the
// metrics, when the service has them.
func (s *Service) countBreached(stage, outcome string) {
	if s.BreachedObserved != nil {
		s.BreachedObserved(stage, outcome)
	}
}

// emit sends an event when the service has an emitter.
func (s *Service) emit(ctx context.Context, e events.Event) {
	if s.Events == nil {
		return
	}
	if e.Date.IsZero() {
		e.Date = s.now()
	}
	if e.ClientID == "" {
		e.ClientID = events.Actor(ctx)
	}
	s.Events.Emit(ctx, e)
}
