package tenant

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/directory/passwordless"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrPasswordlessNoSignup: the connection has disable_signup and no user
// with that address or number.
var ErrPasswordlessNoSignup = errors.New("tenant: passwordless connection does not sign users up")

// PasswordlessUser finds the user of a normalised identifier in the
// passwordless connection conn (store.ErrNotFound when there is none).
func (s *Service) PasswordlessUser(ctx context.Context, conn *store.Connection, identifier string) (*store.User, error) {
	if conn.Strategy == passwordless.SMS {
		return s.Store.GetUser(ctx, passwordless.SMS+"|"+passwordless.UserIDPart(conn, identifier))
	}
	return s.Store.UserByIdentifier(ctx, conn.ID, identifier)
}

// PasswordlessLogin returns the user who just proved they hold identifier
// in conn, creating them on their first login as Auth0 does (email|<id>
// or sms|<id>, the address or number verified) unless the connection has
// disable_signup. A user created here is logged as ss.
func (s *Service) PasswordlessLogin(ctx context.Context, conn *store.Connection, identifier, clientID string) (*store.User, error) {
	u, err := s.PasswordlessUser(ctx, conn, identifier)
	switch {
	case err == nil:
		return s.markVerified(ctx, conn, u)
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	opts, err := passwordless.ParseOptions(conn.Options)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	if opts.DisableSignup {
		return nil, ErrPasswordlessNoSignup
	}
	now := s.now()
	part := ids.Hex(12)
	u = &store.User{ConnectionID: conn.ID, Connection: conn.Name, CreatedAt: now, UpdatedAt: now}
	if conn.Strategy == passwordless.SMS {
		part = passwordless.UserIDPart(conn, identifier)
		u.PhoneNumber, u.PhoneVerified, u.Name, u.Nickname = identifier, true, identifier, identifier
	} else {
		u.Email, u.EmailVerified = identifier, true
	}
	u.UserID = conn.Strategy + "|" + part
	u.Identities = []store.Identity{{Connection: conn.Name, UserID: part, Provider: conn.Strategy}}
	setDefaultProfile(u)
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another first login of the same identifier won the race.
			return s.PasswordlessUser(ctx, conn, identifier)
		}
		return nil, err
	}
	if s.Events != nil {
		s.Events.Emit(ctx, events.Event{Type: events.SuccessSignup, Date: now, ClientID: clientID, UserID: u.UserID,
			UserName: identifier, Connection: conn.Name, ConnectionID: conn.ID, Strategy: conn.Strategy})
	}
	return u, nil
}

// markVerified records that a user of the passwordless connection conn
// received a code at their address or number.
func (s *Service) markVerified(ctx context.Context, conn *store.Connection, u *store.User) (*store.User, error) {
	sms := conn.Strategy == passwordless.SMS
	if sms && u.PhoneVerified || !sms && u.EmailVerified {
		return u, nil
	}
	return s.Store.UpdateUser(ctx, u.UserID, func(u *store.User) error {
		if sms {
			u.PhoneVerified = true
		} else {
			u.EmailVerified = true
		}
		u.UpdatedAt = s.now()
		return nil
	})
}
