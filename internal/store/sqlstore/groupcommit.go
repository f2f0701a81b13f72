package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// groupWriter commits the grants' one-row writes on SQLite together.
//
// SQLite has one writer, and with synchronous=FULL each commit waits for its
// own fsync; a refresh rotation is one short statement, so under load the
// cores sat idle while rotations synced one by one. Writes that arrive
// while a commit is in progress are queued; the writer takes everything
// queued, runs each write under its own savepoint inside one transaction,
// and commits once: one fsync for the batch. Each caller is answered only
// after the commit that holds its write is durable. A write that fails is
// rolled back to its savepoint and fails alone; if the commit itself fails,
// every write of the batch that had succeeded is retried in a transaction
// of its own, so a bad batch fails only the writes that fail by themselves.
//
// Only the token endpoint's writes go through it (login records and family
// rotations); everything else uses the writer connection directly, which
// the batch holds only for as long as its transaction.
type groupWriter struct {
	db       *sql.DB
	queue    chan *groupOp
	maxBatch int

	mu      sync.RWMutex // held to enqueue; taken whole to close
	closed  bool
	stop    chan struct{}
	stopped sync.WaitGroup

	inBatch atomic.Bool  // a batch is being written (tests wait on it)
	commits atomic.Int64 // transactions committed (each one fsync)
	writes  atomic.Int64 // writes that committed
}

// groupOp is one caller's write.
type groupOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
}

// errWriterClosed answers writes that arrive after Close.
var errWriterClosed = errors.New("sqlstore: store closed")

func newGroupWriter(db *sql.DB, maxBatch int) *groupWriter {
	g := &groupWriter{db: db, queue: make(chan *groupOp, 4*maxBatch), maxBatch: maxBatch, stop: make(chan struct{})}
	g.stopped.Add(1)
	go g.run()
	return g
}

// do runs fn in a batch and returns once the batch is committed (or fn's
// own error). Once queued, the write is waited for even if ctx ends: the
// caller must learn whether it was made.
func (g *groupWriter) do(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &groupOp{ctx: context.WithoutCancel(ctx), fn: fn, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errWriterClosed
	}
	select {
	case g.queue <- op:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	return <-op.done
}

func (g *groupWriter) run() {
	defer g.stopped.Done()
	batch := make([]*groupOp, 0, g.maxBatch)
	for {
		select {
		case op := <-g.queue:
			batch = append(batch[:0], op)
		case <-g.stop:
			g.drain()
			return
		}
	fill:
		for len(batch) < g.maxBatch {
			select {
			case op := <-g.queue:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		g.inBatch.Store(true)
		g.commit(batch)
		g.inBatch.Store(false)
		clear(batch)
	}
}

// busy reports whether a batch is being written.
func (g *groupWriter) busy() bool { return g.inBatch.Load() }

// drain answers what is still queued at Close, one by one.
func (g *groupWriter) drain() {
	for {
		select {
		case op := <-g.queue:
			g.commit([]*groupOp{op})
		default:
			return
		}
	}
}

// commit writes batch in one transaction and answers each caller.
func (g *groupWriter) commit(batch []*groupOp) {
	errs := make([]error, len(batch))
	if err := g.tryBatch(batch, errs); err != nil {
		// The transaction as a whole failed: no write of it was made.
		// Those that had run cleanly are tried again, each alone.
		for i := range batch {
			if errs[i] != nil {
				continue
			}
			if txErr := g.tryBatch(batch[i:i+1], errs[i:i+1]); txErr != nil && errs[i] == nil {
				errs[i] = txErr
			}
		}
	}
	for i, op := range batch {
		if errs[i] == nil {
			g.writes.Add(1)
		}
		op.done <- errs[i]
	}
}

// tryBatch runs the batch's writes in one transaction, recording each
// write's own error in errs, and returns the error of the transaction
// itself (begin or commit), after which nothing of it was made.
func (g *groupWriter) tryBatch(batch []*groupOp, errs []error) error {
	ctx := context.Background()
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("group commit: begin: %w", err)
	}
	defer tx.Rollback()
	alone := len(batch) == 1
	for i, op := range batch {
		if alone {
			errs[i] = op.fn(op.ctx, tx)
			if errs[i] != nil {
				return nil // nothing else in the transaction: rolled back
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT grant_write"); err != nil {
			return fmt.Errorf("group commit: savepoint: %w", err)
		}
		if errs[i] = op.fn(op.ctx, tx); errs[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO grant_write"); err != nil {
				return fmt.Errorf("group commit: roll back one write: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE grant_write"); err != nil {
			return fmt.Errorf("group commit: release: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("group commit: commit: %w", err)
	}
	g.commits.Add(1)
	return nil
}

// close stops the writer after it has answered everything queued; later
// writes get errWriterClosed.
func (g *groupWriter) close() {
	g.mu.Lock()
	already := g.closed
	g.closed = true
	g.mu.Unlock()
	if !already {
		close(g.stop)
	}
	g.stopped.Wait()
}

// execer is what a grant's write needs: the writer pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// grantWrite runs one of the token endpoint's writes: on SQLite in the
// group commit, on PostgreSQL directly (its server commits concurrent
// transactions together by itself).
func (s *Store) grantWrite(ctx context.Context, fn func(ctx context.Context, ex execer) error) error {
	if s.group == nil {
		return fn(ctx, s.w)
	}
	return s.group.do(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx) })
}

// GroupCommits reports, on SQLite, how many transactions the group commit
// has committed and how many writes they held; writes ÷ commits is the
// number of grants' writes each fsync made durable. Zero on PostgreSQL.
func (s *Store) GroupCommits() (commits, writes int64) {
	if s.group == nil {
		return 0, 0
	}
	return s.group.commits.Load(), s.group.writes.Load()
}
