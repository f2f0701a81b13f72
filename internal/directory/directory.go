// Package directory declares what a connection strategy is (Strategy, and
// the capabilities PasswordVerifier, UserChecker and SessionChecker) and holds the
// strategies gatehouse serves by name (Registry). Each strategy is its own
// package (database for "auth0", ad for AD/LDAP, waad for Azure AD); a
// password check has three outcomes: verified, refused, or failed (so an
// unreachable directory, or one that wants a step the password grant cannot
// carry, is never reported as a wrong password).
package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/store"
)

// PasswordVerifier checks username and password in one connection. ok is
// false, with a nil error, for an unknown user or a wrong password; the
// answer to the client must not tell which (only the log does: Result.User
// is set for a wrong password of a known user).
type PasswordVerifier interface {
	Verify(ctx context.Context, conn *store.Connection, username, password string) (res Result, ok bool, err error)
}

// Result is a verified identity.
type Result struct {
	User *store.User
	// NewPasswordHash, when set, should replace the stored hash (same
	// password, native algorithm); the caller saves it with its other
	// login-time changes.
	NewPasswordHash string
	// Session, when set, is what the strategy keeps for the refresh-token
	// family this login starts, and is handed back to its SessionChecker
	// at refresh (an upstream provider's refresh token): a secret, sealed
	// at rest with the family.
	Session []byte
}

// ErrUnsupportedStrategy is returned for connections no verifier serves.
var ErrUnsupportedStrategy = errors.New("directory: connection strategy does not support passwords")

// Errors a strategy returns from CheckUser (and, for ErrUnavailable, from
// Verify) so the pipeline can answer as Auth0 does without knowing the
// strategy.
var (
	// ErrUserGone: the directory no longer has the user.
	ErrUserGone = errors.New("directory: user no longer exists")
	// ErrUserBlocked: the directory has disabled the user.
	ErrUserBlocked = errors.New("directory: user is disabled")
	// ErrUnavailable: the directory could not be asked (down, timed out).
	// Never a wrong password, never counted by brute-force protection.
	ErrUnavailable = errors.New("directory: connection unavailable")
	// ErrInteractionRequired: the directory did not refuse the password
	// but needs a step a password grant cannot carry (an upstream
	// provider's multifactor authentication). Not counted by brute-force
	// protection.
	ErrInteractionRequired = errors.New("directory: the directory needs a step the password grant cannot carry")
	// ErrSessionRevoked: the directory refused the session a refresh-token
	// family was started with (an upstream provider refused its refresh
	// token: the user was disabled, deleted or had their password reset
	// there). The family can never pass the check again.
	ErrSessionRevoked = errors.New("directory: the directory refused the user's session")
)

// Strategy is one connection type as a plug-in ("auth0", "ad", ...): it
// owns the schema of its connections' options. A strategy that checks
// passwords also implements PasswordVerifier; one whose users can vanish
// or be disabled outside gatehouse also implements UserChecker.
type Strategy interface {
	// Name is the strategy value of the connections it serves.
	Name() string
	// ValidateOptions checks a connection's options as the Management API
	// receives them (create, or update replacing them wholesale) and
	// returns them as they should be stored: defaults filled in, secrets
	// sealed or kept as the strategy needs. An *OptionsError names the
	// offending field.
	ValidateOptions(options json.RawMessage) (json.RawMessage, error)
}

// UserChecker is the refresh-time check of a strategy whose users live
// elsewhere (as Dex's RefreshConnector): nil when user may still get
// tokens, ErrUserGone, ErrUserBlocked, or another error (ErrUnavailable
// when the directory cannot be asked).
type UserChecker interface {
	CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error
}

// SessionChecker is the refresh-time check of a strategy that keeps
// something per refresh-token family (Result.Session), as Dex's refreshing
// connectors keep connector data: it returns what to keep from now on (the
// same session when nothing changed, a rotated upstream token otherwise)
// or an error as UserChecker's, or ErrSessionRevoked.
type SessionChecker interface {
	CheckSession(ctx context.Context, conn *store.Connection, user *store.User, session []byte) ([]byte, error)
}

// StatusChecker is implemented by strategies whose directory lives
// elsewhere: nil when it answers, ErrUnavailable when it cannot be reached
// (GET /api/v2/connections/{id}/status).
type StatusChecker interface {
	Status(ctx context.Context, conn *store.Connection) error
}

// UserScripts is implemented by a strategy whose connections may keep
// their users in a store of the tenant's own, reached through scripts
// (Auth0's custom database scripts). The tenant's rules ask it at each
// change of a user of such a connection; a method whose script the
// connection lacks returns ErrNoScript and changes nothing.
type UserScripts interface {
	// ScriptMode says how conn's users are kept.
	ScriptMode(conn *store.Connection) ScriptMode
	// FindUser asks the tenant's store for the user with identifier (an
	// email or username; get_user): nil, nil when it has none. With keep,
	// the user found is stored (a profile copy without password) and the
	// stored user returned.
	FindUser(ctx context.Context, conn *store.Connection, identifier string, keep bool) (*store.User, error)
	// CreateUser creates u, with password, in the tenant's store (create).
	// It returns the user id the store gave, or "" to keep u's.
	CreateUser(ctx context.Context, conn *store.Connection, u *store.User, password string) (string, error)
	// DeleteUser deletes u from the tenant's store (delete).
	DeleteUser(ctx context.Context, conn *store.Connection, u *store.User) error
	// ChangePassword sets u's password in the tenant's store
	// (change_password).
	ChangePassword(ctx context.Context, conn *store.Connection, u *store.User, password string) error
	// VerifyEmail marks u's email verified in the tenant's store (verify).
	VerifyEmail(ctx context.Context, conn *store.Connection, u *store.User) error
	// ChangeEmail changes u's email in the tenant's store (change_email).
	ChangeEmail(ctx context.Context, conn *store.Connection, u *store.User, email string, verified bool) error
}

// ScriptMode is how a connection keeps its users.
type ScriptMode int

const (
	// ScriptsOff: gatehouse's store alone (no custom database scripts).
	ScriptsOff ScriptMode = iota
	// ScriptsImport: lazy migration (import_mode): users move into
	// gatehouse's store; the scripts are asked about users not moved yet.
	ScriptsImport
	// ScriptsLegacy: the tenant's store holds the users and their
	// passwords; gatehouse keeps profile copies and runs a script for
	// every change.
	ScriptsLegacy
)

// ErrNoScript: the connection lacks the script an operation needs.
var ErrNoScript = errors.New("directory: the connection has no script for this operation")

// ScriptRefusal is a change the tenant's store refused: a script called
// back with an error of its own (a ValidationError with its code, or any
// Error), or answered false. Code is the ValidationError's code, if any.
type ScriptRefusal struct {
	Code    string
	Message string
}

func (e *ScriptRefusal) Error() string {
	if e.Code != "" {
		return "directory: refused by the user store: " + e.Code + ": " + e.Message
	}
	return "directory: refused by the user store: " + e.Message
}

// OptionsError is a connection option that fails validation; Field is its
// path ("options.password_policy"), Message Auth0's wording.
type OptionsError struct {
	Field   string
	Message string
}

func (e *OptionsError) Error() string { return e.Message }

// Registry holds the strategies gatehouse serves, by name. The server
// assembles it once; the login pipeline and the tenant's domain rules look
// strategies up in it.
type Registry map[string]Strategy

// Lookup returns the strategy serving connections of that strategy name.
func (r Registry) Lookup(name string) (Strategy, bool) {
	s, ok := r[name]
	return s, ok
}

// NewRegistry returns a registry of the given strategies, keyed by their
// names; a later strategy of the same name replaces an earlier one.
func NewRegistry(strategies ...Strategy) Registry {
	r := make(Registry, len(strategies))
	for _, s := range strategies {
		r[s.Name()] = s
	}
	return r
}

// Verify implements PasswordVerifier for every strategy that checks
// passwords; other strategies answer ErrUnsupportedStrategy.
func (r Registry) Verify(ctx context.Context, conn *store.Connection, username, password string) (Result, bool, error) {
	s, ok := r[conn.Strategy]
	if !ok {
		return Result{}, false, fmt.Errorf("%w: %q", ErrUnsupportedStrategy, conn.Strategy)
	}
	v, ok := s.(PasswordVerifier)
	if !ok {
		return Result{}, false, fmt.Errorf("%w: %q", ErrUnsupportedStrategy, conn.Strategy)
	}
	return v.Verify(ctx, conn, username, password)
}

// Status implements StatusChecker: a strategy with nothing to reach (a
// database connection) is always up.
func (r Registry) Status(ctx context.Context, conn *store.Connection) error {
	if c, ok := r[conn.Strategy].(StatusChecker); ok {
		return c.Status(ctx, conn)
	}
	return nil
}

// CheckUser implements UserChecker: strategies that have no refresh-time
// check let every user through.
func (r Registry) CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	if c, ok := r[conn.Strategy].(UserChecker); ok {
		return c.CheckUser(ctx, conn, user)
	}
	return nil
}

// CheckSession implements SessionChecker: a family with a session of a
// strategy that checks sessions is checked by it; any other by CheckUser,
// its session kept as it is.
func (r Registry) CheckSession(ctx context.Context, conn *store.Connection, user *store.User, session []byte) ([]byte, error) {
	if c, ok := r[conn.Strategy].(SessionChecker); ok && len(session) > 0 {
		return c.CheckSession(ctx, conn, user, session)
	}
	return session, r.CheckUser(ctx, conn, user)
}

// Unavailable logs (at level, as msg) a directory that cannot be used and
// returns the error the pipeline answers 503 for: err itself when it is
// already an ErrUnavailable, else err wrapped in one. what says what was
// being done; the error text carries no password.
func Unavailable(ctx context.Context, log *slog.Logger, level slog.Level, msg string, conn *store.Connection, what string, err error) error {
	log.LogAttrs(ctx, level, msg, slog.String("connection", conn.Name), slog.String("during", what), slog.String("error", err.Error()))
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: connection %s: %s: %w", ErrUnavailable, conn.Name, what, err)
}

// ValidateObject is the ValidateOptions of a strategy that stores its
// options as given once check accepts them: empty or null options become
// {} (a connection not configured yet), and anything but a JSON object is
// refused.
func ValidateObject(options json.RawMessage, check func(json.RawMessage) error) (json.RawMessage, error) {
	options = bytes.TrimSpace(options)
	if len(options) == 0 || bytes.Equal(options, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if options[0] != '{' {
		return nil, &OptionsError{Field: "options", Message: "options must be a JSON object"}
	}
	if err := check(options); err != nil {
		return nil, err
	}
	return options, nil
}

// DecodeOptions reads a connection's options document into v: empty or
// null options leave v as it is; a property of the wrong type is an
// *OptionsError naming it.
func DecodeOptions(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return &OptionsError{Field: "options." + te.Field, Message: fmt.Sprintf("options.%s: unexpected type %s", te.Field, te.Value)}
		}
		return &OptionsError{Field: "options", Message: "connection options: " + err.Error()}
	}
	return nil
}
