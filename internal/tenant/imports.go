package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RowError is why one row of a users import fails, in Auth0's job error
// shape: a JSON-schema style code, a message and the property at fault.
type RowError = store.JobErrorDetail

// Auth0's codes for rows that fail.
const (
	CodeInvalidType      = "INVALID_TYPE"
	CodeInvalidFormat    = "INVALID_FORMAT"
	CodeMissingProperty  = "OBJECT_MISSING_REQUIRED_PROPERTY"
	CodeAdditionalProp   = "OBJECT_ADDITIONAL_PROPERTIES"
	CodeMaxLength        = "MAX_LENGTH"
	CodeDuplicatedUser   = "DUPLICATED_USER"
	CodeConflict         = "CONFLICT"
	CodeAnyOfMissing     = "ANY_OF_MISSING"
	CodeEnumMismatch     = "ENUM_MISMATCH"
	CodePasswordConflict = "PASSWORD_HASH_CONFLICT"
)

// rowErr is an error a merge returns to fail one row.
type rowErr struct{ RowError }

func (e *rowErr) Error() string { return e.Code + ": " + e.Message }

// AsRowErrors turns the error of an imported row (from a merge or the
// store) into the row's error details.
func AsRowErrors(err error) []RowError {
	var re *rowErr
	var fe *passwords.FormatError
	switch {
	case errors.As(err, &re):
		return []RowError{re.RowError}
	case errors.As(err, &fe):
		return []RowError{{Code: fe.Code, Message: fe.Message, Path: fe.Path}}
	case errors.Is(err, store.ErrConflict):
		return []RowError{{Code: CodeDuplicatedUser, Message: "The user already exist (another user of the connection has this user_id, email or username)"}}
	}
	return []RowError{{Code: CodeConflict, Message: "The user could not be imported"}}
}

// maxMetadataBytes bounds app_metadata and user_metadata of an imported
// user, each as JSON.
const maxMetadataBytes = 64 << 10

// reservedAppMetadata are the app_metadata keys Auth0's import refuses.
var reservedAppMetadata = []string{"__tenant", "_id", "blocked", "clientID", "created_at", "email_verified",
	"email", "globalClientID", "global_client_id", "identities", "lastIP", "lastLogin", "loginsCount",
	"metadata", "multifactor_last_modified", "multifactor", "updated_at", "user_id"}

// bcryptPasswordHash is the pattern Auth0 applies to password_hash.
var bcryptPasswordHash = regexp.MustCompile(`^\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}$`)

// base32Secret is Auth0's pattern for an imported TOTP secret.
var base32Secret = regexp.MustCompile(`^[A-Z2-7]+$`)

// ImportTarget is the database connection a users import writes to.
type ImportTarget struct {
	Conn *store.Connection
	opts dbOptions
}

// ImportConnection finds the database connection of a users import or
// export by id.
func (s *Service) ImportConnection(ctx context.Context, connectionID string) (*ImportTarget, error) {
	conn, err := s.Store.GetConnection(ctx, connectionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: NotFound, Code: errNoConnection.Code, Message: "The connection does not exist"}
	}
	if err != nil {
		return nil, fmt.Errorf("load connection %q: %w", connectionID, err)
	}
	if conn.Strategy != database.Name {
		return nil, &Error{Kind: Invalid, Code: "operation_not_supported",
			Message: "The connection must be a database connection (strategy auth0)"}
	}
	opts, err := parseDBOptions(conn.Options)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	return &ImportTarget{Conn: conn, opts: opts}, nil
}

// ImportedUser is one valid row: the user to insert, and its second
// factors (written once the user is).
type ImportedUser struct {
	User    *store.User
	Factors []*store.Authenticator
	// Given names the properties the row had (an upsert changes only those).
	Given map[string]bool
}

// importProps are the properties a row may have (Auth0's schema has
// additionalProperties false).
var importProps = []string{"email", "email_verified", "user_id", "username", "given_name", "family_name",
	"name", "nickname", "picture", "blocked", "password_hash", "custom_password_hash", "app_metadata",
	"user_metadata", "mfa_factors", "password_set_date"}

// PrepareImportRow checks one row of an import file against Auth0's user
// schema and the connection's rules, and returns the user it creates; a
// refused row returns its reasons instead.
func (t *ImportTarget) PrepareImportRow(raw []byte, now time.Time) (*ImportedUser, []RowError) {
	if err := input.CheckJSON(raw); err != nil {
		return nil, []RowError{{Code: CodeInvalidFormat, Message: "The row is not valid JSON: " + err.Error()}}
	}
	var row map[string]json.RawMessage
	if err := json.Unmarshal(raw, &row); err != nil || row == nil {
		return nil, []RowError{{Code: CodeInvalidType, Message: "Expected type object but found type " + JSONKind(raw)}}
	}
	var errs []RowError
	fail := func(code, path, format string, args ...any) {
		errs = append(errs, RowError{Code: code, Message: fmt.Sprintf(format, args...), Path: path})
	}
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(importProps, k) {
			fail(CodeAdditionalProp, "", "Additional properties not allowed: %s", k)
		}
	}
	str := func(name string, max int) (string, bool) {
		v, ok := row[name]
		if !ok {
			return "", false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			fail(CodeInvalidType, name, "Expected type string but found type %s", JSONKind(v))
			return "", false
		}
		if max > 0 && utf8.RuneCountInString(s) > max {
			fail(CodeMaxLength, name, "String is too long (%d chars), maximum %d", utf8.RuneCountInString(s), max)
			return "", false
		}
		return s, true
	}
	boolean := func(name string) (bool, bool) {
		v, ok := row[name]
		if !ok {
			return false, false
		}
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			fail(CodeInvalidType, name, "Expected type boolean but found type %s", JSONKind(v))
			return false, false
		}
		return b, true
	}
	object := func(name string) (map[string]any, bool) {
		v, ok := row[name]
		if !ok {
			return nil, false
		}
		if JSONKind(v) != "object" {
			fail(CodeInvalidType, name, "Expected type object but found type %s", JSONKind(v))
			return nil, false
		}
		if len(v) > maxMetadataBytes {
			fail(CodeMaxLength, name, "%s is larger than %d bytes", name, maxMetadataBytes)
			return nil, false
		}
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			fail(CodeInvalidType, name, "Expected type object")
			return nil, false
		}
		return m, true
	}

	u := &store.User{ConnectionID: t.Conn.ID, Connection: t.Conn.Name, CreatedAt: now, UpdatedAt: now}
	email, hasEmail := str("email", maxEmail)
	if hasEmail {
		e := strings.ToLower(strings.TrimSpace(email))
		if a, err := mailAddress(e); err != nil || a != e {
			fail(CodeInvalidFormat, "email", "Object didn't pass validation for format email: %s", email)
		}
		u.Email = e
	}
	username, hasUsername := str("username", 0)
	if hasUsername && !t.opts.RequiresUsername {
		fail(CodeInvalidFormat, "username", "Cannot set username for connection without requires_username")
	} else if hasUsername {
		lo, hi := t.opts.UsernameBounds()
		n := utf8.RuneCountInString(username)
		if n < lo || n > hi || strings.ContainsFunc(username, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
			fail(CodeInvalidFormat, "username", "Username must be %d to %d printable characters without spaces", lo, hi)
		}
		u.Username = username
	}
	switch {
	case !hasEmail && !hasUsername && t.opts.RequiresUsername:
		fail(CodeAnyOfMissing, "", "Missing required property: email or username")
	case !hasEmail && !t.opts.RequiresUsername:
		if _, present := row["email"]; !present {
			fail(CodeMissingProperty, "", "Missing required property: email")
		}
	}
	idPart := ids.Hex(12)
	if id, ok := str("user_id", 0); ok {
		idPart = strings.TrimPrefix(id, dbProvider+"|")
		if idPart == "" || utf8.RuneCountInString(idPart) > maxUserIDPart || strings.ContainsFunc(idPart, unicode.IsSpace) {
			fail(CodeInvalidFormat, "user_id", "user_id must be 1 to %d characters without spaces", maxUserIDPart)
		}
	}
	u.UserID = dbProvider + "|" + idPart
	u.Identities = []store.Identity{{Connection: t.Conn.Name, UserID: idPart, Provider: dbProvider}}
	for _, f := range []struct {
		name string
		dst  *string
		max  int
	}{
		{"given_name", &u.GivenName, maxNamePart}, {"family_name", &u.FamilyName, maxNamePart},
		{"name", &u.Name, maxName}, {"nickname", &u.Nickname, maxName}, {"picture", &u.Picture, 2048},
	} {
		if v, ok := str(f.name, f.max); ok {
			*f.dst = v
		}
	}
	if v, ok := boolean("email_verified"); ok {
		u.EmailVerified = v
	}
	if v, ok := boolean("blocked"); ok {
		u.Blocked = v
	}
	if m, ok := object("app_metadata"); ok {
		for _, k := range reservedAppMetadata {
			if _, bad := m[k]; bad {
				fail(CodeInvalidFormat, "app_metadata."+k, "app_metadata must not contain %s", k)
			}
		}
		u.AppMetadata = nilIfEmpty(m)
	}
	if m, ok := object("user_metadata"); ok {
		u.UserMetadata = nilIfEmpty(m)
	}
	if v, ok := str("password_set_date", 64); ok {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			fail(CodeInvalidFormat, "password_set_date", "Object didn't pass validation for format date-time: %s", v)
		}
	}

	_, hasHash := row["password_hash"]
	custom, hasCustom := row["custom_password_hash"]
	u.PasswordHash = passwords.NoPassword
	switch {
	case hasHash && hasCustom:
		fail(CodeInvalidFormat, "custom_password_hash", "password_hash and custom_password_hash are mutually exclusive")
	case hasHash:
		if h, ok := str("password_hash", 100); ok {
			if !bcryptPasswordHash.MatchString(h) {
				fail(CodeInvalidFormat, "password_hash", "String does not match pattern ^\\$2[aby]?\\$\\d\\d\\$[./A-Za-z0-9]{53}$")
			}
			u.PasswordHash = h
		}
	case hasCustom:
		if JSONKind(custom) != "object" {
			fail(CodeInvalidType, "custom_password_hash", "Expected type object but found type %s", JSONKind(custom))
			break
		}
		h, err := passwords.ImportCustomHash(custom)
		var fe *passwords.FormatError
		if errors.As(err, &fe) {
			fail(fe.Code, fe.Path, "%s", fe.Message)
		} else if err != nil {
			fail(CodeInvalidFormat, "custom_password_hash", "The hash could not be read")
		}
		u.PasswordHash = h
	}

	var factors []*store.Authenticator
	if v, ok := row["mfa_factors"]; ok {
		factors = t.importFactors(v, u.UserID, now, fail)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	given := make(map[string]bool, len(keys))
	for _, k := range keys {
		given[k] = true
	}
	setDefaultProfile(u)
	return &ImportedUser{User: u, Factors: factors, Given: given}, nil
}

// mailAddress parses an email address and returns its address part.
func mailAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// importFactors reads Auth0's mfa_factors: [{totp:{secret}}, {phone:
// {value}}, {email:{value}}], each an enrolled, confirmed authenticator.
func (t *ImportTarget) importFactors(raw json.RawMessage, userID string, now time.Time, fail func(code, path, format string, args ...any)) []*store.Authenticator {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		fail(CodeInvalidType, "mfa_factors", "Expected an array of objects")
		return nil
	}
	if len(list) > 10 {
		fail(CodeMaxLength, "mfa_factors", "At most 10 factors")
		return nil
	}
	var out []*store.Authenticator
	for i, f := range list {
		path := fmt.Sprintf("mfa_factors[%d]", i)
		if len(f) != 1 {
			fail(CodeInvalidFormat, path, "Each factor has exactly one of totp, phone or email")
			continue
		}
		for kind, v := range f {
			var body struct {
				Secret string `json:"secret"`
				Value  string `json:"value"`
			}
			if err := strictUnmarshal(v, &body); err != nil {
				fail(CodeInvalidFormat, path+"."+kind, "Not a valid %s factor", kind)
				continue
			}
			a := &store.Authenticator{UserID: userID, Active: true, CreatedAt: now, ConfirmedAt: now}
			switch kind {
			case "totp":
				if !base32Secret.MatchString(body.Secret) || len(body.Secret) < 16 || len(body.Secret) > 128 || body.Value != "" {
					fail(CodeInvalidFormat, path+".totp.secret", "The OTP secret must be unpadded base32 (A-Z, 2-7), 16 to 128 characters")
					continue
				}
				a.Kind, a.Secret = "totp", body.Secret
			case "phone":
				if body.Value == "" || len(body.Value) > 32 || body.Secret != "" || !strings.HasPrefix(body.Value, "+") {
					fail(CodeInvalidFormat, path+".phone.value", "The phone number must be in E.164 format (+ and digits)")
					continue
				}
				a.Kind, a.Name = "sms", body.Value
			case "email":
				if _, err := mailAddress(body.Value); err != nil || body.Secret != "" {
					fail(CodeInvalidFormat, path+".email.value", "Object didn't pass validation for format email: %s", body.Value)
					continue
				}
				a.Kind, a.Name = "email", body.Value
			default:
				fail(CodeAdditionalProp, path, "Additional properties not allowed: %s", kind)
				continue
			}
			a.ID = a.Kind + "|dev_" + ids.Alnum(16)
			out = append(out, a)
		}
	}
	return out
}

func nilIfEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// ImportMerge returns the rule for a row that matches a stored user:
// without upsert the row fails as a duplicate; with upsert the fields
// Auth0's upsert changes are taken from the row (email_verified,
// given_name, family_name, name, nickname, picture, app_metadata and
// user_metadata, the metadata replaced as given), and a
// custom_password_hash replaces the stored hash only while the user has
// not logged in since their import. email, username, user_id, blocked and
// password_hash never change by import.
func ImportMerge(upsert bool, now time.Time, raw func(in *store.User) map[string]bool) func(stored, in *store.User) (*store.User, error) {
	return func(stored, in *store.User) (*store.User, error) {
		if !upsert {
			return nil, &rowErr{RowError{Code: CodeDuplicatedUser, Message: "The user already exist"}}
		}
		given := raw(in)
		out := *stored
		if given["email_verified"] {
			out.EmailVerified = in.EmailVerified
		}
		for name, pair := range map[string][2]*string{
			"given_name": {&out.GivenName, &in.GivenName}, "family_name": {&out.FamilyName, &in.FamilyName},
			"name": {&out.Name, &in.Name}, "nickname": {&out.Nickname, &in.Nickname}, "picture": {&out.Picture, &in.Picture},
		} {
			if given[name] {
				*pair[0] = *pair[1]
			}
		}
		if given["app_metadata"] {
			out.AppMetadata = in.AppMetadata
		}
		if given["user_metadata"] {
			out.UserMetadata = in.UserMetadata
		}
		if given["custom_password_hash"] {
			if !passwords.IsImported(stored.PasswordHash) && stored.PasswordHash != passwords.NoPassword {
				return nil, &rowErr{RowError{Code: CodePasswordConflict, Path: "custom_password_hash",
					Message: "A custom_password_hash was provided, but the user already has a password hash defined (they have logged in or set a password since their import)"}}
			}
			out.PasswordHash = in.PasswordHash
		}
		out.UpdatedAt = now
		return &out, nil
	}
}
