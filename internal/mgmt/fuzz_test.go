package mgmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/input"
)

// isRefusal fails t unless err is an API error with a 4xx status: what
// the client sent is never a 500.
func isRefusal(t *testing.T, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Status > 499 {
		t.Fatalf("error %T %v is not a 4xx API error", err, err)
	}
}

func FuzzParseUserQuery(f *testing.F) {
	for _, s := range []string{`email:"ann@example.com"`, `user_id:"auth0|1" AND identities.connection:"db"`, `email:ann@example.com`,
		`email:"`, `name:x`, `email:a*`, ` AND `, `connection:"a" AND email:"b" AND user_id:"c"`, `email:"a"b"`} {
		f.Add(s, "")
	}
	f.Add("", "Username-Password-Authentication")
	f.Fuzz(func(t *testing.T, q, connection string) {
		s, err := parseUserQuery(url.Values{"q": {q}, "connection": {connection}})
		if err != nil {
			isRefusal(t, err)
			return
		}
		for _, v := range []string{s.query.Email, s.userID} {
			if strings.ContainsAny(v, `*?"()`) || !strings.Contains(q, v) {
				t.Fatalf("%q selected %q", q, v)
			}
		}
		if s.query.Connection != connection && !strings.Contains(q, s.query.Connection) {
			t.Fatalf("%q, %q: connection %q", q, connection, s.query.Connection)
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{"page=0&per_page=50&include_totals=true", "page=-1", "per_page=1e9", "include_totals=maybe",
		"fields=name,client_id&include_fields=false", "from=10&take=5", "take=0", "page=9999999999999999999999", "fields=,,%2C"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, checkpoint bool) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the server refuses such a query before any handler
		}
		lq, err := parseListQuery(q, checkpoint)
		if err != nil {
			isRefusal(t, err)
			return
		}
		if lq.page < 0 || lq.page > 1<<20 || lq.perPage < 1 || lq.perPage > maxPerPage || lq.from < 0 || lq.take < 1 || lq.take > maxPerPage {
			t.Fatalf("%q: out of bounds %+v", raw, lq)
		}
		if lq.checkpoint && !checkpoint {
			t.Fatalf("%q: checkpoint paging where none is offered", raw)
		}
		for _, f := range lq.fields {
			if f == "" || strings.TrimSpace(f) != f {
				t.Fatalf("%q: field %q", raw, f)
			}
		}
		if err := checkSort(q.Get("sort")); err != nil {
			isRefusal(t, err)
		}
	})
}

// FuzzCheckBody: the edge check of every body either refuses it with a 4xx
// or lets through JSON text (an object or an array) a route can read again,
// unchanged.
func FuzzCheckBody(f *testing.F) {
	for _, c := range []struct{ ctype, body string }{
		{"application/json", `{"name":"x"}`}, {"application/json", `[1,2]`}, {"application/json", `{`}, {"", `{}`},
		{"application/json; charset=UTF-8", `{"a":{"b":[null,true,1e5]}}`}, {"application/json; charset=utf-16", `{}`},
		{"text/plain", `{}`}, {"application/json", `"x"`}, {"application/json", "{\"a\":\"\xff\"}"}, {"application/json", `{"a":1,"a":2}`},
		{"application/json", `{"a":"\u0000"}`}, {"application/json", "\ufeff{}"}, {";;", ""}, {"application/json", " \n "},
	} {
		f.Add(c.ctype, []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		r := httptest.NewRequest("POST", "/api/v2/clients", bytes.NewReader(body))
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, maxBodyBytes)
		err := checkBody(r)
		if err != nil {
			isRefusal(t, err)
			return
		}
		again, _ := io.ReadAll(r.Body)
		if !bytes.Equal(again, body) {
			t.Fatalf("the route reads %q, not %q", again, body)
		}
		b := bytes.TrimSpace(body)
		if len(b) == 0 {
			return
		}
		if !json.Valid(b) || (b[0] != '{' && b[0] != '[') || input.CheckJSON(b) != nil {
			t.Fatalf("%q (%q) let through", body, ctype)
		}
	})
}
