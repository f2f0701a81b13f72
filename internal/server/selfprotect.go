package server

import (
	"context"
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/protect"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// selfServiceProtection is attack protection's part in self-service: the
// signup throttle per IP before a signup is judged (breached password
// detection's registration stage runs where the user is created, in
// tenant.Service), and the end of a user's brute-force blocks once they
// set a new password through a reset link.
type selfServiceProtection struct {
	guard  *protect.Guard
	tenant *tenant.Service
	log    *slog.Logger
}

func (p selfServiceProtection) CheckSignup(ctx context.Context, ip string, conn *store.Connection, _, _ string) error {
	if p.guard == nil {
		return nil
	}
	return p.guard.CheckSignup(ctx, ip, conn, nil)
}

func (p selfServiceProtection) PasswordReset(ctx context.Context, u *store.User) {
	if err := p.tenant.ClearBruteForce(ctx, u); err != nil {
		p.log.LogAttrs(ctx, slog.LevelWarn, "end brute-force blocks after a password reset",
			slog.String("user_id", u.UserID), slog.Any("err", err))
	}
}
