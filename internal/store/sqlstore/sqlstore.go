// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite, no
// cgo) and PostgreSQL (pgx through database/sql), and applies the embedded
// schema migrations when it opens a database.
//
// Every aggregate is a row holding its key and unique columns plus a JSON
// document of the record (JSONB on PostgreSQL, TEXT on SQLite), so Auth0
// fields round-trip without a column each. Raw JSON fields keep their value,
// not their bytes: JSONB orders keys its own way.
// Secrets are sealed with the store's Sealer before they are written.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/migrations"
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectSQLite   = migrations.SQLite
	DialectPostgres = migrations.Postgres
)

// sqliteBusyTimeout is how long a SQLite connection waits for another
// process's lock before failing with SQLITE_BUSY.
const sqliteBusyTimeout = 5 * time.Second

// postgresMaxConns is the size of a node's PostgreSQL pool unless
// WithMaxConns sets it: two connections per core, at least four. Each
// statement is short, so more connections than that only queue inside
// PostgreSQL: refresh grants at -c 16 on two cores ran 571/s with 4,
// 556/s with 8, 522/s with 16 and 523/s with 32 (BENCHMARKS.md).
func postgresMaxConns() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// groupCommitMax bounds the writes one SQLite commit holds, so a batch's
// transaction stays short for the writes that wait behind it.
const groupCommitMax = 64

// noncePruneInterval bounds how often UseNonce deletes expired nonces.
const noncePruneInterval = time.Minute

// Store is a SQL-backed store.Store. It is safe for concurrent use.
type Store struct {
	dialect string
	// r serves reads. w serves writes: on SQLite it holds one connection, as
	// SQLite has one writer at a time and queueing in the pool beats
	// SQLITE_BUSY retries; on PostgreSQL r and w are the same pool.
	r, w                         *sql.DB
	sealer                       store.Sealer
	now                          func() time.Time
	sqliteDriver, postgresDriver string
	// maxConns bounds the PostgreSQL pool (postgresMaxConns() when 0).
	maxConns int
	// noStmtCache opens SQLite without the statement cache (benchmarks
	// compare the two).
	noStmtCache bool
	// lastPrune is when UseNonce last deleted expired nonces (Unix microseconds).
	lastPrune atomic.Int64
	// housekeeping is the clean-up's lock on SQLite (see Exclusive).
	housekeeping sync.Mutex
	// node names this store's writes in configuration announcements
	// (PostgreSQL); dsn is where WatchConfig connects.
	node, dsn string

	clients         *table[store.Client]
	grants          *table[store.ClientGrant]
	resourceServers *table[store.ResourceServer]
	connections     *table[store.Connection]
	users           *table[store.User]
	families        *table[store.RefreshFamily]
	keys            *table[store.SigningKey]
	rules           *table[store.Rule]
	actions         *table[store.Action]
	actionVersions  *table[store.ActionVersion]
	authenticators  *table[store.Authenticator]
	mfaTxs          *table[store.MFATransaction]
	jobs            *table[store.Job]
	tickets         *table[store.Ticket]
	emailTemplates  *table[store.EmailTemplate]
	// familyWithUserSQL reads a family joined with its user.
	familyWithUserSQL string
	// lastBucketPrune is when UpdateRateBucket last deleted expired buckets
	// (Unix microseconds).
	lastBucketPrune atomic.Int64

	// group batches the token endpoint's writes on SQLite; nil on PostgreSQL.
	group *groupWriter
}

var _ store.Store = (*Store)(nil)

// Option configures Open.
type Option func(*Store)

// WithDriverNames makes Open use these database/sql driver names instead of
// "sqlite" and "pgx": tests register wrappers that count round trips.
func WithDriverNames(sqliteDriver, postgresDriver string) Option {
	return func(s *Store) { s.sqliteDriver, s.postgresDriver = sqliteDriver, postgresDriver }
}

// WithMaxConns bounds a PostgreSQL pool at n connections (n > 0).
func WithMaxConns(n int) Option {
	return func(s *Store) { s.maxConns = n }
}

// WithClock sets the clock used for nonce expiry and migration timestamps
// (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens the database named by dsn and migrates it to the current schema.
//
// dsn is a file path or "sqlite:PATH" for SQLite (the file is created when
// missing), or a "postgres://" or "postgresql://" URL for PostgreSQL. A path
// that itself starts with a scheme-like "word:" must use the sqlite: form.
func Open(ctx context.Context, dsn string, sealer store.Sealer, opts ...Option) (*Store, error) {
	if sealer == nil {
		return nil, errors.New("sqlstore: open: nil sealer")
	}
	s := &Store{sealer: sealer, now: time.Now, sqliteDriver: "sqlite", postgresDriver: "pgx"}
	for _, o := range opts {
		o(s)
	}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		err = s.openPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		err = s.openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case dsn == "":
		err = errors.New("empty DSN")
	case hasScheme(dsn):
		scheme, _, _ := strings.Cut(dsn, ":")
		err = fmt.Errorf("unsupported DSN scheme %q (want a file path, sqlite:PATH, postgres:// or postgresql://)", scheme)
	default:
		err = s.openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if err := migrate(ctx, s.w, s.dialect, s.now); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	s.initTables()
	return s, nil
}

// hasScheme reports whether dsn starts with a URL-style scheme of two or
// more characters (so a Windows drive letter is not taken for one).
func hasScheme(dsn string) bool {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok || len(scheme) < 2 {
		return false
	}
	for i, r := range scheme {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		other := r >= '0' && r <= '9' || r == '+' || r == '.' || r == '-'
		if !letter && (i == 0 || !other) {
			return false
		}
	}
	return true
}

func (s *Store) openSQLite(ctx context.Context, path string) error {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// An in-memory database would differ between the read and write pools.
		return fmt.Errorf("sqlite: %q is not a file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := createOwnerOnly(abs); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	// A file: URI lets any path through; SQLite decodes %XX escapes in it.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(abs)
	busy := fmt.Sprintf("_busy_timeout=%d", sqliteBusyTimeout.Milliseconds())
	// synchronous=FULL: a commit is on disk before it is acknowledged.
	// _txlock=immediate: write transactions take the write lock at BEGIN, so
	// a read-modify-write never fails to upgrade its lock half-way.
	open := openCached
	if s.noStmtCache {
		open = sql.Open
	}
	w, err := open(s.sqliteDriver, uri+"?"+busy+"&_journal_mode=WAL&_synchronous=FULL&_foreign_keys=1&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	// The writer connects first so the database is created and in WAL mode
	// before any reader opens it.
	if err := pingSQLite(ctx, w); err != nil {
		w.Close()
		return fmt.Errorf("sqlite: %w", err)
	}
	r, err := open(s.sqliteDriver, uri+"?"+busy+"&_foreign_keys=1&_query_only=1")
	if err != nil {
		w.Close()
		return fmt.Errorf("sqlite: %w", err)
	}
	// Each connection has its own page cache; a few per core is plenty.
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.dialect, s.r, s.w = DialectSQLite, r, w
	s.group = newGroupWriter(w, groupCommitMax)
	return nil
}

// pingSQLite makes db's first connection, waiting out SQLITE_BUSY for as
// long as the busy timeout. Switching a new file to WAL takes its exclusive
// lock, and SQLite can refuse a second process opening the file at that
// moment at once, without calling its busy handler (two nodes, or a node and
// a command, starting together on one new file).
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// isSQLiteBusy reports whether err is SQLITE_BUSY or one of its extended
// codes.
func isSQLiteBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == sqliteBusy
}

// sqliteBusy is SQLite's primary result code SQLITE_BUSY.
const sqliteBusy = 5

// createOwnerOnly creates an empty database file readable by its owner
// only, as it holds emails and password hashes. SQLite would create it 0644
// whatever the umask, and gives the WAL and shared-memory files it creates
// later the database file's mode, so this decides all three. An existing
// file keeps the mode its operator gave it.
func createOwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database file: %w", err)
	}
	return f.Close()
}

func (s *Store) openPostgres(ctx context.Context, dsn string) error {
	// Every connection carries the node's id as gatehouse.node, which the
	// configuration triggers put in their NOTIFY payload (migration 0013).
	s.node = ids.Alnum(16)
	u, err := url.Parse(dsn)
	if err != nil {
		return fmt.Errorf("postgres: parse URL: %w", err)
	}
	q := u.Query()
	q.Set(nodeSetting, s.node)
	u.RawQuery = q.Encode()
	dsn = u.String()
	s.dsn = dsn
	db, err := sql.Open(s.postgresDriver, dsn)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	// Bounded so several nodes fit in PostgreSQL's default max_connections
	// (100). No transaction here needs a second connection, so callers
	// queue instead of deadlocking.
	n := postgresMaxConns()
	if s.maxConns > 0 {
		n = s.maxConns
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("postgres: %w", err)
	}
	s.dialect, s.r, s.w = DialectPostgres, db, db
	return nil
}

// Dialect reports the database behind the store: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Close closes the database pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// beginWrite starts a read-write transaction (BEGIN IMMEDIATE on SQLite).
func (s *Store) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return tx, nil
}

// forUpdate is appended to a SELECT that is followed by an UPDATE of the same
// row in one transaction. SQLite needs none: its write transactions already
// exclude each other.
func (s *Store) forUpdate() string {
	if s.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// isUniqueViolation reports whether err is a broken UNIQUE or PRIMARY KEY
// constraint.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		code := liteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// writeErr turns a unique violation into store.ErrConflict.
func writeErr(what string, err error) error {
	if isUniqueViolation(err) {
		return fmt.Errorf("%s: %w", what, store.ErrConflict)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *Store) initTables() {
	s.clients = clientTable(s)
	s.grants = grantTable(s)
	s.resourceServers = resourceServerTable(s)
	s.connections = connectionTable(s)
	s.users = userTable(s)
	s.jobs = jobTable(s)
	s.families = familyTable(s)
	s.familyWithUserSQL = familyWithUserSQL(s.families, s.users)
	s.keys = keyTable(s)
	s.rules = ruleTable(s)
	s.actions = actionTable(s)
	s.actionVersions = actionVersionTable(s)
	s.authenticators = authenticatorTable(s)
	s.mfaTxs = mfaTransactionTable(s)
	s.tickets = ticketTable(s)
	s.emailTemplates = emailTemplateTable(s)
}
