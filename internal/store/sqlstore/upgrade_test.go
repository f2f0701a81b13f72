package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// A PostgreSQL database written by a gatehouse of schema version 2 (TEXT
// documents) opens, moves to JSONB, and serves and updates what it held.
func TestPostgresTextDocumentsMoveToJSONB(t *testing.T) {
	t.Parallel()
	dsn := postgresServer(t).schemas(t).fresh(t)
	if err := sqlstore.MigrateTo(t.Context(), "pgx", dsn, sqlstore.DialectPostgres, 2); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	docType := func() string {
		t.Helper()
		var typ string
		if err := raw.QueryRow(`SELECT data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'doc'`).Scan(&typ); err != nil {
			t.Fatal(err)
		}
		return typ
	}
	if typ := docType(); typ != "text" {
		t.Fatalf("version 2 keeps documents as %s, want text", typ)
	}
	// Rows as version 2 wrote them, spacing and key order included.
	for _, q := range []string{
		`INSERT INTO connections (id, name, strategy, doc) VALUES ('con_1', 'db', 'auth0',
			'{"id":"con_1","name":"db","strategy":"auth0","options":{"zeta":1, "alpha":[true,null]},"realms":["db"],"enabled_clients":["app"],"is_domain_connection":false}')`,
		`INSERT INTO users (user_id, connection_id, connection_name, email_lower, username_lower, password_hash, doc) VALUES
			('auth0|1', 'con_1', 'db', 'ann@x.test', NULL, '$2a$10$hash',
			'{"user_id":"auth0|1","email":"ann@x.test","email_verified":true,"identities":[{"connection":"db","user_id":"1","provider":"auth0","isSocial":false}],"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z","logins_count":4}')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}

	s := open(t, dsn, newSealer(t))
	if typ := docType(); typ != "jsonb" {
		t.Fatalf("after the upgrade documents are %s, want jsonb", typ)
	}
	conn, err := s.ConnectionByName(t.Context(), "db")
	if err != nil {
		t.Fatal(err)
	}
	var opts, want any
	json.Unmarshal(conn.Options, &opts)
	json.Unmarshal([]byte(`{"alpha":[true,null],"zeta":1}`), &want)
	if !reflect.DeepEqual(opts, want) || !slices.Equal(conn.EnabledClients, []string{"app"}) {
		t.Fatalf("connection after the upgrade: %+v (options %s)", conn, conn.Options)
	}
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := s.RecordLogin(t.Context(), store.Login{UserID: "auth0|1", At: at, IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByIdentifier(t.Context(), "con_1", "ANN@x.test")
	if err != nil {
		t.Fatal(err)
	}
	if u.LoginsCount != 5 || u.LastIP != "192.0.2.1" || u.LastLogin == nil || !u.LastLogin.Equal(at) ||
		!u.EmailVerified || u.PasswordHash != "$2a$10$hash" || len(u.Identities) != 1 {
		t.Fatalf("user after the upgrade and a login: %+v", u)
	}
}

// RecordLogin writes three fields of the user document by name, in SQL; the
// names must be the store.User tags, or logins would land beside them.
func TestRecordLoginWritesTheUserDocumentsFieldNames(t *testing.T) {
	t.Parallel()
	tags := map[string]bool{}
	ut := reflect.TypeFor[store.User]()
	for i := range ut.NumField() {
		name, _, _ := strings.Cut(ut.Field(i).Tag.Get("json"), ",")
		tags[name] = true
	}
	for _, f := range sqlstore.DocFields {
		if !tags[f] {
			t.Errorf("RecordLogin writes %q, which no store.User field is stored as", f)
		}
	}
}

// Families written before the expiry column existed take their expiry from
// their documents, so the clean-up finds them too.
func TestExistingFamiliesGetTheirExpiry(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	for _, tc := range []struct {
		dialect, driver string
		dsn             func(t *testing.T) string
	}{
		{sqlstore.DialectSQLite, "sqlite", sqlitePath},
		{sqlstore.DialectPostgres, "pgx", func(t *testing.T) string { return postgresServer(t).schemas(t).fresh(t) }},
	} {
		t.Run(tc.dialect, func(t *testing.T) {
			t.Parallel()
			dsn := tc.dsn(t)
			if err := sqlstore.MigrateTo(t.Context(), tc.driver, dsn, tc.dialect, 3); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open(tc.driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			zero := time.Time{}.Format(time.RFC3339Nano)
			for _, f := range []struct{ id, absolute, idle string }{
				{"absolute-passed", now.Add(-time.Hour).Format(time.RFC3339Nano), zero},
				{"idle-passed", now.Add(time.Hour).Format(time.RFC3339Nano), now.Add(-time.Minute).Format(time.RFC3339Nano)},
				{"live", now.Add(time.Hour).Format(time.RFC3339Nano), now.Add(time.Minute).Format(time.RFC3339Nano)},
				{"never", zero, zero},
			} {
				doc := `{"id":"` + f.id + `","client_id":"c1","user_id":"auth0|1","audience":"a","scope":null,"rotating":true,"current":null,` +
					`"previous_used_at":"` + zero + `","created_at":"` + zero + `","expires_at":"` + f.absolute + `","idle_expires_at":"` + f.idle +
					`","last_exchanged_at":"` + zero + `"}`
				if _, err := raw.Exec(`INSERT INTO refresh_families (id, user_id, client_id, audience, doc) VALUES ($1, 'auth0|1', 'c1', 'a', $2)`, f.id, doc); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			s := open(t, dsn, newSealer(t))
			if n, err := s.DeleteExpiredRefreshFamilies(t.Context(), now, 100); err != nil || n != 2 {
				t.Fatalf("DeleteExpiredRefreshFamilies = %d, %v; want 2", n, err)
			}
			fams, err := s.ListRefreshFamilies(t.Context(), "auth0|1", "")
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, f := range fams {
				left = append(left, f.ID)
			}
			if !slices.Equal(left, []string{"live", "never"}) {
				t.Fatalf("families left: %v", left)
			}
		})
	}
}

// Two nodes on one PostgreSQL database: while one holds the clean-up lock,
// the other's round does not run.
func TestHousekeepingLockSpansNodes(t *testing.T) {
	t.Parallel()
	dsn := postgresServer(t).schemas(t).fresh(t)
	a, b := open(t, dsn, newSealer(t)), open(t, dsn, newSealer(t))
	held, err := a.Exclusive(t.Context(), func(ctx context.Context) error {
		other, err := b.Exclusive(ctx, func(context.Context) error { return nil })
		if other || err != nil {
			t.Errorf("node b: ok = %v, err = %v while node a holds the lock", other, err)
		}
		return nil
	})
	if !held || err != nil {
		t.Fatalf("node a: %v, %v", held, err)
	}
	if ok, err := b.Exclusive(t.Context(), func(context.Context) error { return nil }); !ok || err != nil {
		t.Fatalf("node b after a released: %v, %v", ok, err)
	}
}
