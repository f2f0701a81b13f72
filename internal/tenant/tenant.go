// Package tenant owns the tenant's domain rules for applications (clients),
// APIs (resource servers), client grants, connections, users and tenant
// settings: what a new one gets by default (Auth0's defaults for an
// API-created object), what a valid one is (with Auth0's messages), and
// what a deletion takes along. Every way into the tenant (the Management
// API, bootstrap, and later the tenant file, imports, the CLI and a
// console) goes through a Service, so each rule is written once.
//
// The input types (ClientInput, ...) are Auth0's Management API shapes,
// which are also Auth0 tooling's shapes: every property optional, present
// or absent. Records are the store's types; how they are shown is the
// caller's business.
package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Strategies finds the plug-in that owns a connection strategy's options
// (directory.Registry implements it).
type Strategies interface {
	Lookup(name string) (directory.Strategy, bool)
}

// Service applies the tenant's rules and stores the result.
type Service struct {
	Store      store.Store
	Strategies Strategies
	// Hasher hashes the passwords of created and updated users.
	Hasher *passwords.Hasher
	Now    func() time.Time
	// Scripts compiles Actions before they are deployed (nil: no check);
	// when it is also an ActionTester, Actions can be tested.
	Scripts ScriptChecker
	// ScriptAllowedHosts are the hosts of --script-allowed-hosts, which a
	// tested Action may reach beside the tenant setting's.
	ScriptAllowedHosts []string
	// Events receives a sapi or fapi event for every change (nil: none).
	Events events.Emitter
	// Issuer is the tenant's public base URL with its trailing slash;
	// ticket links start with it.
	Issuer string
	// Breached, when set, is asked about every password being set
	// (breached password detection's registration and change stages).
	Breached PasswordChecker
	// BreachedObserved, when set, counts each leaked password found (and
	// each failed check) by stage and outcome: blocked, allowed, check_failed.
	BreachedObserved func(stage, outcome string)
	// Admins receives the administrators' notices (nil: none).
	Admins AdminNotifier
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

// Kind classifies an Error the way an API answers it.
type Kind int

// Kinds of Error.
const (
	// Invalid: the request breaks a rule (HTTP 400).
	Invalid Kind = iota + 1
	// Forbidden: the operation is not allowed on this object (HTTP 403).
	Forbidden
	// NotFound: the object does not exist (HTTP 404).
	NotFound
	// Conflict: the object would break a uniqueness rule (HTTP 409).
	Conflict
	// Unavailable: a store the change depends on (a custom database's
	// user store) could not answer (HTTP 503).
	Unavailable
)

// Error is a refusal by a rule. Code is Auth0's errorCode. For Code
// CodeInvalidBody, Message is the text Auth0 quotes inside its "Payload
// validation error" and Property the property at fault ("" for the request
// as a whole); otherwise Message is shown as it is. The not-found and
// conflict errors are shared values: treat every Error as read-only.
type Error struct {
	Kind     Kind
	Code     string
	Property string
	Message  string
}

// CodeInvalidBody is the errorCode of a payload that fails validation.
const CodeInvalidBody = "invalid_body"

func (e *Error) Error() string {
	if e.Property != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Property, e.Message)
	}
	return e.Code + ": " + e.Message
}

// invalidBody refuses the request as a whole.
func invalidBody(format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: CodeInvalidBody, Message: fmt.Sprintf(format, args...)}
}

// invalidProp refuses one property.
func invalidProp(prop, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: CodeInvalidBody, Property: prop, Message: fmt.Sprintf(format, args...)}
}

// Not-found errors of each object.
var (
	errNoClient         = &Error{Kind: NotFound, Code: "inexistent_client", Message: "The client does not exist"}
	errNoGrant          = &Error{Kind: NotFound, Code: "inexistent_client_grant", Message: "The client grant does not exist"}
	errNoResourceServer = &Error{Kind: NotFound, Code: "inexistent_resource_server", Message: "The resource server does not exist"}
	errNoConnection     = &Error{Kind: NotFound, Code: "inexistent_connection", Message: "The connection does not exist"}
	errNoUser           = &Error{Kind: NotFound, Code: "inexistent_user", Message: "The user does not exist."}
	errNoCredential     = &Error{Kind: NotFound, Code: "inexistent_credential", Message: "The credential does not exist"}
	errUserExists       = &Error{Kind: Conflict, Code: "auth0_idp_error", Message: "The user already exists."}
)

// notFound turns store.ErrNotFound into e; other errors pass.
func notFound(err error, e *Error) error {
	if errors.Is(err, store.ErrNotFound) {
		return e
	}
	return err
}

// conflict turns store.ErrConflict into a Conflict with code and message.
func conflict(err error, code, message string) error {
	if errors.Is(err, store.ErrConflict) {
		return &Error{Kind: Conflict, Code: code, Message: message}
	}
	return err
}

// TypeError turns a JSON type mismatch into Auth0's validation message
// ("Expected type string but found type number" on the property).
func TypeError(te *json.UnmarshalTypeError) *Error {
	msg := fmt.Sprintf("Expected type %s but found type %s", typeName(te.Type), valueName(te.Value))
	return &Error{Kind: Invalid, Code: CodeInvalidBody, Property: te.Field, Message: msg}
}

// uniq returns list without repeated values, in first-seen order.
func uniq[T comparable](list []T) []T {
	seen := make(map[T]bool, len(list))
	out := make([]T, 0, len(list))
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// audit emits the Auth0 log event of a change to the tenant: sapi when it
// was made, fapi when it was refused. Every way into the tenant goes
// through a Service, so every change is logged, whoever made it.
func (s *Service) audit(ctx context.Context, description string, err *error) {
	if s.Events == nil {
		return
	}
	e := events.Event{Type: events.SuccessAPIOperation, Date: s.now(), Description: description, ClientID: events.Actor(ctx)}
	if *err != nil {
		e.Type = events.FailedAPIOperation
		e.Details = map[string]any{"error": (*err).Error()}
	}
	s.Events.Emit(ctx, e)
}
