package customdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/store"
)

var _ directory.UserScripts = (*Strategy)(nil)

// ScriptMode implements directory.UserScripts.
func (s *Strategy) ScriptMode(conn *store.Connection) directory.ScriptMode {
	o, err := ParseOptions(conn.Options)
	switch {
	case err != nil || !o.active() || s.Sandbox == nil:
		return directory.ScriptsOff
	case o.ImportMode:
		return directory.ScriptsImport
	}
	return directory.ScriptsLegacy
}

// runScript calls the connection's script name with args. An error the
// script calls back with or throws (a ValidationError, any Error) is the
// store's *directory.ScriptRefusal; a script that times out or passes
// another sandbox limit is directory.ErrUnavailable, as at login.
func (s *Strategy) runScript(ctx context.Context, conn *store.Connection, name string, args ...any) (scripts.DatabaseOutcome, error) {
	o, err := ParseOptions(conn.Options)
	if err != nil {
		return scripts.DatabaseOutcome{}, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	src := o.CustomScripts[name]
	if !o.Enabled || s.Sandbox == nil || strings.TrimSpace(src) == "" {
		return scripts.DatabaseOutcome{}, directory.ErrNoScript
	}
	out, err := s.Sandbox.Database(ctx, scripts.DatabaseInput{
		Script:        scripts.Script{Name: conn.Name + " " + name, Source: src},
		Configuration: o.Configuration,
		AllowedHosts:  o.AllowedHosts,
	}, args...)
	var f *scripts.Failure
	if errors.As(err, &f) && f.Kind == scripts.KindError {
		s.logger().InfoContext(ctx, "custom database script refused", "connection", conn.Name, "script", name, "error_name", f.Name, "code", f.Code)
		return out, &directory.ScriptRefusal{Code: f.Code, Message: f.Message}
	}
	if err != nil {
		return out, s.failed(ctx, conn, err)
	}
	if out.Message != "" {
		// WrongUsernameOrPasswordError outside login: a refusal like any.
		return out, &directory.ScriptRefusal{Code: "invalid_user_password", Message: out.Message}
	}
	return out, nil
}

// FindUser implements directory.UserScripts with the get_user script.
func (s *Strategy) FindUser(ctx context.Context, conn *store.Connection, identifier string, keep bool) (*store.User, error) {
	out, err := s.runScript(ctx, conn, "get_user", identifier)
	if err != nil || out.Profile == nil {
		return nil, err
	}
	if keep {
		o, err := ParseOptions(conn.Options)
		if err != nil {
			return nil, err
		}
		return s.keep(ctx, conn, o, identifier, "", out.Profile)
	}
	local := strings.TrimPrefix(out.Profile.UserID, "auth0|")
	if local == "" {
		return nil, fmt.Errorf("%w: custom database %s: the get_user script's profile has no user_id", directory.ErrUnavailable, conn.Name)
	}
	u := &store.User{UserID: "auth0|" + local, ConnectionID: conn.ID, Connection: conn.Name,
		Identities: []store.Identity{{Connection: conn.Name, UserID: local, Provider: database.Name}}}
	applyProfile(u, out.Profile, identifier, s.now())
	return u, nil
}

// CreateUser implements directory.UserScripts with the create script,
// `function create(user, callback)`: user has Auth0's fields (email,
// password, username, the names, email_verified, phone_number, metadata,
// tenant, connection). callback(null) creates; a profile called back, or
// else the get_user script's answer, names the user's id.
func (s *Strategy) CreateUser(ctx context.Context, conn *store.Connection, u *store.User, password string) (string, error) {
	user := map[string]any{
		"connection": conn.Name, "email": u.Email, "password": password, "email_verified": u.EmailVerified,
		"app_metadata": metadataOrEmpty(u.AppMetadata), "user_metadata": metadataOrEmpty(u.UserMetadata),
	}
	for k, v := range map[string]string{"username": u.Username, "given_name": u.GivenName, "family_name": u.FamilyName,
		"name": u.Name, "nickname": u.Nickname, "picture": u.Picture, "phone_number": u.PhoneNumber} {
		if v != "" {
			user[k] = v
		}
	}
	out, err := s.runScript(ctx, conn, "create", user)
	if err != nil {
		return "", err
	}
	if out.Profile != nil && out.Profile.UserID != "" {
		return strings.TrimPrefix(out.Profile.UserID, "auth0|"), nil
	}
	// Logins will name the user by the id the store keeps: ask for it.
	// Without get_user, or when it cannot tell yet, gatehouse's id stays:
	// the user exists in the store either way.
	found, err := s.FindUser(ctx, conn, cmpOr(u.Email, u.Username), false)
	if err != nil || found == nil {
		return "", nil
	}
	return strings.TrimPrefix(found.UserID, "auth0|"), nil
}

// DeleteUser implements directory.UserScripts with the delete script,
// `function remove(id, callback)`: id is the user's id without "auth0|".
func (s *Strategy) DeleteUser(ctx context.Context, conn *store.Connection, u *store.User) error {
	_, err := s.runScript(ctx, conn, "delete", strings.TrimPrefix(u.UserID, "auth0|"))
	return err
}

// ChangePassword implements directory.UserScripts with the
// change_password script, `function changePassword(email, newPassword,
// callback)`: callback(null, true) changed it; false means the store did
// not.
func (s *Strategy) ChangePassword(ctx context.Context, conn *store.Connection, u *store.User, password string) error {
	out, err := s.runScript(ctx, conn, "change_password", cmpOr(u.Email, u.Username), password)
	return done(out, err, "the user store did not change the password")
}

// VerifyEmail implements directory.UserScripts with the verify script,
// `function verify(email, callback)`: callback(null, true) verified it.
func (s *Strategy) VerifyEmail(ctx context.Context, conn *store.Connection, u *store.User) error {
	out, err := s.runScript(ctx, conn, "verify", u.Email)
	return done(out, err, "the user store did not verify the email")
}

// ChangeEmail implements directory.UserScripts with the change_email
// script, `function changeEmail(email, newEmail, verified, callback)`:
// callback(null, true) changed it.
func (s *Strategy) ChangeEmail(ctx context.Context, conn *store.Connection, u *store.User, email string, verified bool) error {
	out, err := s.runScript(ctx, conn, "change_email", u.Email, email, verified)
	return done(out, err, "the user store did not change the email")
}

// done reads the boolean answer of change_password, verify and
// change_email: false (said, not left out) is a refusal.
func done(out scripts.DatabaseOutcome, err error, refusal string) error {
	if err != nil {
		return err
	}
	if out.HasResult && !out.Result {
		return &directory.ScriptRefusal{Message: refusal}
	}
	return nil
}

func metadataOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return maps.Clone(m)
}
