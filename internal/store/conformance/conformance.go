// Package conformance is the executable form of the store.Store contract:
// one test suite that every storage backend runs.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Opener returns a fresh, empty store and registers its cleanup (Close and
// removal) with t.Cleanup. Run calls it once per test, from parallel tests,
// so it must be safe for concurrent use.
type Opener = func(t *testing.T) store.Store

// test is one conformance check against a fresh store.
type test struct {
	name string
	run  func(t *testing.T, s store.Store)
}

// Run runs the whole suite, each test on a fresh store from open. Tests run
// in parallel with each other; some also call the store concurrently.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Clients", clientTests()},
		{"ClientGrants", grantTests()},
		{"ResourceServers", resourceServerTests()},
		{"Connections", connectionTests()},
		{"Users", userTests()},
		{"RefreshFamilies", familyTests()},
		{"SigningKeys", keyTests()},
		{"Tenants", tenantTests()},
		{"Nonces", nonceTests()},
		{"Rules", ruleTests()},
		{"Actions", actionTests()},
		{"Housekeeping", housekeepingTests()},
		{"MFA", mfaTests()},
		{"Logs", logTests()},
		{"Jobs", jobTests()},
		{"UserImports", userImportTests()},
		{"SelfService", selfServiceTests()},
		{"EmailTemplates", emailTemplateTests()},
		{"Counters", counterTests()},
		{"HotPathWrites", writeTests()},
		{"Contract", contractTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, open(t))
				})
			}
		})
	}
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ok fails the test on err and returns v.
func ok[T any](t *testing.T) func(v T, err error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// wantEqual fails the test unless got and want are deeply equal. Raw JSON
// fields are compared as JSON values: a backend keeps their meaning, not
// their bytes (PostgreSQL's JSONB orders keys its own way and spaces them).
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	canonicalRaw(reflect.ValueOf(got))
	canonicalRaw(reflect.ValueOf(want))
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %s\n want %s", what, dump(got), dump(want))
	}
}

var rawType = reflect.TypeFor[json.RawMessage]()

// canonicalRaw rewrites, in place, every raw JSON value reachable from v
// through pointers, slices, maps and exported struct fields to one encoding
// of its value (keys sorted, no spaces).
func canonicalRaw(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			canonicalRaw(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				canonicalRaw(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Type() == rawType {
			if v.CanSet() && v.Len() > 0 {
				v.Set(reflect.ValueOf(canonicalJSON(v.Interface().(json.RawMessage))))
			}
			return
		}
		for i := range v.Len() {
			canonicalRaw(v.Index(i))
		}
	case reflect.Map:
		if v.Type().Elem() == rawType {
			for _, k := range v.MapKeys() {
				v.SetMapIndex(k, reflect.ValueOf(canonicalJSON(v.MapIndex(k).Interface().(json.RawMessage))))
			}
		}
	}
}

func canonicalJSON(raw json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	out, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return out
}

// dump prints pointers' targets too, so a mismatch is readable.
func dump(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice {
		out := "["
		for i := range rv.Len() {
			if i > 0 {
				out += ", "
			}
			out += dump(rv.Index(i).Interface())
		}
		return out + "]"
	}
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		return "&" + fmt.Sprintf("%+v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%+v", v)
}

// ids returns each record's id as extracted by id.
func ids[T any](items []*T, id func(*T) string) []string {
	out := make([]string, len(items))
	for i, v := range items {
		out[i] = id(v)
	}
	return out
}

func clientID(c *store.Client) string                  { return c.ClientID }
func grantID(g *store.ClientGrant) string              { return g.ID }
func resourceServerID(rs *store.ResourceServer) string { return rs.ID }
func connectionID(c *store.Connection) string          { return c.ID }
func userID(u *store.User) string                      { return u.UserID }
func familyID(f *store.RefreshFamily) string           { return f.ID }
func keyID(k *store.SigningKey) string                 { return k.KID }

// ctx is the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }
