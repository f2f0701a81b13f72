package store

import (
	"context"
	"time"
)

// SelfService stores what users' own requests leave behind: single-use
// tickets, passwordless codes, and rate buckets.
type SelfService interface {
	// CreateTicket stores a ticket (ErrConflict for a duplicate id) after
	// deleting the expired ones.
	CreateTicket(ctx context.Context, t *Ticket) error
	GetTicket(ctx context.Context, id string) (*Ticket, error)
	// DeleteTicket consumes a ticket: ErrNotFound when another request
	// consumed it first, so exactly one caller uses it.
	DeleteTicket(ctx context.Context, id string) error

	// UpdatePasswordlessCode applies fn to the code record id (a zero
	// record with ID set when there is none) and saves it, atomically
	// among every node; an error from fn aborts and is returned.
	UpdatePasswordlessCode(ctx context.Context, id string, fn func(*PasswordlessCode) error) (*PasswordlessCode, error)
	// DeletePasswordlessCode removes a code record; ErrNotFound when none.
	DeletePasswordlessCode(ctx context.Context, id string) error

	// UpdateRateBucket applies fn to the bucket key (a zero bucket with
	// Key set the first time) and saves it, atomically among every node;
	// an error from fn aborts and is returned. Buckets whose ExpiresAt
	// has passed may be pruned.
	UpdateRateBucket(ctx context.Context, key string, fn func(*RateBucket) error) (*RateBucket, error)
}

// Ticket kinds.
const (
	TicketPasswordChange    = "password-change"
	TicketEmailVerification = "email-verification"
	// TicketGuardianEnrollment opens the page where a user sets up an
	// authenticator app (POST /api/v2/guardian/enrollments/ticket).
	TicketGuardianEnrollment = "guardian-enrollment"
)

// Ticket is a single-use link sent to a user: set a new password, or
// confirm an email address. Only the hash of its secret is stored.
type Ticket struct {
	ID       string `json:"id"` // hex SHA-256 of the ticket's secret
	Kind     string `json:"kind"`
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id,omitempty"`
	// ResultURL is where the user goes once done.
	ResultURL              string `json:"result_url,omitempty"`
	MarkEmailVerified      bool   `json:"mark_email_as_verified,omitempty"`
	IncludeEmailInRedirect bool   `json:"include_email_in_redirect,omitempty"`
	// AllowMultipleEnrollments lets an enrolment ticket's user who already
	// has an authenticator add one more.
	AllowMultipleEnrollments bool      `json:"allow_multiple_enrollments,omitempty"`
	CreatedAt                time.Time `json:"created_at"`
	ExpiresAt                time.Time `json:"expires_at"`
}

// PasswordlessCode is the one-time code last sent to an email address or
// phone number of a passwordless connection; only its hash is stored.
type PasswordlessCode struct {
	ID           string    `json:"id"` // <connection id>|<identifier>
	ConnectionID string    `json:"connection_id"`
	Identifier   string    `json:"identifier"` // the address or number, normalised
	ClientID     string    `json:"client_id"`
	CodeHash     []byte    `json:"code_hash,omitempty"` // nil once used
	ExpiresAt    time.Time `json:"expires_at"`
	// Attempts counts wrong codes tried against this code.
	Attempts int `json:"attempts"`
}

// RateBucket is a token bucket of requests (per user, per IP).
type RateBucket struct {
	Key       string    `json:"key"`
	Tokens    float64   `json:"tokens"`
	At        time.Time `json:"at"`         // when Tokens was computed
	ExpiresAt time.Time `json:"expires_at"` // when the bucket is full again and may go
}
