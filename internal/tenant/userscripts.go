package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/store"
)

// userScripts returns the plug-in running conn's custom database scripts
// and how conn keeps its users (directory.ScriptsOff when it has none).
func (s *Service) userScripts(conn *store.Connection) (directory.UserScripts, directory.ScriptMode) {
	if s.Strategies == nil || conn == nil {
		return nil, directory.ScriptsOff
	}
	st, ok := s.Strategies.Lookup(conn.Strategy)
	if !ok {
		return nil, directory.ScriptsOff
	}
	us, ok := st.(directory.UserScripts)
	if !ok {
		return nil, directory.ScriptsOff
	}
	return us, us.ScriptMode(conn)
}

// userConnection loads the connection of a stored user.
func (s *Service) userConnection(ctx context.Context, u *store.User) (*store.Connection, error) {
	conn, err := s.Store.GetConnection(ctx, u.ConnectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load connection: %w", err)
	}
	return conn, nil
}

// errUserStore is the answer when a custom database's script could not
// answer (it timed out or passed another sandbox limit).
var errUserStore = &Error{Kind: Unavailable, Code: "temporarily_unavailable", Message: "The user store of the connection is not available"}

// scriptError maps what a custom database script answered to the
// tenant's refusals, in Auth0's terms: ValidationError('user_exists') is
// "The user already exists.", any other error the script called back
// with is 400 auth0_idp_error with its message, and a store that could
// not answer 503.
func scriptError(err error, script string) error {
	var ref *directory.ScriptRefusal
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrNoScript):
		return &Error{Kind: Invalid, Code: "auth0_idp_error", Message: "The connection has no " + script + " script"}
	case errors.As(err, &ref) && ref.Code == "user_exists":
		return errUserExists
	case errors.As(err, &ref):
		return &Error{Kind: Invalid, Code: "auth0_idp_error", Message: cmp.Or(ref.Message, "The user store refused the change")}
	case errors.Is(err, directory.ErrUnavailable):
		return fmt.Errorf("%w (%w)", errUserStore, err)
	}
	return err
}

// optionalScript drops ErrNoScript: the step is the tenant's to skip.
func optionalScript(err error) error {
	if errors.Is(err, directory.ErrNoScript) {
		return nil
	}
	return err
}

// FindConnectionUser returns the user of conn with identifier (an email
// or username): from gatehouse's store, or else, on a custom database
// connection, from the tenant's own store through get_user, keeping a
// copy (Auth0 asks get_user before a password reset of a user it does not
// have). store.ErrNotFound when neither has them.
func (s *Service) FindConnectionUser(ctx context.Context, conn *store.Connection, identifier string) (*store.User, error) {
	identifier = strings.ToLower(strings.TrimSpace(identifier))
	u, err := s.Store.UserByIdentifier(ctx, conn.ID, identifier)
	if !errors.Is(err, store.ErrNotFound) {
		return u, err
	}
	us, mode := s.userScripts(conn)
	if mode == directory.ScriptsOff {
		return nil, err
	}
	u, ferr := us.FindUser(ctx, conn, identifier, true)
	switch {
	case errors.Is(ferr, directory.ErrNoScript):
		return nil, store.ErrNotFound
	case ferr != nil:
		return nil, scriptError(ferr, "get_user")
	case u == nil:
		return nil, store.ErrNotFound
	}
	return u, nil
}
