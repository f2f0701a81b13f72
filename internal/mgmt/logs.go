package mgmt

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenantlog"
)

// Logs: the tenant's log, read-only. Events are written by the durable
// emitter (internal/tenantlog); these endpoints search them, page through
// them and follow them by checkpoint.

// maxLogTake bounds checkpoint pages, as Auth0's take.
const maxLogTake = 100

func viewLog(e *store.LogEvent) any { return tenantlog.ViewOf(e) }

// listLogs serves GET /api/v2/logs: by checkpoint when from or take is
// given (every other parameter is then ignored, as in Auth0), else a
// search with q, sort and offset paging.
func (h *handler) listLogs(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	if q.Has("from") || q.Has("take") {
		return h.logsByCheckpoint(w, r, q)
	}
	search, err := parseLogQuery(q.Get("q"))
	if err != nil {
		return err
	}
	return h.searchLogs(w, r, search)
}

// userLogs serves GET /api/v2/users/{id}/logs.
func (h *handler) userLogs(w http.ResponseWriter, r *http.Request, p Principal) error {
	return h.searchLogs(w, r, store.LogQuery{UserID: r.PathValue("id")})
}

func (h *handler) searchLogs(w http.ResponseWriter, r *http.Request, search store.LogQuery) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, false)
	if err != nil {
		return err
	}
	if (lq.page+1)*lq.perPage > maxOffsetResult {
		return invalidQuery("page", "You can only page through the first %d records", maxOffsetResult)
	}
	switch q.Get("sort") {
	case "", "date:-1":
	case "date:1":
		search.Ascending = true
	default:
		return invalidQuery("sort", "Logs sort by date only: date:1 or date:-1")
	}
	search.Totals = lq.totals
	logs, total, err := h.cfg.Store.ListLogs(r.Context(), search, store.Page{Page: lq.page, PerPage: lq.perPage})
	if err != nil {
		return fmt.Errorf("list logs: %w", err)
	}
	items := make([]any, 0, len(logs))
	for _, e := range logs {
		x, err := project(viewLog(e), lq)
		if err != nil {
			return err
		}
		items = append(items, x)
	}
	writePage(w, lq, "logs", items, lq.page*lq.perPage, total)
	return nil
}

// logsByCheckpoint answers a bare array of the events after from, in
// log_id order, with a Link header whose next URL continues after the
// last one (the same URL when there was none).
func (h *handler) logsByCheckpoint(w http.ResponseWriter, r *http.Request, q url.Values) error {
	from := q.Get("from")
	if len(from) > 64 || strings.Trim(from, "0123456789") != "" {
		return invalidQuery("from", "Must be a log_id")
	}
	take, err := intParam(q, "take", defaultPerPage, 1, maxLogTake)
	if err != nil {
		return err
	}
	logs, err := h.cfg.Store.LogsAfter(r.Context(), from, take)
	if err != nil {
		return fmt.Errorf("logs after %q: %w", from, err)
	}
	items := make([]any, len(logs))
	next := from
	for i, e := range logs {
		items[i] = viewLog(e)
		next = e.LogID
	}
	link := url.Values{"from": {next}, "take": {fmt.Sprint(take)}}
	w.Header().Set("Link", fmt.Sprintf(`<%sapi/v2/logs?%s>; rel="next"`, h.cfg.Issuer, link.Encode()))
	writeJSON(w, http.StatusOK, items)
	return nil
}

// getLog serves GET /api/v2/logs/{id}.
func (h *handler) getLog(w http.ResponseWriter, r *http.Request, p Principal) error {
	e, err := h.cfg.Store.GetLog(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{Status: http.StatusNotFound, Code: "inexistent_log", Message: "The log does not exist."}
	}
	if err != nil {
		return fmt.Errorf("get log: %w", err)
	}
	return writeOne(w, r, http.StatusOK, viewLog(e))
}

// parseLogQuery reads the part of Auth0's Lucene log search gatehouse
// supports: clauses joined by AND, each one of
//
//	type:fp   type:"fp"   type:(fp OR fu)
//	user_id:"auth0|123"   client_id:abc
//	date:[2026-01-01 TO 2026-01-31]   date:[2026-01-01T10:00:00Z TO *]
//
// Anything else (OR between clauses, NOT, wildcards, other fields,
// exclusive ranges) is refused with 400 rather than answered wrongly.
func parseLogQuery(raw string) (store.LogQuery, error) {
	var lq store.LogQuery
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return lq, nil
	}
	if len(raw) > 1000 {
		return lq, invalidQuery("q", "Query is too long")
	}
	seen := map[string]bool{}
	for _, clause := range strings.Split(raw, " AND ") {
		clause = strings.TrimSpace(clause)
		field, value, ok := strings.Cut(clause, ":")
		if !ok || value == "" {
			return lq, unsupportedLogQuery(clause)
		}
		if seen[field] {
			return lq, invalidQuery("q", "Field %s appears twice", printable(field))
		}
		seen[field] = true
		var err error
		switch field {
		case "type":
			lq.Types, err = logTypes(value)
		case "user_id":
			lq.UserID, err = logTerm(value)
		case "client_id":
			lq.ClientID, err = logTerm(value)
		case "date":
			lq.From, lq.To, err = logDates(value)
		default:
			return lq, invalidQuery("q", "Searching logs by %s is not supported (type, user_id, client_id, date)", printable(field))
		}
		if err != nil {
			return lq, unsupportedLogQuery(clause)
		}
	}
	return lq, nil
}

func unsupportedLogQuery(clause string) error {
	if len(clause) > 100 {
		clause = clause[:100]
	}
	return invalidQuery("q", "Unsupported query %q (use type, user_id, client_id and date:[A TO B] clauses joined by AND)", printable(clause))
}

var errLogQuery = errors.New("unsupported")

// logTerm is one value: quoted (any text but a quote or backslash) or bare
// (no spaces, quotes, wildcards or Lucene operators).
func logTerm(v string) (string, error) {
	if inner, ok := strings.CutPrefix(v, `"`); ok {
		inner, ok = strings.CutSuffix(inner, `"`)
		if !ok || inner == "" || strings.ContainsAny(inner, `"\`) {
			return "", errLogQuery
		}
		return inner, nil
	}
	if v == "" || strings.ContainsAny(v, " \t\"*?()[]{}:\\~^") || strings.ContainsAny(v[:1], "-+!") {
		return "", errLogQuery
	}
	return v, nil
}

// logTypes is a type code or a parenthesised OR of them.
func logTypes(v string) ([]string, error) {
	inner, ok := strings.CutPrefix(v, "(")
	if !ok {
		t, err := logTerm(v)
		return []string{t}, err
	}
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return nil, errLogQuery
	}
	var out []string
	for _, part := range strings.Split(inner, " OR ") {
		t, err := logTerm(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// logDates is an inclusive range [A TO B]; either end may be *. A date
// without a time covers its whole day (UTC).
func logDates(v string) (from, to time.Time, err error) {
	inner, ok := strings.CutPrefix(v, "[")
	if ok {
		inner, ok = strings.CutSuffix(inner, "]")
	}
	a, b, found := strings.Cut(inner, " TO ")
	if !ok || !found {
		return from, to, errLogQuery
	}
	if from, _, err = logDate(strings.TrimSpace(a)); err != nil {
		return from, to, err
	}
	var day bool
	if to, day, err = logDate(strings.TrimSpace(b)); err != nil {
		return from, to, err
	}
	if day {
		to = to.Add(24*time.Hour - time.Microsecond)
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, errLogQuery
	}
	return from, to, nil
}

// logDate parses one end of a date range: * (open), a day, or an
// RFC 3339 time; day says it was a day.
func logDate(s string) (t time.Time, day bool, err error) {
	s = strings.Trim(s, `"`)
	if s == "*" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false, errLogQuery
	}
	return t, false, nil
}
