package conformance

import (
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func emailTemplateTests() []test {
	return []test{
		{"CreateGetUpdate", func(t *testing.T, s store.Store) {
			_, err := s.GetEmailTemplate(ctx(t), "reset_email")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.UpdateEmailTemplate(ctx(t), "reset_email", func(*store.EmailTemplate) error { return nil })
			wantErr(t, err, store.ErrNotFound)
			tpl := &store.EmailTemplate{Template: "reset_email", Body: "<p>{{ url }} é</p>", From: "Acme <a@x.test>", Subject: "Reset",
				Syntax: "liquid", ResultURL: "https://app.test/done", URLLifetimeInSeconds: 600, IncludeEmailInRedirect: true, Enabled: true}
			must(t, s.CreateEmailTemplate(ctx(t), tpl))
			wantErr(t, s.CreateEmailTemplate(ctx(t), &store.EmailTemplate{Template: "reset_email"}), store.ErrConflict)
			must(t, s.CreateEmailTemplate(ctx(t), &store.EmailTemplate{Template: "verify_email", Body: "v"}))
			wantEqual(t, "template", ok[*store.EmailTemplate](t)(s.GetEmailTemplate(ctx(t), "reset_email")), tpl)

			got := ok[*store.EmailTemplate](t)(s.UpdateEmailTemplate(ctx(t), "reset_email", func(x *store.EmailTemplate) error {
				x.Template, x.Enabled, x.Subject = "renamed", false, "New"
				return nil
			}))
			want := *tpl
			want.Enabled, want.Subject = false, "New"
			wantEqual(t, "updated", got, &want)
			wantEqual(t, "stored", ok[*store.EmailTemplate](t)(s.GetEmailTemplate(ctx(t), "reset_email")), &want)
			_, err = s.GetEmailTemplate(ctx(t), "renamed")
			wantErr(t, err, store.ErrNotFound)

			errAbort := errors.New("abort")
			_, err = s.UpdateEmailTemplate(ctx(t), "reset_email", func(x *store.EmailTemplate) error { x.Body = "lost"; return errAbort })
			wantErr(t, err, errAbort)
			wantEqual(t, "after abort", ok[*store.EmailTemplate](t)(s.GetEmailTemplate(ctx(t), "reset_email")).Body, tpl.Body)
			wantEqual(t, "other", ok[*store.EmailTemplate](t)(s.GetEmailTemplate(ctx(t), "verify_email")).Body, "v")
		}},
	}
}
