// Package directory verifies a user's password against the connection the
// user belongs to. Each strategy (auth0 database, AD/LDAP) sits behind the
// same small interface, with three outcomes: verified, refused, or failed
// (so an unreachable directory is never reported as a wrong password).
package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/passwords"
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

// OptionsError is a connection option that fails validation; Field is its
// path ("options.password_policy"), Message Auth0's wording.
type OptionsError struct {
	Field   string
	Message string
}

func (e *OptionsError) Error() string { return e.Message }

// Router sends each connection to the verifier of its strategy.
type Router map[string]PasswordVerifier

// Verify implements PasswordVerifier.
func (r Router) Verify(ctx context.Context, conn *store.Connection, username, password string) (Result, bool, error) {
	v, ok := r[conn.Strategy]
	if !ok {
		return Result{}, false, fmt.Errorf("%w: %q", ErrUnsupportedStrategy, conn.Strategy)
	}
	return v.Verify(ctx, conn, username, password)
}

// Database verifies users of "auth0" connections, whose profiles and
// password hashes live in the store.
type Database struct {
	Users  store.Users
	Hasher *passwords.Hasher
	// Limit bounds concurrent hashes; nil means no bound.
	Limit *passwords.Limiter
}

// hash runs fn under the limiter.
func (d *Database) hash(ctx context.Context, fn func()) error {
	if d.Limit == nil {
		fn()
		return nil
	}
	return d.Limit.Do(ctx, fn)
}

// Verify looks the user up by email or username and checks the password.
// Unknown users cost one dummy hash verification, like a wrong password. A
// hash in an older format or with weaker parameters is replaced by a native
// one after a successful check.
func (d *Database) Verify(ctx context.Context, conn *store.Connection, username, password string) (Result, bool, error) {
	u, err := d.Users.UserByIdentifier(ctx, conn.ID, username)
	if errors.Is(err, store.ErrNotFound) {
		if err := d.hash(ctx, func() { d.Hasher.VerifyDummy(password) }); err != nil {
			return Result{}, false, err
		}
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("directory: find user: %w", err)
	}
	var ok, rehash bool
	var newHash string
	if herr := d.hash(ctx, func() {
		ok, rehash, err = d.Hasher.Verify(u.PasswordHash, password)
		if ok && rehash {
			newHash, _ = d.Hasher.Hash(password)
		}
	}); herr != nil {
		return Result{}, false, herr
	}
	if err != nil {
		// A malformed stored hash can never match; treat as a refusal but
		// surface it so an operator sees it.
		return Result{}, false, fmt.Errorf("directory: user %s: %w", u.UserID, err)
	}
	if !ok {
		return Result{User: u}, false, nil
	}
	return Result{User: u, NewPasswordHash: newHash}, true, nil
}

// Registry holds the strategies gatehouse serves, by name. The server
// assembles it once; the login pipeline and the tenant's domain rules look
// strategies up in it.
type Registry map[string]Strategy

// Lookup returns the strategy serving connections of that strategy name.
func (r Registry) Lookup(name string) (Strategy, bool) {
	s, ok := r[name]
	return s, ok
}
