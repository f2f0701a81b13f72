package mgmt

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// seedLogs stores events of the given types, one minute apart from base.
func seedLogs(t *testing.T, e *testEnv, base time.Time, events ...*store.LogEvent) []*store.LogEvent {
	t.Helper()
	for i, ev := range events {
		if ev.Date.IsZero() {
			ev.Date = base.Add(time.Duration(i) * time.Minute)
		}
	}
	if err := e.store.AppendLogs(t.Context(), events); err != nil {
		t.Fatal(err)
	}
	return events
}

func logTypesOf(t *testing.T, items []any) []string {
	t.Helper()
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)["type"].(string)
	}
	return out
}

func TestLogsSearchFilterSortAndPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	seedLogs(t, e, base,
		&store.LogEvent{Type: "s", UserID: "auth0|a", ClientID: "c1", Connection: "db", Strategy: "auth0", StrategyType: "database",
			Details: json.RawMessage(`{"grant_type":"password"}`)},
		&store.LogEvent{Type: "fp", UserID: "auth0|a", ClientID: "c1", Description: "Wrong email or password."},
		&store.LogEvent{Type: "fu", ClientID: "c2", UserName: "nobody@example.com"},
		&store.LogEvent{Type: "sapi", ClientID: "admin", Description: "Create a client"},
		&store.LogEvent{Type: "s", UserID: "google-oauth2|b", ClientID: "c2", Date: base.Add(48 * time.Hour)},
	)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"s", "sapi", "fu", "fp", "s"}},
		{"sort=date:1", []string{"s", "fp", "fu", "sapi", "s"}},
		{"q=type:s", []string{"s", "s"}},
		{`q=type:"fp"`, []string{"fp"}},
		{"q=type:(fp OR fu)", []string{"fu", "fp"}},
		{`q=user_id:"auth0|a"`, []string{"fp", "s"}},
		{"q=user_id:google-oauth2|b", []string{"s"}},
		{"q=client_id:c2 AND type:s", []string{"s"}},
		{"q=date:[2026-03-01 TO 2026-03-01]", []string{"sapi", "fu", "fp", "s"}},
		{"q=date:[2026-03-01T10:01:00Z TO 2026-03-01T10:02:00.000Z]", []string{"fu", "fp"}},
		{"q=date:[2026-03-02 TO *]", []string{"s"}},
		{"q=type:s AND date:[* TO 2026-03-02]", []string{"s"}},
		{"per_page=2&page=1", []string{"fu", "fp"}},
		{"per_page=2&page=3", []string{}},
	}
	for _, c := range cases {
		items := e.do(t, "GET", "/api/v2/logs?"+strings.ReplaceAll(c.query, " ", "%20"), nil, 200).list(t)
		if got := logTypesOf(t, items); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: types %v, want %v", c.query, got, c.want)
		}
	}

	// include_totals wraps the page; the total counts every match.
	page := e.do(t, "GET", "/api/v2/logs?include_totals=true&per_page=1&q=type:s", nil, 200).obj(t)
	if page["total"] != float64(2) || page["length"] != float64(1) || page["limit"] != float64(1) || page["start"] != float64(0) {
		t.Errorf("totals page %v", page)
	}

	// The wire shape: _id and log_id, ISO date with milliseconds,
	// isMobile always present, details as an object.
	one := e.do(t, "GET", "/api/v2/logs?sort=date:1&per_page=1", nil, 200).list(t)[0].(map[string]any)
	id, _ := one["log_id"].(string)
	if id == "" || one["_id"] != id || one["date"] != "2026-03-01T10:00:00.000Z" || one["isMobile"] != false ||
		one["strategy_type"] != "database" || one["connection"] != "db" {
		t.Errorf("event %v", one)
	}
	if d, _ := one["details"].(map[string]any); d["grant_type"] != "password" {
		t.Errorf("details %v", one["details"])
	}
	got := e.do(t, "GET", "/api/v2/logs/"+id, nil, 200).obj(t)
	if !reflect.DeepEqual(got, one) {
		t.Errorf("GET /logs/%s = %v, want %v", id, got, one)
	}
	// fields selects what is shown.
	sel := e.do(t, "GET", "/api/v2/logs/"+id+"?fields=type,log_id", nil, 200).obj(t)
	if len(sel) != 2 || sel["type"] != "s" {
		t.Errorf("fields: %v", sel)
	}
	e.call(t, adminToken, "GET", "/api/v2/logs/90020990101000000000000000000", nil).wantError(t, 404, "inexistent_log", "")

	// A user's logs.
	items := e.do(t, "GET", "/api/v2/users/"+url.PathEscape("auth0|a")+"/logs", nil, 200).list(t)
	if got := logTypesOf(t, items); !reflect.DeepEqual(got, []string{"fp", "s"}) {
		t.Errorf("user logs %v", got)
	}
	tot := e.do(t, "GET", "/api/v2/users/"+url.PathEscape("auth0|a")+"/logs?include_totals=true&sort=date:1", nil, 200).obj(t)
	if tot["total"] != float64(2) || logTypesOf(t, tot["logs"].([]any))[0] != "s" {
		t.Errorf("user logs with totals %v", tot)
	}
}

func TestLogsCheckpointPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var evs []*store.LogEvent
	for range 7 {
		evs = append(evs, &store.LogEvent{Type: "s"})
	}
	seedLogs(t, e, base, evs...)
	var seen []string
	path := "/api/v2/logs?from=&take=3"
	for range 5 {
		r := e.do(t, "GET", path, nil, 200)
		items := r.list(t)
		link := r.header.Get("Link")
		next, ok := strings.CutPrefix(link, "<"+testIssuer)
		next, ok2 := strings.CutSuffix(next, `>; rel="next"`)
		if !ok || !ok2 {
			t.Fatalf("Link %q", link)
		}
		if len(items) == 0 {
			if "/"+next != path {
				t.Errorf("empty page: next %q, want the same URL %q", next, path)
			}
			break
		}
		for _, it := range items {
			seen = append(seen, it.(map[string]any)["log_id"].(string))
		}
		path = "/" + next
	}
	want := make([]string, len(evs))
	for i, ev := range evs {
		want[i] = ev.LogID
	}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("checkpoint pages gave %v, want %v", seen, want)
	}
	// take alone starts at the oldest; other parameters are ignored.
	items := e.do(t, "GET", "/api/v2/logs?take=2&q=type:nothing&sort=nonsense", nil, 200).list(t)
	if len(items) != 2 || items[0].(map[string]any)["log_id"] != want[0] {
		t.Errorf("take alone: %v", items)
	}
}

func TestLogsRefuseWhatTheyDoNotSupport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, q := range []string{
		"q=type:s OR type:fp", "q=NOT type:s", "q=type:f*", "q=user_name:ann", "q=type:s AND type:fp",
		"q=date:{2026-01-01 TO 2026-02-01}", "q=date:[2026-02-01 TO 2026-01-01]", "q=date:[yesterday TO *]",
		`q=user_id:"unterminated`, "q=type:(s OR )", "q=type", "sort=type:1", "sort=date", "per_page=101",
		"page=20&per_page=50", "take=101", "take=0", "from=abc", "include_totals=maybe",
	} {
		r := e.call(t, adminToken, "GET", "/api/v2/logs?"+strings.ReplaceAll(q, " ", "%20"), nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", q, r.status, r.body)
			continue
		}
		r.wantError(t, 400, "invalid_query_string", "")
	}
	// Scopes: read:logs or read:logs_users; nothing else.
	for _, c := range []struct {
		scopes []string
		want   int
	}{{[]string{"read:logs"}, 200}, {[]string{"read:logs_users"}, 200}, {[]string{"read:users"}, 403}} {
		tok := e.token(c.scopes...)
		for _, p := range []string{"/api/v2/logs", "/api/v2/users/auth0%7Cx/logs"} {
			if r := e.call(t, tok, "GET", p, nil); r.status != c.want {
				t.Errorf("%v %s: status %d, want %d", c.scopes, p, r.status, c.want)
			}
		}
	}
}

func TestParseLogQuery(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	cases := []struct {
		q    string
		want store.LogQuery
	}{
		{"", store.LogQuery{}},
		{"type:fp", store.LogQuery{Types: []string{"fp"}}},
		{"type:(fp OR fu OR fp)", store.LogQuery{Types: []string{"fp", "fu"}}},
		{`user_id:"auth0|1 2" AND client_id:abc`, store.LogQuery{UserID: "auth0|1 2", ClientID: "abc"}},
		{"date:[2026-01-01 TO 2026-01-02]", store.LogQuery{From: day("2026-01-01"), To: day("2026-01-03").Add(-time.Microsecond)}},
		{`date:["2026-01-01T00:00:00Z" TO *]`, store.LogQuery{From: day("2026-01-01")}},
	}
	for _, c := range cases {
		got, err := parseLogQuery(c.q)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseLogQuery(%q) = %+v, %v; want %+v", c.q, got, err, c.want)
		}
	}
}

func FuzzParseLogQuery(f *testing.F) {
	for _, s := range []string{"type:fp", "type:(a OR b)", `user_id:"x"`, "date:[2026-01-01 TO *]", "a:b AND c:d", "type:(", `user_id:"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		lq, err := parseLogQuery(q)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("error %T %v is not an API error", err, err)
			}
			return
		}
		if !lq.From.IsZero() && !lq.To.IsZero() && lq.To.Before(lq.From) {
			t.Fatalf("%q: range ends before it starts", q)
		}
		for _, typ := range lq.Types {
			if typ == "" {
				t.Fatalf("%q: empty type", q)
			}
		}
	})
}
