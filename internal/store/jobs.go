package store

import (
	"context"
	"encoding/json"
	"time"
)

// Job statuses, as Auth0 names them.
const (
	JobPending    = "pending"
	JobProcessing = "processing"
	JobCompleted  = "completed"
	JobFailed     = "failed"
)

// Job types, as Auth0 names them.
const (
	JobUsersImport = "users_import"
	JobUsersExport = "users_export"
	// JobVerificationEmail records a verification email sent through
	// the Management API; it is complete when created.
	JobVerificationEmail = "verification_email"
)

// Job is a long-running users import or export (Auth0's /api/v2/jobs).
// The record outlives the work: its status, summary and errors can be read
// back after it ends, on any node.
type Job struct {
	ID           string `json:"id"` // job_<16 base62>
	Type         string `json:"type"`
	Status       string `json:"status"`
	ConnectionID string `json:"connection_id"`
	Connection   string `json:"connection,omitempty"` // connection name
	ExternalID   string `json:"external_id,omitempty"`

	// Import options.
	Upsert              bool `json:"upsert,omitempty"`
	SendCompletionEmail bool `json:"send_completion_email,omitempty"`

	// Export options: format (json or csv), the fields asked for (Auth0's
	// [{name, export_as}]) and a row limit (0: all).
	Format string          `json:"format,omitempty"`
	Fields json.RawMessage `json:"fields,omitempty"`
	Limit  int             `json:"limit,omitempty"`
	// FileTokenHash is the SHA-256 of the secret in the export file's
	// download URL; the secret itself is never stored.
	FileTokenHash []byte `json:"file_token_hash,omitempty"`

	Summary JobSummary `json:"summary"`
	// Reason says why a job failed as a whole (an unreadable file, a node
	// that stopped while running it).
	Reason string `json:"reason,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	// HeartbeatAt is when the node running the job last reported progress;
	// a job in processing whose heartbeat is old was abandoned.
	HeartbeatAt time.Time `json:"heartbeat_at"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// JobSummary counts the rows of an import.
type JobSummary struct {
	Failed   int `json:"failed"`
	Updated  int `json:"updated"`
	Inserted int `json:"inserted"`
	Total    int `json:"total"`
}

// JobError is one failed row of an import: its position in the file, the
// row as given (possibly cut short) and why it failed.
type JobError struct {
	JobID  string           `json:"job_id"`
	Index  int              `json:"index"`
	User   json.RawMessage  `json:"user"`
	Errors []JobErrorDetail `json:"errors"`
}

// JobErrorDetail is one reason a row failed, in Auth0's shape.
type JobErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
}

// Jobs stores users import and export jobs, their failed rows and their
// output files.
type Jobs interface {
	// CreateJob fails with ErrConflict for a duplicate id.
	CreateJob(ctx context.Context, j *Job) error
	GetJob(ctx context.Context, id string) (*Job, error)
	UpdateJob(ctx context.Context, id string, fn func(*Job) error) (*Job, error)
	// FailAbandonedJobs marks failed, with reason, every pending or
	// processing job whose heartbeat is before before, and returns how many.
	FailAbandonedJobs(ctx context.Context, before time.Time, reason string) (int, error)
	// AddJobErrors records failed rows of a job.
	AddJobErrors(ctx context.Context, errs []*JobError) error
	// ListJobErrors returns up to limit failed rows of a job, by index.
	ListJobErrors(ctx context.Context, jobID string, limit int) ([]*JobError, error)
	// AppendJobFile adds the next chunk of a job's output file.
	AppendJobFile(ctx context.Context, jobID string, chunk []byte) error
	// ReadJobFile calls fn with each chunk of a job's output file, in order.
	// ErrNotFound when the job has no file.
	ReadJobFile(ctx context.Context, jobID string, fn func(chunk []byte) error) error
}

// ImportOutcome says what an imported row did.
type ImportOutcome int

const (
	ImportFailed ImportOutcome = iota
	ImportInserted
	ImportUpdated
)

// ImportResult is the outcome of one row of ImportUsers; Err is set when
// it failed (ErrConflict for a uniqueness rule, or merge's error).
type ImportResult struct {
	Outcome ImportOutcome
	User    *User // as written
	Err     error
}

// UserImports writes imported users in batches.
type UserImports interface {
	// ImportUsers writes a batch of users of one connection in one
	// transaction, row by row: a user matching no stored user of the
	// connection (by user_id, or by email when both have one) is
	// inserted; otherwise merge(stored, incoming) returns the user to save
	// in its place, or an error that fails that row only. A row that
	// would break a uniqueness rule fails alone. The results are in the
	// batch's order.
	ImportUsers(ctx context.Context, connectionID string, batch []*User, merge func(stored, incoming *User) (*User, error)) ([]ImportResult, error)
	// EachUser calls fn with every user of a connection, in creation
	// order, reading a bounded number at a time.
	EachUser(ctx context.Context, connectionID string, fn func(*User) error) error
}
