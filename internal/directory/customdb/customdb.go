// Package customdb serves "auth0" (database) connections whose users live
// in the tenant's own user store, reached through Auth0's custom database
// scripts (options.enabledDatabaseCustomization with options.customScripts):
// `function login(email, password, callback)` at login here, and get_user,
// create, delete, change_password, verify and change_email for the
// tenant's user changes (userscripts.go, directory.UserScripts), run in
// the scripts sandbox. Connections without customization are the database
// strategy's.
//
// With options.import_mode (lazy migration) the first successful script
// login creates the user in gatehouse's store with the password hashed
// natively; from then on the user logs in like any database user and the
// script is never called for them again. Without import mode every login
// asks the script, and the store keeps a copy of the profile (no password).
//
// A script reaches other hosts over HTTP only when they are listed in
// options.allowed_hosts (host, host:port or *.domain), within the
// sandbox's HTTP timeout; options.configuration is exposed to the scripts
// as `configuration` and sealed at rest like any connection secret.
//
// The three outcomes stay apart: the script's WrongUsernameOrPasswordError
// (or a callback with no profile) is a wrong password; a script that
// fails, times out or cannot reach its store is directory.ErrUnavailable,
// logged, and never counted as a wrong password.
package customdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Scripts gatehouse knows the names of (Auth0's customScripts keys).
// change_username and change_phone_number are kept and validated but
// never run.
var scriptNames = []string{"login", "get_user", "create", "delete", "change_password", "verify", "change_email", "change_username", "change_phone_number"}

// Options are the custom database part of an auth0 connection's options.
type Options struct {
	Enabled       bool              `json:"enabledDatabaseCustomization"`
	CustomScripts map[string]string `json:"customScripts,omitempty"`
	ImportMode    bool              `json:"import_mode"`
	Configuration map[string]string `json:"configuration,omitempty"`
	AllowedHosts  []string          `json:"allowed_hosts,omitempty"`
}

// ParseOptions reads the custom database options of a connection.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	if err := directory.DecodeOptions(raw, &o); err != nil {
		return Options{}, err
	}
	return o, nil
}

// active says the connection's logins go through its login script.
func (o Options) active() bool { return o.Enabled && strings.TrimSpace(o.CustomScripts["login"]) != "" }

// Strategy serves "auth0" connections: customised ones through their
// scripts, the others (and users already imported) through Database.
type Strategy struct {
	*database.Strategy
	Users   store.Users
	Sandbox *scripts.Sandbox
	Hasher  *passwords.Hasher
	// Limit bounds concurrent password hashes; nil means no bound.
	Limit  *passwords.Limiter
	Logger *slog.Logger
	Now    func() time.Time
}

var (
	_ directory.Strategy         = (*Strategy)(nil)
	_ directory.PasswordVerifier = (*Strategy)(nil)
	_ directory.UserChecker      = (*Strategy)(nil)
)

// ValidateOptions implements directory.Strategy: the database strategy's
// checks, then the scripts' (known names, each compiles, login present
// when customization is on) and the allowed hosts.
func (s *Strategy) ValidateOptions(options json.RawMessage) (json.RawMessage, error) {
	out, err := s.Strategy.ValidateOptions(options)
	if err != nil {
		return nil, err
	}
	o, err := ParseOptions(out)
	if err != nil {
		return nil, err
	}
	for name, src := range o.CustomScripts {
		if !slices.Contains(scriptNames, name) {
			return nil, &directory.OptionsError{Field: "options.customScripts", Message: "options.customScripts: unknown script " + name}
		}
		if len(src) > 100<<10 {
			return nil, &directory.OptionsError{Field: "options.customScripts." + name, Message: "options.customScripts." + name + ": script is longer than 102400 characters"}
		}
		if s.Sandbox != nil && strings.TrimSpace(src) != "" {
			if err := s.Sandbox.CheckFunction(src); err != nil {
				return nil, &directory.OptionsError{Field: "options.customScripts." + name, Message: "options.customScripts." + name + ": " + err.Error()}
			}
		}
	}
	if o.Enabled && strings.TrimSpace(o.CustomScripts["login"]) == "" {
		return nil, &directory.OptionsError{Field: "options.customScripts.login", Message: "options.customScripts.login is required when enabledDatabaseCustomization is true"}
	}
	if o.ImportMode && !o.Enabled {
		return nil, &directory.OptionsError{Field: "options.import_mode", Message: "options.import_mode needs enabledDatabaseCustomization"}
	}
	for _, h := range o.AllowedHosts {
		if h = strings.TrimSpace(h); h == "" || strings.ContainsAny(h, "/ @?#") {
			return nil, &directory.OptionsError{Field: "options.allowed_hosts", Message: "options.allowed_hosts: each entry is a host, host:port or *.domain"}
		}
	}
	return out, nil
}

// Verify implements directory.PasswordVerifier.
func (s *Strategy) Verify(ctx context.Context, conn *store.Connection, username, password string) (directory.Result, bool, error) {
	o, err := ParseOptions(conn.Options)
	if err != nil {
		return directory.Result{}, false, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	if !o.active() {
		return s.Strategy.Verify(ctx, conn, username, password)
	}
	if o.ImportMode {
		// Imported users never reach the script again.
		u, err := s.Users.UserByIdentifier(ctx, conn.ID, username)
		switch {
		case err == nil && u.PasswordHash != "":
			return s.Strategy.Verify(ctx, conn, username, password)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return directory.Result{}, false, fmt.Errorf("directory: find user: %w", err)
		}
	}
	out, err := s.Sandbox.Login(ctx, scripts.DatabaseInput{
		Script:        scripts.Script{Name: conn.Name + " login", Source: o.CustomScripts["login"]},
		Configuration: o.Configuration,
		AllowedHosts:  o.AllowedHosts,
	}, username, password)
	if err != nil {
		return directory.Result{}, false, s.failed(ctx, conn, err)
	}
	if out.Profile == nil {
		return directory.Result{}, false, nil
	}
	u, err := s.keep(ctx, conn, o, username, password, out.Profile)
	if err != nil {
		return directory.Result{}, false, err
	}
	return directory.Result{User: u}, true, nil
}

// failed maps a script failure: the caller's own end stays itself, a bug
// on gatehouse's side or a script that does not compile is a server error,
// anything else (a thrown error, a timeout, an unreachable store) means the
// user store could not answer.
func (s *Strategy) failed(ctx context.Context, conn *store.Connection, err error) error {
	var f *scripts.Failure
	if !errors.As(err, &f) {
		return fmt.Errorf("directory: custom database %s: %w", conn.Name, err)
	}
	s.logger().WarnContext(ctx, "custom database script failed", "connection", conn.Name, "kind", f.Kind.String(), "error_name", f.Name, "message", f.Message)
	switch f.Kind {
	case scripts.KindCanceled:
		return ctx.Err()
	case scripts.KindCompile, scripts.KindInternal:
		return fmt.Errorf("directory: custom database %s: %w", conn.Name, err)
	}
	return fmt.Errorf("%w: custom database %s: %s", directory.ErrUnavailable, conn.Name, f.Kind)
}

// keep stores the user the script vouched for: with import mode, created
// with the password hashed natively (the migration); otherwise a profile
// copy refreshed at each login.
func (s *Strategy) keep(ctx context.Context, conn *store.Connection, o Options, username, password string, p *scripts.Profile) (*store.User, error) {
	now := s.now()
	local := strings.TrimPrefix(p.UserID, "auth0|")
	if local == "" {
		return nil, fmt.Errorf("%w: custom database %s: the login script's profile has no user_id", directory.ErrUnavailable, conn.Name)
	}
	id := "auth0|" + local
	apply := func(u *store.User) { applyProfile(u, p, username, now) }
	var hash string
	if o.ImportMode && password != "" {
		var herr error
		if err := s.hash(ctx, func() { hash, herr = s.Hasher.Hash(password) }); err != nil {
			return nil, err
		}
		if herr != nil {
			return nil, fmt.Errorf("directory: hash imported password: %w", herr)
		}
	}
	u := &store.User{
		UserID: id, ConnectionID: conn.ID, Connection: conn.Name, PasswordHash: hash,
		Identities: []store.Identity{{Connection: conn.Name, UserID: local, Provider: database.Name}},
		CreatedAt:  now,
	}
	apply(u)
	err := s.Users.CreateUser(ctx, u)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("directory: create user %s: %w", id, err)
	}
	// Known already (a profile copy, or a concurrent first login), unless
	// the conflict is another connection's user of the same id, or
	// another user's email or username.
	u, err = s.Users.UpdateUser(ctx, id, func(u *store.User) error {
		if u.ConnectionID != conn.ID {
			return fmt.Errorf("%w: %s belongs to connection %s", directory.ErrUserIDTaken, id, u.Connection)
		}
		apply(u)
		if hash != "" && u.PasswordHash == "" {
			u.PasswordHash = hash
		}
		return nil
	})
	switch {
	case errors.Is(err, directory.ErrUserConflict):
		return nil, err
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return nil, fmt.Errorf("%w: user %s of connection %s: email or username taken", directory.ErrUserConflict, id, conn.Name)
	case err != nil:
		return nil, fmt.Errorf("directory: update user %s: %w", id, err)
	}
	return u, nil
}

// applyProfile copies what a script's profile says onto u; fields the
// profile leaves empty keep their value.
func applyProfile(u *store.User, p *scripts.Profile, username string, now time.Time) {
	u.Email = cmpOr(strings.ToLower(p.Email), u.Email)
	if u.Email == "" && strings.Contains(username, "@") {
		u.Email = strings.ToLower(username)
	}
	u.EmailVerified = u.EmailVerified || p.EmailVerified
	u.Username = cmpOr(p.Username, u.Username)
	u.Name, u.GivenName, u.FamilyName = cmpOr(p.Name, u.Name), cmpOr(p.GivenName, u.GivenName), cmpOr(p.FamilyName, u.FamilyName)
	u.Nickname, u.Picture, u.PhoneNumber = cmpOr(p.Nickname, u.Nickname), cmpOr(p.Picture, u.Picture), cmpOr(p.PhoneNumber, u.PhoneNumber)
	if p.AppMetadata != nil {
		u.AppMetadata = p.AppMetadata
	}
	if p.UserMetadata != nil {
		u.UserMetadata = p.UserMetadata
	}
	u.UpdatedAt = now
}

func (s *Strategy) hash(ctx context.Context, fn func()) error {
	if s.Limit == nil {
		fn()
		return nil
	}
	return s.Limit.Do(ctx, fn)
}

// CheckUser implements directory.UserChecker: a user deleted or blocked in
// the store is refused (as for any database connection).
func (s *Strategy) CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	return s.Strategy.CheckUser(ctx, conn, user)
}

func (s *Strategy) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Strategy) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
