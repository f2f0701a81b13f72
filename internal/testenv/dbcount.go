package testenv

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// CountHeader names the request header whose value a Counter files the
// request's database calls under.
const CountHeader = "Gatehouse-Test-Count"

// Counter counts the calls that reach the database driver, per HTTP
// request: every one is a round trip (on PostgreSQL over the network; on
// SQLite into the engine). A transaction is an explicit BEGIN or a write
// outside one (autocommit).
//
// A call is tied to the request that issued it through its context, so
// background work (the configuration cache's version check, a key reload)
// is never counted, however the scheduler interleaves it with a request.
type Counter struct {
	mu    sync.Mutex
	byKey map[string]*Tally
}

// Tally is what one request asked of the database.
type Tally struct {
	roundTrips, transactions atomic.Int64
}

// Counts returns the round trips and transactions.
func (t *Tally) Counts() (roundTrips, transactions int64) {
	return t.roundTrips.Load(), t.transactions.Load()
}

// WithRoundTripCounter runs gatehouse on counting drivers and files the
// database calls of every request carrying CountHeader under its value.
func WithRoundTripCounter(c *Counter) Option {
	return func(s *settings) {
		lite, pg := CountingDrivers(c)
		s.server = append(s.server, server.WithStoreOptions(sqlstore.WithDriverNames(lite, pg)))
		s.wrap = append(s.wrap, c.handler)
	}
}

// Request returns the tally of the requests sent with CountHeader key
// (zero when none reached the database).
func (c *Counter) Request(key string) *Tally {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = make(map[string]*Tally)
	}
	t, ok := c.byKey[key]
	if !ok {
		t = &Tally{}
		c.byKey[key] = t
	}
	return t
}

type tallyKey struct{}

// handler puts the tally of the request's CountHeader into its context,
// where the counting drivers find it.
func (c *Counter) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if key := r.Header.Get(CountHeader); key != "" {
			r = r.WithContext(context.WithValue(r.Context(), tallyKey{}, c.Request(key)))
		}
		next.ServeHTTP(w, r)
	})
}

// tallyOf returns the tally ctx belongs to, or nil for uncounted work.
func tallyOf(ctx context.Context) *Tally {
	t, _ := ctx.Value(tallyKey{}).(*Tally)
	return t
}

var driverSeq atomic.Int64

// CountingDrivers registers database/sql drivers that wrap SQLite's and
// PostgreSQL's and count into c; pass their names to
// sqlstore.WithDriverNames. WithRoundTripCounter does both.
func CountingDrivers(c *Counter) (sqliteName, postgresName string) {
	n := driverSeq.Add(1)
	sqliteName, postgresName = fmt.Sprintf("sqlite-counting-%d", n), fmt.Sprintf("pgx-counting-%d", n)
	sql.Register(sqliteName, &countingDriver{inner: &sqlite.Driver{}})
	sql.Register(postgresName, &countingDriver{inner: stdlib.GetDefaultDriver()})
	return sqliteName, postgresName
}

type countingDriver struct {
	inner driver.Driver
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	conn, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn}, nil
}

// countingConn forwards every optional interface both drivers implement,
// so database/sql takes the same paths it would without the wrapper.
// database/sql uses a connection from one goroutine at a time.
type countingConn struct {
	driver.Conn
	tx *Tally // the tally of the open transaction's BEGIN; nil outside one
	in bool   // a transaction is open
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if t := tallyOf(ctx); t != nil {
		t.roundTrips.Add(1)
		if !c.in {
			t.transactions.Add(1)
		}
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if t := tallyOf(ctx); t != nil {
		t.roundTrips.Add(1)
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

// PrepareContext counts the prepare, and returns a statement that counts
// each run: the SQLite store keeps its statements prepared, so most of its
// calls are runs of a statement prepared by an earlier request.
func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if t := tallyOf(ctx); t != nil {
		t.roundTrips.Add(1)
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, conn: c}, nil
}

// countingStmt counts a prepared statement's runs as the connection counts
// direct calls. Both drivers' statements take contexts.
type countingStmt struct {
	driver.Stmt
	conn *countingConn
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if t := tallyOf(ctx); t != nil {
		t.roundTrips.Add(1)
		if !s.conn.in {
			t.transactions.Add(1)
		}
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if t := tallyOf(ctx); t != nil {
		t.roundTrips.Add(1)
	}
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t := tallyOf(ctx)
	if t != nil {
		t.roundTrips.Add(1)
		t.transactions.Add(1)
	}
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.tx, c.in = t, true
	return &countingTx{Tx: tx, conn: c}, nil
}

func (c *countingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// countingTx counts COMMIT and ROLLBACK, which carry no context, against
// the request that began the transaction.
type countingTx struct {
	driver.Tx
	conn *countingConn
}

func (t *countingTx) end() {
	if t.conn.tx != nil {
		t.conn.tx.roundTrips.Add(1)
	}
	t.conn.tx, t.conn.in = nil, false
}

func (t *countingTx) Commit() error {
	t.end()
	return t.Tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.end()
	return t.Tx.Rollback()
}
