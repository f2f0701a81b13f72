package tenant

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/store"
)

// SignupInput is a public signup (POST /dbconnections/signup): an
// application signs one of its users up in a database connection.
type SignupInput struct {
	ClientID   string
	Connection string
	Email      string
	Password   string
	Username   Opt[string]
	GivenName  Opt[string]
	FamilyName Opt[string]
	Name       Opt[string]
	Nickname   Opt[string]
	Picture    Opt[string]
	// UserMetadata holds at most 10 string properties (Auth0's limit for
	// public signup).
	UserMetadata map[string]string
	// IP and UserAgent are the caller's, for the log event.
	IP, UserAgent string
}

// Limits of user_metadata at signup (Auth0's).
const (
	maxSignupMetadataKeys  = 10
	maxSignupMetadataKey   = 100
	maxSignupMetadataValue = 500
)

// Signup refusals, in Auth0's words. A signup for an identifier that is
// taken answers like any other invalid signup unless the tenant's flag
// enable_public_signup_user_exists_error says otherwise, so signup cannot
// be used to learn who has an account.
var (
	ErrSignupDisabled  = &Error{Kind: Forbidden, Code: "operation_not_supported", Message: "public signup is disabled"}
	ErrInvalidSignup   = &Error{Kind: Invalid, Code: "invalid_signup", Message: "Invalid sign up"}
	errSignupUserTaken = &Error{Kind: Invalid, Code: "user_exists", Message: "The user already exists."}
	errSignupClient    = &Error{Kind: Invalid, Code: "invalid_client", Message: "Unknown client"}
	errSignupConn      = &Error{Kind: Invalid, Code: "bad.connection", Message: "The connection does not exist"}
	errSignupNotDB     = &Error{Kind: Invalid, Code: "bad.connection", Message: "The connection is not a database connection"}
	errSignupNotOn     = &Error{Kind: Forbidden, Code: "unauthorized", Message: "The connection is not enabled for this client"}
)

// PasswordError refuses a password under the connection's policy, with
// what Auth0's signup and reset answers show: the kind of refusal (its
// name and message) and, for a weak one, every strength rule.
type PasswordError struct {
	Kind   error // database.ErrTooWeak, ErrTooLong, ErrTooCommon, ErrContainsUserInfo
	Report database.Report
}

func (e *PasswordError) Error() string { return e.Kind.Error() }

// CheckNewPassword applies the connection's policy to a password about to
// be set for u; the refusal is a *PasswordError.
func CheckNewPassword(conn *store.Connection, password string, u *store.User) error {
	opts, err := parseDBOptions(conn.Options)
	if err != nil {
		return fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	err = database.CheckPolicy(opts, password, u)
	var pe *database.PolicyError
	if errors.As(err, &pe) {
		return &PasswordError{Kind: pe.Kind, Report: database.StrengthReport(opts, password)}
	}
	return err
}

// SignupConnection finds the database connection clientID signs users up
// in: it must exist, be a database connection, and be enabled for the
// client.
func (s *Service) SignupConnection(ctx context.Context, clientID, name string) (*store.Client, *store.Connection, error) {
	client, err := s.Store.GetClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errSignupClient
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load client: %w", err)
	}
	conn, err := s.Store.ConnectionByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return client, nil, errSignupConn
	}
	if err != nil {
		return client, nil, fmt.Errorf("load connection: %w", err)
	}
	if conn.Strategy != database.Name {
		return client, conn, errSignupNotDB
	}
	if !conn.EnabledFor(client.ClientID) {
		return client, conn, errSignupNotOn
	}
	return client, conn, nil
}

// Signup creates a user who signs themselves up, under the connection's
// rules: disable_signup, requires_username, the password policy. It emits
// ss, or fs with the reason.
func (s *Service) Signup(ctx context.Context, in *SignupInput) (u *store.User, err error) {
	var client *store.Client
	var conn *store.Connection
	defer func() { s.signupEvent(ctx, in, client, conn, u, err) }()
	if in.ClientID == "" {
		return nil, invalidBody("Missing required property: client_id")
	}
	client, conn, err = s.SignupConnection(ctx, in.ClientID, in.Connection)
	if err != nil {
		return nil, err
	}
	opts, err := parseDBOptions(conn.Options)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", conn.ID, err)
	}
	if opts.DisableSignup {
		return nil, ErrSignupDisabled
	}
	switch {
	case in.Email == "":
		return nil, invalidBody("Missing required property: email")
	case in.Password == "":
		return nil, invalidBody("Missing required property: password")
	case opts.RequiresUsername && !in.Username.Set:
		return nil, invalidBody("Missing required property: username")
	case !opts.RequiresUsername && in.Username.Set:
		return nil, invalidProp("username", "Cannot set username for connection without requires_username")
	}
	if len(in.UserMetadata) > maxSignupMetadataKeys {
		return nil, invalidProp("user_metadata", "user_metadata may have at most %d properties", maxSignupMetadataKeys)
	}
	meta := map[string]any{}
	for k, v := range in.UserMetadata {
		if utf8.RuneCountInString(k) > maxSignupMetadataKey || utf8.RuneCountInString(v) > maxSignupMetadataValue {
			return nil, invalidProp("user_metadata", "user_metadata names have at most %d characters and values at most %d",
				maxSignupMetadataKey, maxSignupMetadataValue)
		}
		meta[k] = v
	}
	b := &UserInput{Connection: Some(conn.Name), Email: Some(in.Email), Password: Some(in.Password),
		Username: in.Username, GivenName: in.GivenName, FamilyName: in.FamilyName, Name: in.Name,
		Nickname: in.Nickname, Picture: in.Picture}
	if len(meta) > 0 {
		b.UserMetadata = Some(meta)
	}
	// The policy is judged on the profile the user would have, so the
	// personal-information rule sees their names.
	preview := &store.User{}
	if err := applyUser(preview, b, opts); err != nil {
		return nil, err
	}
	setDefaultProfile(preview)
	if err := CheckNewPassword(conn, in.Password, preview); err != nil {
		return nil, err
	}
	u, err = s.createDBUser(ctx, conn, opts, b)
	if errors.Is(err, errUserExists) {
		ts, terr := s.Store.GetTenantSettings(ctx)
		if terr == nil && ts.Flags["enable_public_signup_user_exists_error"] {
			return nil, errSignupUserTaken
		}
		return nil, ErrInvalidSignup
	}
	return u, err
}

func (s *Service) signupEvent(ctx context.Context, in *SignupInput, client *store.Client, conn *store.Connection, u *store.User, err error) {
	if s.Events == nil {
		return
	}
	e := events.Event{Type: events.SuccessSignup, Date: s.now(), ClientID: in.ClientID, IP: in.IP, UserAgent: in.UserAgent,
		UserName: in.Email, Connection: in.Connection, Strategy: database.Name}
	if client != nil {
		e.ClientName = client.Name
	}
	if conn != nil {
		e.ConnectionID = conn.ID
	}
	if u != nil {
		e.UserID = u.UserID
	}
	if err != nil {
		e.Type = events.FailedSignup
		e.Description = err.Error()
		if errors.Is(err, errUserExists) || err == ErrInvalidSignup || err == errSignupUserTaken {
			e.Description = "The user already exists."
		}
	}
	s.Events.Emit(ctx, e)
}
