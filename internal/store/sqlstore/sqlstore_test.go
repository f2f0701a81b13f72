package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/cache"
	"github.com/gatehouse/gatehouse/internal/store/conformance"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/migrations"
)

const defaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func newSealer(t testing.TB) store.Sealer {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	s, err := seal.New(master)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t testing.TB, dsn string, sealer store.Sealer) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), dsn, sealer)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sqlitePath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "gatehouse.db")
}

// pgServer creates a database per test on the PostgreSQL server named by
// GATEHOUSE_TEST_POSTGRES.
type pgServer struct {
	admin *sql.DB
	base  *url.URL
	mu    sync.Mutex // one CREATE DATABASE at a time: they copy template1
}

// postgresServer connects to the test server, or skips the test when it is
// unreachable (fails instead under CI).
func postgresServer(t testing.TB) *pgServer {
	t.Helper()
	dsn := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if dsn == "" {
		dsn = defaultPostgresDSN
	}
	base, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	admin, err := sql.Open("pgx", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s unreachable: %v", base.Redacted(), err)
		}
		t.Skipf("PostgreSQL at %s unreachable: %v", base.Redacted(), err)
	}
	t.Cleanup(func() { admin.Close() })
	return &pgServer{admin: admin, base: base}
}

// schemas hands out empty schemas of one database: a store opened on one
// sees only its own tables, and a schema costs far less to make than a
// database (which copies template1 and is made one at a time).
type schemas struct {
	db  *sql.DB
	dsn string
}

// schemas creates a database, dropped when t ends, to hand schemas out of.
func (p *pgServer) schemas(t *testing.T) *schemas {
	t.Helper()
	dsn := p.newDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &schemas{db: db, dsn: dsn}
}

// fresh creates an empty schema and returns a DSN that puts it first on
// the search path.
func (s *schemas) fresh(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "s_" + hex.EncodeToString(b)
	if _, err := s.db.ExecContext(t.Context(), "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, _ := url.Parse(s.dsn)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// newDatabase creates an empty database, dropped when t ends, and returns
// its DSN.
func (p *pgServer) newDatabase(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	name := "gatehouse_test_" + hex.EncodeToString(b)
	p.mu.Lock()
	_, err := p.admin.ExecContext(t.Context(), "CREATE DATABASE "+name)
	p.mu.Unlock()
	if err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := p.admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u := *p.base
	u.Path = "/" + name
	return u.String()
}

// conformanceOver runs the suite over the bare backend and over the
// configuration cache in front of it, which is what production uses.
func conformanceOver(t *testing.T, dsn func(t *testing.T) string) {
	t.Run("bare", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) store.Store { return open(t, dsn(t), newSealer(t)) })
	})
	t.Run("cached", func(t *testing.T) {
		conformance.Run(t, func(t *testing.T) store.Store {
			return cache.New(t.Context(), open(t, dsn(t), newSealer(t)), slog.New(slog.DiscardHandler))
		})
	})
}

func TestConformanceSQLite(t *testing.T) {
	t.Parallel()
	conformanceOver(t, sqlitePath)
}

func TestConformancePostgres(t *testing.T) {
	t.Parallel()
	conformanceOver(t, postgresServer(t).schemas(t).fresh)
}

// backends opens fresh stores of each dialect; a test runs once per entry.
func backends() []struct {
	name string
	dsn  func(t *testing.T) string
} {
	return []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", sqlitePath},
		{"postgres", func(t *testing.T) string { return postgresServer(t).newDatabase(t) }},
	}
}

func TestDialectNamesTheBackend(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if got := open(t, b.dsn(t), newSealer(t)).Dialect(); got != b.name {
				t.Fatalf("Dialect() = %q, want %q", got, b.name)
			}
		})
	}
}

func TestOpenRejectsBadDSNs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dsn, wantInErr string
	}{
		{"mysql://root@localhost/db", `unsupported DSN scheme "mysql"`},
		{"redis:thing", `unsupported DSN scheme "redis"`},
		{"", "empty DSN"},
		{"sqlite::memory:", "not a file path"},
		{"sqlite:", "not a file path"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			s, err := sqlstore.Open(t.Context(), tc.dsn, newSealer(t))
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", tc.dsn)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("Open(%q) error = %q, want it to mention %q", tc.dsn, err, tc.wantInErr)
			}
		})
	}
}

func TestOpenCreatesSQLiteFileFromEveryDSNForm(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, dsn, file string
	}{
		{"plain path", filepath.Join(dir, "plain.db"), filepath.Join(dir, "plain.db")},
		{"sqlite: prefix", "sqlite:" + filepath.Join(dir, "prefixed.db"), filepath.Join(dir, "prefixed.db")},
		{"odd characters", filepath.Join(dir, "a?b#c%20d.db"), filepath.Join(dir, "a?b#c%20d.db")},
		{"colon in file name", "sqlite:" + filepath.Join(dir, "x:y.db"), filepath.Join(dir, "x:y.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, tc.dsn, newSealer(t))
			if s.Dialect() != "sqlite" {
				t.Fatalf("Dialect() = %q", s.Dialect())
			}
			if _, err := os.Stat(tc.file); err != nil {
				t.Fatalf("database file: %v", err)
			}
		})
	}
}

func TestOpenRelativeSQLitePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	open(t, "data.db", newSealer(t))
	if _, err := os.Stat(filepath.Join(dir, "data.db")); err != nil {
		t.Fatal(err)
	}
}

// rawSQLite opens the file directly, bypassing the store.
func rawSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type migrationRow struct{ version, appliedAt int64 }

func migrationRows(t *testing.T, db *sql.DB) []migrationRow {
	t.Helper()
	rows, err := db.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []migrationRow
	for rows.Next() {
		var r migrationRow
		if err := rows.Scan(&r.version, &r.appliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReopeningSQLiteKeepsDataAndSkipsAppliedMigrations(t *testing.T) {
	t.Parallel()
	path, sealer := sqlitePath(t), newSealer(t)
	ctx := t.Context()

	s, err := sqlstore.Open(ctx, path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Client{ClientID: "c1", ClientSecret: "s3cret", Name: "kept"}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := migrationRows(t, rawSQLite(t, path))
	ms, err := migrations.Load(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", len(before), len(ms))
	}

	s2 := open(t, path, sealer)
	got, err := s2.GetClient(ctx, "c1")
	if err != nil {
		t.Fatalf("client after reopen: %v", err)
	}
	if got.Name != "kept" || got.ClientSecret != "s3cret" {
		t.Fatalf("client after reopen = %+v", got)
	}
	if after := migrationRows(t, rawSQLite(t, path)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("schema_migrations changed on reopen: %v, was %v", after, before)
	}
}

func TestConcurrentOpensMigrateOnceAndCreateOneKeySet(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			dsn, sealer := b.dsn(t), newSealer(t)
			// Two nodes start at once against one empty database.
			const nodes = 2
			stores := make([]*sqlstore.Store, nodes)
			errs := make([]error, nodes)
			var wg sync.WaitGroup
			for i := range nodes {
				wg.Go(func() { stores[i], errs[i] = sqlstore.Open(t.Context(), dsn, sealer) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("node %d: Open: %v", i, err)
				}
				t.Cleanup(func() { stores[i].Close() })
			}
			for i, s := range stores {
				wg.Go(func() {
					err := s.ReplaceSigningKeys(t.Context(), func(old []*store.SigningKey) ([]*store.SigningKey, error) {
						if len(old) > 0 {
							return old, nil
						}
						time.Sleep(50 * time.Millisecond)
						return []*store.SigningKey{{KID: fmt.Sprintf("node-%d", i), Alg: "RS256", PrivateKeyDER: []byte{1, 2, 3}}}, nil
					})
					if err != nil {
						t.Errorf("node %d: ReplaceSigningKeys: %v", i, err)
					}
				})
			}
			wg.Wait()
			for i, s := range stores {
				keys, err := s.ListSigningKeys(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if len(keys) != 1 {
					t.Fatalf("node %d sees %d keys, want 1", i, len(keys))
				}
			}
		})
	}
}

// recordingSealer remembers the aad of every Seal call.
type recordingSealer struct {
	store.Sealer
	mu   sync.Mutex
	aads []string
}

func (r *recordingSealer) Seal(p []byte, aad string) ([]byte, error) {
	r.mu.Lock()
	r.aads = append(r.aads, aad)
	r.mu.Unlock()
	return r.Sealer.Seal(p, aad)
}

// secretFixtures writes one record of each kind that holds a secret, plus
// a marker that is stored in plaintext, to prove the raw scan can see data.
func secretFixtures(t *testing.T, s store.Store) (secrets [][]byte, marker string) {
	t.Helper()
	ctx := t.Context()
	clientSecret := "client-secret-PLAINTEXT-1234567890"
	apiSecret := "api-signing-secret-PLAINTEXT-0987654321"
	der := make([]byte, 128)
	rand.Read(der)
	marker = "visible-marker-name-5551212"
	if err := s.CreateClient(ctx, &store.Client{ClientID: "cid", ClientSecret: clientSecret, Name: marker}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateResourceServer(ctx, &store.ResourceServer{ID: "rsid", Identifier: "https://api.test", SigningSecret: apiSecret}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSigningKeys(ctx, func([]*store.SigningKey) ([]*store.SigningKey, error) {
		return []*store.SigningKey{{KID: "kid1", Alg: "RS256", PrivateKeyDER: der}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	bindPassword := "ldap-bind-PLAINTEXT-24681357"
	upstreamSecret := "upstream-client-PLAINTEXT-13572468"
	if err := s.CreateConnection(ctx, &store.Connection{ID: "con_s", Name: "corp", Strategy: "ad",
		Options: []byte(`{"url":"ldap://x","bind_password":"` + bindPassword + `","client_secret":"` + upstreamSecret + `"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateConnection(ctx, "con_s", func(*store.Connection) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Updates write the secrets again.
	if _, err := s.UpdateClient(ctx, "cid", func(*store.Client) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateResourceServer(ctx, "rsid", func(*store.ResourceServer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// A refresh family's connector data (an upstream refresh token), at
	// creation, at a login's insert and at a rotation.
	upstreamRefresh := "upstream-refresh-PLAINTEXT-97531864"
	fam := &store.RefreshFamily{ID: "fam_s", ClientID: "cid", UserID: "waad|1", ConnectorData: []byte(upstreamRefresh)}
	if err := s.CreateRefreshFamily(ctx, fam); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRefreshFamily(ctx, fam); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRefreshFamily(ctx, "fam_s"); err != nil || string(got.ConnectorData) != upstreamRefresh {
		t.Fatalf("connector data read back: %+v (%v)", got, err)
	}
	// The same, paused for a second factor.
	upstreamRefreshMFA := "upstream-refresh-mfa-PLAINTEXT-8642"
	if err := s.CreateMFATransaction(ctx, &store.MFATransaction{ID: "tx_s", UserID: "waad|1", ClientID: "cid",
		ExpiresAt: time.Now().Add(time.Hour), ConnectorData: []byte(upstreamRefreshMFA)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetMFATransaction(ctx, "tx_s"); err != nil || string(got.ConnectorData) != upstreamRefreshMFA {
		t.Fatalf("transaction's connector data read back: %+v (%v)", got, err)
	}
	return [][]byte{[]byte(clientSecret), []byte(apiSecret), der, []byte(bindPassword), []byte(upstreamSecret),
		[]byte(upstreamRefresh), []byte(upstreamRefreshMFA)}, marker
}

// checkAbsent fails if any secret appears in raw, as bytes, base64 or hex.
func checkAbsent(t *testing.T, raw []byte, secrets [][]byte, marker string) {
	t.Helper()
	if !bytes.Contains(raw, []byte(marker)) {
		t.Fatalf("raw data does not contain the plaintext marker %q: the scan sees nothing", marker)
	}
	for i, sec := range secrets {
		for _, form := range [][]byte{
			sec,
			[]byte(base64.StdEncoding.EncodeToString(sec)),
			[]byte(base64.RawURLEncoding.EncodeToString(sec)),
			[]byte(hex.EncodeToString(sec)),
		} {
			if bytes.Contains(raw, form) {
				t.Errorf("secret %d is stored in plaintext", i)
			}
		}
	}
}

func TestSecretsAreSealedAtRestSQLite(t *testing.T) {
	t.Parallel()
	path := sqlitePath(t)
	s := open(t, path, newSealer(t))
	secrets, marker := secretFixtures(t, s)
	// Read while open, so the WAL still holds recent pages.
	var raw []byte
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw = append(raw, b...)
	}
	checkAbsent(t, raw, secrets, marker)
}

func TestSecretsAreSealedAtRestPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresServer(t).newDatabase(t)
	s := open(t, dsn, newSealer(t))
	secrets, marker := secretFixtures(t, s)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw bytes.Buffer
	for _, table := range []string{"clients", "resource_servers", "signing_keys"} {
		var text string
		if err := db.QueryRow(`SELECT string_agg(t::text, E'\n') FROM ` + table + ` t`).Scan(&text); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		raw.WriteString(text)
		// Bytea columns as raw bytes too.
		var secret []byte
		col := "secret"
		if table == "signing_keys" {
			col = "private_key"
		}
		if err := db.QueryRow(`SELECT ` + col + ` FROM ` + table).Scan(&secret); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		raw.Write(secret)
	}
	for _, table := range []string{"refresh_families", "mfa_transactions"} {
		var text string
		if err := db.QueryRow(`SELECT string_agg(t::text, E'\n') FROM ` + table + ` t`).Scan(&text); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		raw.WriteString(text)
	}
	checkAbsent(t, raw.Bytes(), secrets, marker)
}

func TestSecretsAreSealedForTheirRow(t *testing.T) {
	t.Parallel()
	path := sqlitePath(t)
	sealer := &recordingSealer{Sealer: newSealer(t)}
	s := open(t, path, sealer)
	secretFixtures(t, s)
	seen := map[string]bool{}
	for _, aad := range sealer.aads {
		seen[aad] = true
	}
	for _, want := range []string{"client_secret:cid", "signing_secret:rsid", "signing_key:kid1"} {
		if !seen[want] {
			t.Errorf("no secret sealed with aad %q (got %v)", want, sealer.aads)
		}
	}

	// A sealed secret copied to another row does not open there.
	ctx := t.Context()
	if err := s.CreateClient(ctx, &store.Client{ClientID: "other", ClientSecret: "other-secret"}); err != nil {
		t.Fatal(err)
	}
	raw := rawSQLite(t, path)
	if _, err := raw.Exec(`UPDATE clients SET secret = (SELECT secret FROM clients WHERE client_id = 'cid') WHERE client_id = 'other'`); err != nil {
		t.Fatal(err)
	}
	if c, err := s.GetClient(ctx, "other"); err == nil {
		t.Fatalf("GetClient with a swapped secret succeeded: secret %q", c.ClientSecret)
	}
}

// TestMaxConnsBoundsThePostgresPool: WithMaxConns (--db-max-conns) caps the
// connections a node opens however many requests arrive at once.
func TestMaxConnsBoundsThePostgresPool(t *testing.T) {
	t.Parallel()
	dsn := postgresServer(t).newDatabase(t)
	s, err := sqlstore.Open(t.Context(), dsn, newSealer(t), sqlstore.WithMaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.GetTenantSettings(t.Context()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, _ := url.Parse(dsn)
	var n int
	if err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
		strings.TrimPrefix(u.Path, "/")).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n < 1 || n > 2 {
		t.Fatalf("the store holds %d connections after 40 concurrent reads, want 1 or 2", n)
	}
}
