package protect

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// outbox keeps what a Mailer was given (the SMTP path itself is tested
// in internal/server with a real listener).
type outbox struct {
	mu   sync.Mutex
	sent []notify.Email
}

func (o *outbox) SendMail(_ context.Context, e notify.Email) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, e)
	return nil
}

func (o *outbox) wait(t *testing.T, n int) []notify.Email {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		o.mu.Lock()
		got := append([]notify.Email(nil), o.sent...)
		o.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
	}
}

// The daily summary goes once a day whatever the number of rounds (and of
// nodes: they share the counter), lists the leaks of the stages whose
// shields ask for it, and is skipped when nothing leaked.
func TestDigestsOncePerPeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sealer, _ := seal.New(make([]byte, 32))
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "digest.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &tenant.Service{Store: st}
	if _, err := svc.UpdateBreached(ctx, &tenant.BreachedInput{Enabled: tenant.Some(true),
		Shields:                    tenant.Some([]string{tenant.ShieldAdminNotification}),
		AdminNotificationFrequency: tenant.Some([]string{tenant.FrequencyDaily, tenant.FrequencyWeekly}),
		Stage: tenant.Some(map[string]tenant.BreachedStageInput{
			tenant.StagePreUserRegistration: {Shields: tenant.Some([]string{tenant.ShieldAdminNotification})},
		}),
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	box := &outbox{}
	nodes := make([]*Digests, 2)
	for i := range nodes {
		nodes[i] = &Digests{Store: st, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler),
			Notices: &AdminNotices{To: "admins@example.com", Mailer: box, Log: slog.New(slog.DiscardHandler)}}
	}
	// Nothing leaked: no mail, and the day is used up all the same.
	if sent, err := nodes[0].Round(ctx); err != nil || len(sent) != 0 {
		t.Fatalf("empty round sent %v, %v", sent, err)
	}
	if err := st.AppendLogs(ctx, []*store.LogEvent{
		{Date: now.Add(25 * time.Hour), Type: events.PasswordLeaked, UserName: "a@example.com", Connection: "db", IP: "203.0.113.7"},
		{Date: now.Add(25 * time.Hour), Type: events.SignupPasswordLeaked, UserName: "b@example.com"},
		{Date: now.Add(25 * time.Hour), Type: events.ResetPasswordLeaked, UserName: "not-asked@example.com"},
		{Date: now.Add(-time.Hour), Type: events.PasswordLeaked, UserName: "yesterday@example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(26 * time.Hour)
	var sent []string
	for _, d := range []*Digests{nodes[0], nodes[1], nodes[0]} {
		s, err := d.Round(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, s...)
	}
	// The weekly digest was due at the first (empty) round; only the daily one is due again.
	if strings.Join(sent, ",") != tenant.FrequencyDaily {
		t.Fatalf("three rounds on two nodes sent %v, want the daily summary once", sent)
	}
	mails := box.wait(t, 1)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "2 attempt(s) in the last day") {
		t.Fatalf("mails: %+v", mails)
	}
	for _, want := range []string{"a@example.com", "b@example.com", "203.0.113.7"} {
		if !strings.Contains(mails[0].Text, want) {
			t.Errorf("digest lacks %q: %s", want, mails[0].Text)
		}
	}
	if strings.Contains(mails[0].Text, "not-asked@example.com") || strings.Contains(mails[0].Text, "yesterday@example.com") {
		t.Errorf("digest lists events it should not: %s", mails[0].Text)
	}
}
