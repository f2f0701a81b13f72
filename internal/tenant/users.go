package tenant

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// UserInput is a user to create, or the changes to one (as POST and PATCH
// /users take it). verify_email, verify_phone_number and client_id are
// accepted and ignored: gatehouse sends no verification messages.
type UserInput struct {
	Connection        Opt[string]         `json:"connection"`
	UserID            Opt[string]         `json:"user_id"`
	Email             Opt[string]         `json:"email"`
	EmailVerified     Opt[bool]           `json:"email_verified"`
	VerifyEmail       Opt[bool]           `json:"verify_email"`
	Username          Opt[string]         `json:"username"`
	PhoneNumber       Opt[string]         `json:"phone_number"`
	PhoneVerified     Opt[bool]           `json:"phone_verified"`
	VerifyPhoneNumber Opt[bool]           `json:"verify_phone_number"`
	Password          Opt[string]         `json:"password"`
	GivenName         Opt[string]         `json:"given_name"`
	FamilyName        Opt[string]         `json:"family_name"`
	Name              Opt[string]         `json:"name"`
	Nickname          Opt[string]         `json:"nickname"`
	Picture           Opt[string]         `json:"picture"`
	Blocked           Opt[bool]           `json:"blocked"`
	AppMetadata       Opt[map[string]any] `json:"app_metadata"`
	UserMetadata      Opt[map[string]any] `json:"user_metadata"`
	ClientID          Opt[string]         `json:"client_id"`
}

// Database user ids and profile limits (Auth0's).
const (
	dbProvider      = "auth0"
	maxUserIDPart   = 255
	maxNamePart     = 150 // given_name, family_name
	maxName         = 300 // name, nickname
	maxEmail        = 254
	maxOffsetResult = 1000
)

// dbConnection finds the database connection a user input names.
func (s *Service) dbConnection(ctx context.Context, name string) (*store.Connection, dbOptions, error) {
	conn, err := s.Store.ConnectionByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, dbOptions{}, &Error{Kind: Invalid, Code: errNoConnection.Code, Message: "The connection does not exist."}
	}
	if err != nil {
		return nil, dbOptions{}, fmt.Errorf("load connection %q: %w", name, err)
	}
	if conn.Strategy != database.Name {
		return nil, dbOptions{}, invalidProp("connection",
			"Connection %s is not a database connection (strategy %s)", name, conn.Strategy)
	}
	opts, err := parseDBOptions(conn.Options)
	if err != nil {
		return nil, dbOptions{}, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	return conn, opts, nil
}

func (s *Service) hashPassword(password string) (string, error) {
	if s.Hasher == nil {
		return "", errors.New("tenant: no password hasher configured")
	}
	hash, err := s.Hasher.Hash(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// GetUser returns a user.
func (s *Service) GetUser(ctx context.Context, id string) (*store.User, error) {
	u, err := s.Store.GetUser(ctx, id)
	return u, notFound(err, errNoUser)
}

// CreateUser creates a user of a database connection: connection and
// password are required, and email or username as the connection asks.
func (s *Service) CreateUser(ctx context.Context, b *UserInput) (_ *store.User, err error) {
	defer s.audit(ctx, "Create a user", &err)
	for _, name := range []string{"client_id", "verify_phone_number"} {
		if slices.Contains(SetProperties(b), name) {
			return nil, invalidBody("Additional properties not allowed: %s", name)
		}
	}
	if !b.Connection.Set {
		return nil, invalidBody("Missing required property: connection")
	}
	conn, opts, err := s.dbConnection(ctx, b.Connection.V)
	if err != nil {
		return nil, err
	}
	return s.createDBUser(ctx, conn, opts, b)
}

// createDBUser creates a user of the database connection conn from b:
// the rules every way of creating one shares (Management API, signup).
func (s *Service) createDBUser(ctx context.Context, conn *store.Connection, opts dbOptions, b *UserInput) (_ *store.User, err error) {
	switch {
	case opts.RequiresUsername && !b.Username.Set:
		return nil, invalidBody("Missing required property: username")
	case !opts.RequiresUsername && !b.Email.Set:
		return nil, invalidBody("Missing required property: email")
	case !b.Password.Set:
		return nil, invalidBody("Missing required property: password")
	}
	idPart := ids.Hex(12)
	if b.UserID.Set {
		idPart = strings.TrimPrefix(b.UserID.V, dbProvider+"|")
		if idPart == "" || utf8.RuneCountInString(idPart) > maxUserIDPart || strings.ContainsFunc(idPart, unicode.IsSpace) {
			return nil, invalidProp("user_id", "user_id must be 1 to %d characters without spaces", maxUserIDPart)
		}
	}
	now := s.now()
	u := &store.User{
		UserID:       dbProvider + "|" + idPart,
		ConnectionID: conn.ID,
		Connection:   conn.Name,
		Identities:   []store.Identity{{Connection: conn.Name, UserID: idPart, Provider: dbProvider}},
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	if err := applyUser(u, b, opts); err != nil {
		return nil, err
	}
	setDefaultProfile(u)
	if err := checkPassword(opts, b.Password.V, u); err != nil {
		return nil, err
	}
	if err := s.CheckNewPassword(ctx, StagePreUserRegistration, u, b.Password.V); err != nil {
		return nil, err
	}
	switch us, mode := s.userScripts(conn); mode {
	case directory.ScriptsImport:
		// Lazy migration: a user the old store still has is taken, as
		// Auth0 asks get_user before it creates one.
		found, err := us.FindUser(ctx, conn, cmp.Or(u.Email, u.Username), false)
		if err = optionalScript(err); err != nil {
			return nil, scriptError(err, "get_user")
		}
		if found != nil {
			return nil, errUserExists
		}
	case directory.ScriptsLegacy:
		// The tenant's store holds the user and the password; gatehouse
		// keeps the profile under the id that store gave.
		id, err := us.CreateUser(ctx, conn, u, b.Password.V)
		if err != nil {
			return nil, scriptError(err, "create")
		}
		if id != "" {
			u.UserID, u.Identities[0].UserID = dbProvider+"|"+id, id
		}
		if err := s.Store.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, errUserExists
			}
			return nil, err
		}
		return u, nil
	}
	if u.PasswordHash, err = s.hashPassword(b.Password.V); err != nil {
		return nil, err
	}
	if err := s.Store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errUserExists
		}
		return nil, err
	}
	return u, nil
}

// setDefaultProfile fills name, nickname and picture as Auth0 does.
func setDefaultProfile(u *store.User) {
	local, _, _ := strings.Cut(u.Email, "@")
	if u.Name == "" {
		u.Name = cmp.Or(u.Email, u.Username)
	}
	if u.Nickname == "" {
		u.Nickname = cmp.Or(local, u.Username)
	}
	if u.Picture == "" {
		u.Picture = gravatarURL(u.Email, u.Nickname)
	}
}

// gravatarURL is Auth0's default picture: the Gravatar of the email,
// falling back to an image of the first two letters of the nickname.
func gravatarURL(email, nickname string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	initials := []rune(strings.ToLower(nickname))
	initials = initials[:min(2, len(initials))]
	fallback := "https://cdn.auth0.com/avatars/" + string(initials) + ".png"
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=480&r=pg&d=" + url.QueryEscape(fallback)
}

// applyUser copies the profile properties of b onto u and validates them.
// The password is the caller's business.
func applyUser(u *store.User, b *UserInput, opts dbOptions) error {
	if b.Email.Set {
		email := strings.ToLower(strings.TrimSpace(b.Email.V))
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > maxEmail {
			return invalidProp("email", "Object didn't pass validation for format email: %s", b.Email.V)
		}
		if email != u.Email {
			u.Email, u.EmailVerified = email, false
		}
	}
	if b.Username.Set {
		if !opts.RequiresUsername {
			return invalidProp("username", "Cannot set username for connection without requires_username")
		}
		lo, hi := opts.UsernameBounds()
		n := utf8.RuneCountInString(b.Username.V)
		if n < lo || n > hi || strings.ContainsFunc(b.Username.V, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
			return invalidProp("username", "Username must be %d to %d printable characters without spaces", lo, hi)
		}
		u.Username = b.Username.V
	}
	for _, f := range []struct {
		name string
		dst  *string
		o    Opt[string]
		max  int
	}{
		{"given_name", &u.GivenName, b.GivenName, maxNamePart},
		{"family_name", &u.FamilyName, b.FamilyName, maxNamePart},
		{"name", &u.Name, b.Name, maxName},
		{"nickname", &u.Nickname, b.Nickname, maxName},
		{"picture", &u.Picture, b.Picture, 2048},
		{"phone_number", &u.PhoneNumber, b.PhoneNumber, 32},
	} {
		if f.o.Set && utf8.RuneCountInString(f.o.V) > f.max {
			return invalidProp(f.name, "String is too long (max %d chars)", f.max)
		}
		setIf(f.dst, f.o)
	}
	setIf(&u.EmailVerified, b.EmailVerified)
	setIf(&u.PhoneVerified, b.PhoneVerified)
	setIf(&u.Blocked, b.Blocked)
	if b.AppMetadata.Set {
		u.AppMetadata = mergeMetadata(u.AppMetadata, b.AppMetadata.V)
	}
	if b.UserMetadata.Set {
		u.UserMetadata = mergeMetadata(u.UserMetadata, b.UserMetadata.V)
	}
	return nil
}

// mergeMetadata merges patch into a copy of cur at the top level; a null
// value deletes its key. An empty result is nil.
func mergeMetadata(cur, patch map[string]any) map[string]any {
	out := maps.Clone(cur)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// UpdateUser applies the properties present in b. Changing the password,
// email or username needs the user's connection named, and the password
// cannot change together with the others.
func (s *Service) UpdateUser(ctx context.Context, id string, b *UserInput) (_ *store.User, err error) {
	defer s.audit(ctx, "Update a user", &err)
	if slices.Contains(SetProperties(b), "user_id") {
		return nil, invalidBody("Additional properties not allowed: user_id")
	}
	cur, err := s.GetUser(ctx, id)
	if err != nil {
		return nil, err
	}
	credentialChange := b.Password.Set || b.Email.Set || b.Username.Set
	if b.Password.Set && (b.Email.Set || b.Username.Set) {
		return nil, invalidBody("Cannot update password and email or username simultaneously")
	}
	if credentialChange && !b.Connection.Set {
		return nil, invalidBody("Missing required property: connection (needed to change email, username or password)")
	}
	if b.Connection.Set && b.Connection.V != cur.Connection {
		return nil, invalidProp("connection", "The user does not belong to connection %s", b.Connection.V)
	}
	var opts dbOptions
	if credentialChange {
		if _, opts, err = s.dbConnection(ctx, cur.Connection); err != nil {
			return nil, err
		}
	}
	// Validate, check the policy and hash before the write transaction, so
	// the slow hash does not hold it.
	preview := *cur
	if err := applyUser(&preview, b, opts); err != nil {
		return nil, err
	}
	var hash string
	if b.Password.Set {
		if err := checkPassword(opts, b.Password.V, &preview); err != nil {
			return nil, err
		}
		if err := s.CheckNewPassword(ctx, StagePreChangePassword, &preview, b.Password.V); err != nil {
			return nil, err
		}
	}
	passwordChanged, err := s.scriptedUpdate(ctx, cur, &preview, b)
	if err != nil {
		return nil, err
	}
	if b.Password.Set && !passwordChanged {
		if hash, err = s.hashPassword(b.Password.V); err != nil {
			return nil, err
		}
	}
	now := s.now()
	u, err := s.Store.UpdateUser(ctx, cur.UserID, func(u *store.User) error {
		if err := applyUser(u, b, opts); err != nil {
			return err
		}
		if hash != "" {
			u.PasswordHash, u.LastPasswordReset = hash, &now
		}
		if passwordChanged {
			u.LastPasswordReset = &now
		}
		u.UpdatedAt = now
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, errUserExists
	}
	if err != nil {
		return nil, notFound(err, errNoUser)
	}
	if hash != "" || passwordChanged {
		// A new password ends the brute-force blocks of the old one.
		if err := s.ClearBruteForce(ctx, u); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// DeleteUser deletes a user. A user of a custom database connection is
// first deleted from the tenant's store by the delete script (required
// without import mode; with it, run when present).
func (s *Service) DeleteUser(ctx context.Context, id string) (err error) {
	defer s.audit(ctx, "Delete a user", &err)
	u, err := s.GetUser(ctx, id)
	if err != nil {
		return err
	}
	conn, err := s.userConnection(ctx, u)
	if err != nil {
		return err
	}
	switch us, mode := s.userScripts(conn); mode {
	case directory.ScriptsImport:
		if err := optionalScript(us.DeleteUser(ctx, conn, u)); err != nil {
			return scriptError(err, "delete")
		}
	case directory.ScriptsLegacy:
		if err := us.DeleteUser(ctx, conn, u); err != nil {
			return scriptError(err, "delete")
		}
	}
	return notFound(s.Store.DeleteUser(ctx, u.UserID), errNoUser)
}

// scriptedUpdate runs the custom database scripts a Management API change
// of a user of a connection without import mode needs, before gatehouse
// stores it: change_password (gatehouse then keeps no hash: changed
// reports it ran), change_email, and verify when email_verified becomes
// true. Other connections change in gatehouse's store alone.
func (s *Service) scriptedUpdate(ctx context.Context, cur, next *store.User, b *UserInput) (changed bool, err error) {
	conn, err := s.userConnection(ctx, cur)
	if err != nil {
		return false, err
	}
	us, mode := s.userScripts(conn)
	if mode != directory.ScriptsLegacy {
		return false, nil
	}
	if b.Password.Set {
		if err := us.ChangePassword(ctx, conn, cur, b.Password.V); err != nil {
			return false, scriptError(err, "change_password")
		}
		changed = true
	}
	if b.Email.Set && next.Email != cur.Email {
		if err := us.ChangeEmail(ctx, conn, cur, next.Email, next.EmailVerified); err != nil {
			return false, scriptError(err, "change_email")
		}
	}
	if next.EmailVerified && !cur.EmailVerified && next.Email == cur.Email {
		if err := optionalScript(us.VerifyEmail(ctx, conn, cur)); err != nil {
			return false, scriptError(err, "verify")
		}
	}
	return changed, nil
}
