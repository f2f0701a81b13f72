// Package tenantlog makes the tenant's log durable: Buffer is an
// events.Emitter that keeps events in a bounded queue and writes them to
// the store in batches on its own goroutine, so an event never adds a
// database write to the request that caused it. A full queue is counted
// and reported, never waited on. After each batch is stored it can also be
// streamed as JSON lines (stdout or a file) for log shippers.
//
// This package also owns the Auth0 wire shape of a log event (View), the
// one both the Management API and the stream render.
package tenantlog

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/store"
)

// maxField bounds every text field of a stored event: they come from
// requests (user agents, identifiers typed at a login).
const maxField = 512

// Detail keys never stored, whatever an emitter put there: a second line
// of defence behind the emitters, which leave secrets out. A key holding
// one of secretWords anywhere is dropped, and so is one of secretNames.
var (
	secretWords = []string{"password", "secret", "token", "assertion", "authorization", "cookie", "hash"}
	secretNames = []string{"code", "otp", "oob_code", "binding_code", "recovery_code", "ticket"}
)

// Record turns an emitted event into the stored entry: text made safe to
// store, the strategy's type, the tenant's hostname and the details as a
// JSON object without any secret-looking key.
func Record(e events.Event, hostname string, now time.Time) *store.LogEvent {
	date := e.Date
	if date.IsZero() {
		date = now
	}
	r := &store.LogEvent{
		Date: date.UTC(), Type: clean(e.Type), Description: clean(e.Description),
		ClientID: clean(e.ClientID), ClientName: clean(e.ClientName), IP: clean(e.IP),
		UserAgent: clean(e.UserAgent), Hostname: clean(hostname), UserID: clean(e.UserID),
		UserName: clean(e.UserName), Connection: clean(e.Connection), ConnectionID: clean(e.ConnectionID),
		Strategy: clean(e.Strategy), StrategyType: StrategyType(e.Strategy),
		Audience: clean(e.Audience), Scope: clean(e.Scope), IsMobile: IsMobile(e.UserAgent),
	}
	if d := safeDetails(e.Details); len(d) > 0 {
		if b, err := json.Marshal(d); err == nil {
			r.Details = b
		}
	}
	return r
}

// clean makes s storable as text in either database (valid UTF-8, no NUL)
// and bounds its length.
func clean(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) > maxField {
		s = strings.ToValidUTF8(s[:maxField], "")
	}
	return s
}

// safeDetails copies details without keys that name a secret, recursing
// into nested objects; strings are cleaned like fields.
func safeDetails(d map[string]any) map[string]any {
	if len(d) == 0 {
		return nil
	}
	out := make(map[string]any, len(d))
	for k, v := range d {
		if secretKey(k) {
			continue
		}
		switch x := v.(type) {
		case string:
			out[clean(k)] = clean(x)
		case map[string]any:
			out[clean(k)] = safeDetails(x)
		default:
			out[clean(k)] = v
		}
	}
	return out
}

func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return slices.Contains(secretNames, k)
}

// StrategyType is Auth0's strategy_type of a connection strategy.
func StrategyType(strategy string) string {
	switch strategy {
	case "":
		return ""
	case "auth0":
		return "database"
	case "ad", "auth0-adldap", "waad", "adfs", "oidc", "samlp", "okta", "pingfederate", "google-apps":
		return "enterprise"
	case "email", "sms":
		return "passwordless"
	}
	return "social"
}

// IsMobile guesses from a user agent whether the caller is a mobile
// device, as Auth0's isMobile does.
func IsMobile(userAgent string) bool {
	for _, m := range []string{"Mobile", "Android", "iPhone", "iPad", "iPod"} {
		if strings.Contains(userAgent, m) {
			return true
		}
	}
	return false
}

// View is a log event in Auth0's wire shape (GET /api/v2/logs and the
// stream). _id repeats log_id, as Auth0's does.
type View struct {
	ID           string          `json:"_id"`
	LogID        string          `json:"log_id"`
	Date         string          `json:"date"`
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
	IsMobile     bool            `json:"isMobile"`
	Details      json.RawMessage `json:"details,omitempty"`
}

// ViewOf renders a stored event; dates are UTC with milliseconds.
func ViewOf(e *store.LogEvent) *View {
	return &View{
		ID: e.LogID, LogID: e.LogID, Date: e.Date.UTC().Format("2006-01-02T15:04:05.000Z"), Type: e.Type,
		Description: e.Description, ClientID: e.ClientID, ClientName: e.ClientName, IP: e.IP,
		UserAgent: e.UserAgent, Hostname: e.Hostname, UserID: e.UserID, UserName: e.UserName,
		Connection: e.Connection, ConnectionID: e.ConnectionID, Strategy: e.Strategy,
		StrategyType: e.StrategyType, Audience: e.Audience, Scope: e.Scope, IsMobile: e.IsMobile,
		Details: e.Details,
	}
}
