package sqlstore_test

import (
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
