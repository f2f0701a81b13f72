package store

import (
	"context"
	"encoding/json"
	"time"
)

// LogEvent is one entry of the tenant's log (Auth0's log event). It never
// holds a secret, a password, a code or a token: the emitters leave them
// out before an event gets here.
type LogEvent struct {
	// LogID is given by AppendLogs: 29 decimal digits, "900", the UTC time
	// of the write to the microsecond (YYYYMMDDhhmmssffffff) and a
	// six-digit sequence, so that ids sort as text in the order they were
	// written, across every node sharing the database.
	LogID        string          `json:"log_id"`
	Date         time.Time       `json:"date"`
	Type         string          `json:"type"`
	Description  string          `json:"description,omitempty"`
	ClientID     string          `json:"client_id,omitempty"`
	ClientName   string          `json:"client_name,omitempty"`
	IP           string          `json:"ip,omitempty"`
	UserAgent    string          `json:"user_agent,omitempty"`
	Hostname     string          `json:"hostname,omitempty"`
	UserID       string          `json:"user_id,omitempty"`
	UserName     string          `json:"user_name,omitempty"`
	Connection   string          `json:"connection,omitempty"`
	ConnectionID string          `json:"connection_id,omitempty"`
	Strategy     string          `json:"strategy,omitempty"`
	StrategyType string          `json:"strategy_type,omitempty"`
	Audience     string          `json:"audience,omitempty"`
	Scope        string          `json:"scope,omitempty"`
	IsMobile     bool            `json:"is_mobile,omitempty"`
	Details      json.RawMessage `json:"details,omitempty"` // a JSON object, or empty
}

// LogQuery filters a listing of the log. Empty fields do not filter.
type LogQuery struct {
	Types    []string // any of these type codes
	UserID   string
	ClientID string
	// From and To bound Date, both inclusive; the zero time leaves that
	// end open.
	From, To time.Time
	// Ascending lists oldest first; the default is newest first.
	Ascending bool
	// Totals asks ListLogs to count the matching events; without it the
	// count is -1 (counting a large log costs a scan).
	Totals bool
}

// Logs stores the tenant's log. It is written in batches off the request
// path, read by the Management API and trimmed by the retention clean-up.
type Logs interface {
	// AppendLogs stores events in one write and sets each one's LogID,
	// greater than that of every event stored before, by any node.
	AppendLogs(ctx context.Context, events []*LogEvent) error
	// GetLog returns one event, or ErrNotFound.
	GetLog(ctx context.Context, logID string) (*LogEvent, error)
	// ListLogs returns one page of the events q matches, by Date (ties by
	// LogID), and their count when q.Totals (else -1).
	ListLogs(ctx context.Context, q LogQuery, p Page) ([]*LogEvent, int, error)
	// LogsAfter returns up to take events whose LogID is greater than
	// from (every event when from is empty), in LogID order: checkpoint
	// paging, which never skips an event written after a reader passed by.
	LogsAfter(ctx context.Context, from string, take int) ([]*LogEvent, error)
	// DeleteLogsBefore deletes up to limit events dated before cutoff and
	// returns how many: the retention limit, applied in bounded batches.
	DeleteLogsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
