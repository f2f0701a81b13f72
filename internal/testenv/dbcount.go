package testenv

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
)

// Counter counts the calls that reach the database driver: every one is a
// round trip (on PostgreSQL over the network; on SQLite into the engine).
// A transaction is an explicit BEGIN or a write outside one (autocommit).
// The configuration cache's once-a-second version check belongs to no
// request and is not counted.
type Counter struct {
	roundTrips, transactions atomic.Int64
}

// Reset zeroes the counts.
func (c *Counter) Reset() { c.roundTrips.Store(0); c.transactions.Store(0) }

// Counts returns the round trips and transactions since the last Reset.
func (c *Counter) Counts() (roundTrips, transactions int64) {
	return c.roundTrips.Load(), c.transactions.Load()
}

var driverSeq atomic.Int64

// CountingDrivers registers database/sql drivers that wrap SQLite's and
// PostgreSQL's and count into c; pass their names to
// sqlstore.WithDriverNames.
func CountingDrivers(c *Counter) (sqliteName, postgresName string) {
	n := driverSeq.Add(1)
	sqliteName, postgresName = fmt.Sprintf("sqlite-counting-%d", n), fmt.Sprintf("pgx-counting-%d", n)
	sql.Register(sqliteName, &countingDriver{inner: &sqlite.Driver{}, c: c})
	sql.Register(postgresName, &countingDriver{inner: stdlib.GetDefaultDriver(), c: c})
	return sqliteName, postgresName
}

type countingDriver struct {
	inner driver.Driver
	c     *Counter
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	conn, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: d.c}, nil
}

// countingConn forwards every optional interface both drivers implement,
// so database/sql takes the same paths it would without the wrapper.
type countingConn struct {
	driver.Conn
	c    *Counter
	inTx bool
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.c.roundTrips.Add(1)
	if !c.inTx {
		c.c.transactions.Add(1)
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if !strings.Contains(q, "FROM config_version") {
		c.c.roundTrips.Add(1)
	}
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.c.roundTrips.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.c.roundTrips.Add(1)
	c.c.transactions.Add(1)
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
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

type countingTx struct {
	driver.Tx
	conn *countingConn
}

func (t *countingTx) Commit() error {
	t.conn.c.roundTrips.Add(1)
	t.conn.inTx = false
	return t.Tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.conn.c.roundTrips.Add(1)
	t.conn.inTx = false
	return t.Tx.Rollback()
}
