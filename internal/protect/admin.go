package protect

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// AdminNotices are the tenant administrators' messages: the
// admin_notification shields of suspicious IP throttling and breached
// password detection, and finished user imports that asked for it. Auth0
// mails its dashboard's administrators; gatehouse has no dashboard users,
// so the operator names one address (--admin-email). Without it, or
// without an SMTP server, the notices go to the process log at warn level.
type AdminNotices struct {
	To     string
	Mailer notify.Mailer
	Log    *slog.Logger
}

// Send delivers one notice in the background: a slow mail server never
// holds up the request that caused it.
func (n *AdminNotices) Send(ctx context.Context, subject, text string) {
	if n == nil {
		return
	}
	if n.To == "" || n.Mailer == nil {
		n.Log.WarnContext(ctx, "administrator notice (set --admin-email and an SMTP server to have it mailed)",
			slog.String("subject", subject), slog.String("text", text))
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	go func() {
		defer cancel()
		if err := n.Mailer.SendMail(ctx, notify.Email{To: n.To, Subject: subject, Text: text}); err != nil {
			n.Log.WarnContext(ctx, "send administrator notice", slog.String("subject", subject), slog.Any("err", err))
		}
	}()
}

// digestPeriods are admin_notification_frequency's summaries and the span
// each covers.
var digestPeriods = []struct {
	name   string
	period time.Duration
}{
	{tenant.FrequencyDaily, 24 * time.Hour},
	{tenant.FrequencyWeekly, 7 * 24 * time.Hour},
	{tenant.FrequencyMonthly, 30 * 24 * time.Hour},
}

// counterDigest is the counters' kind that spaces digests: one unit per
// period, shared by every node, so one node sends each digest once.
const counterDigest = "admin_digest"

// maxDigestLines bounds the events a digest lists one by one.
const maxDigestLines = 20

// Digests sends breached password detection's daily, weekly and monthly
// summaries of pwd_leak events to the administrators, as configured in
// admin_notification_frequency (with the admin_notification shield).
type Digests struct {
	Store interface {
		store.Tenants
		store.Counters
		store.Logs
	}
	Notices *AdminNotices
	Now     func() time.Time
	Log     *slog.Logger
}

// Round sends each digest that is due and returns the periods it sent.
// Whichever node first takes a period's counter sends its digest; a digest
// with no event is not sent, but still uses its period up.
func (d *Digests) Round(ctx context.Context) ([]string, error) {
	ts, err := d.Store.GetTenantSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("admin digests: %w", err)
	}
	br := tenant.ProtectionOf(ts).Breached
	types := digestTypes(br)
	if !br.Enabled || len(types) == 0 {
		return nil, nil
	}
	now := d.Now()
	var sent []string
	for _, p := range digestPeriods {
		if !slices.Contains(br.AdminNotificationFrequency, p.name) {
			continue
		}
		res, err := d.Store.TakeCounters(ctx, now, store.CounterTake{
			CounterKey: store.CounterKey{Kind: counterDigest, Key: "breached|" + p.name},
			Burst:      1, Interval: p.period, Cost: 1})
		if err != nil {
			return sent, fmt.Errorf("admin digests: %w", err)
		}
		if !res[0].Taken {
			continue // sent within this period, here or on another node
		}
		list, total, err := d.Store.ListLogs(ctx, store.LogQuery{Types: types,
			From: now.Add(-p.period), To: now, Totals: true}, store.Page{PerPage: maxDigestLines})
		if err != nil {
			return sent, fmt.Errorf("admin digests: %w", err)
		}
		if total == 0 {
			continue
		}
		d.Notices.Send(ctx, fmt.Sprintf("Breached password detection: %d attempt(s) in the last %s", total, spanName(p.period)),
			digestText(list, total, p.period))
		sent = append(sent, p.name)
	}
	return sent, nil
}

// digestTypes are the event types whose stage has the admin_notification
// shield: logins (pwd_leak), new users (signup_pwd_leak) and password
// changes (reset_pwd_leak).
func digestTypes(br store.BreachedPasswordDetection) []string {
	var types []string
	for _, st := range []struct{ stage, typ string }{
		{"", events.PasswordLeaked},
		{tenant.StagePreUserRegistration, events.SignupPasswordLeaked},
		{tenant.StagePreChangePassword, events.ResetPasswordLeaked},
	} {
		shields := br.Shields
		if st.stage != "" {
			shields = br.StageShields[st.stage]
		}
		if slices.Contains(shields, tenant.ShieldAdminNotification) {
			types = append(types, st.typ)
		}
	}
	return types
}

// Run calls Round every interval until ctx ends.
func (d *Digests) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := d.Round(ctx); err != nil && ctx.Err() == nil {
			d.Log.Warn("breached password digest", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func spanName(p time.Duration) string {
	switch p {
	case 24 * time.Hour:
		return "day"
	case 7 * 24 * time.Hour:
		return "week"
	}
	return "30 days"
}

// digestText lists the newest events: when, which user and connection,
// from where. An event carries no password, so neither does the digest.
func digestText(list []*store.LogEvent, total int, period time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "In the last %s, %d login, signup or password change attempt(s) used a password found in a data breach.\n\n", spanName(period), total)
	for _, e := range list {
		fmt.Fprintf(&b, "- %s  user %s  connection %s  ip %s  %s\n", e.Date.UTC().Format(time.RFC3339),
			orDash(e.UserName), orDash(e.Connection), orDash(e.IP), e.Description)
	}
	if total > len(list) {
		fmt.Fprintf(&b, "... and %d more in the tenant log (GET /api/v2/logs).\n", total-len(list))
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
