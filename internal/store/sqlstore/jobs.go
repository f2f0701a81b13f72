package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// jobTable keeps the status and heartbeat in columns, so abandoned jobs
// are found without reading documents.
func jobTable(s *Store) *table[store.Job] {
	return newTable(s, table[store.Job]{
		noun:    "job",
		name:    "jobs",
		columns: []string{"id", "status", "heartbeat_at", "doc"},
		keyOf:   func(j *store.Job) string { return j.ID },
		encode: func(j *store.Job) ([]any, error) {
			doc, err := marshalDoc(j)
			if err != nil {
				return nil, err
			}
			return []any{j.ID, j.Status, j.HeartbeatAt.UnixMicro(), doc}, nil
		},
		decode: func(sc scanner) (*store.Job, error) {
			var id, status, doc string
			var hb int64
			if err := sc.Scan(&id, &status, &hb, &doc); err != nil {
				return nil, err
			}
			var j store.Job
			if err := unmarshalDoc(doc, &j); err != nil {
				return nil, err
			}
			j.ID, j.Status = id, status
			return &j, nil
		},
	})
}

// CreateJob implements store.Jobs.
func (s *Store) CreateJob(ctx context.Context, j *store.Job) error {
	return s.jobs.create(ctx, s, j)
}

// GetJob implements store.Jobs.
func (s *Store) GetJob(ctx context.Context, id string) (*store.Job, error) {
	return s.jobs.get(ctx, s, "id", id)
}

// UpdateJob implements store.Jobs.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(*store.Job) error) (*store.Job, error) {
	return s.jobs.update(ctx, s, id, fn)
}

// FailAbandonedJobs implements store.Jobs.
func (s *Store) FailAbandonedJobs(ctx context.Context, before time.Time, reason string) (int, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id FROM jobs WHERE status IN ($1, $2) AND heartbeat_at < $3",
		store.JobPending, store.JobProcessing, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("find abandoned jobs: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find abandoned jobs: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find abandoned jobs: %w", err)
	}
	n := 0
	for _, id := range ids {
		changed := false
		_, err := s.UpdateJob(ctx, id, func(j *store.Job) error {
			// Checked again under the row lock: the job may have moved on.
			if (j.Status != store.JobPending && j.Status != store.JobProcessing) || !j.HeartbeatAt.Before(before) {
				return nil
			}
			j.Status, j.Reason, j.CompletedAt, changed = store.JobFailed, reason, s.now().UTC(), true
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// AddJobErrors implements store.Jobs.
func (s *Store) AddJobErrors(ctx context.Context, errs []*store.JobError) error {
	if len(errs) == 0 {
		return nil
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("add job errors: %w", err)
	}
	defer tx.Rollback()
	for _, e := range errs {
		doc, err := marshalDoc(e)
		if err != nil {
			return fmt.Errorf("add job errors: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO job_errors (job_id, idx, doc) VALUES ($1, $2, $3)", e.JobID, e.Index, doc); err != nil {
			return fmt.Errorf("add job errors: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add job errors: commit: %w", err)
	}
	return nil
}

// ListJobErrors implements store.Jobs.
func (s *Store) ListJobErrors(ctx context.Context, jobID string, limit int) ([]*store.JobError, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT doc FROM job_errors WHERE job_id = $1 ORDER BY idx, seq LIMIT $2", jobID, limit)
	if err != nil {
		return nil, fmt.Errorf("list job errors: %w", err)
	}
	defer rows.Close()
	var out []*store.JobError
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list job errors: %w", err)
		}
		var e store.JobError
		if err := unmarshalDoc(doc, &e); err != nil {
			return nil, fmt.Errorf("list job errors: %w", err)
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list job errors: %w", err)
	}
	return out, nil
}

// AppendJobFile implements store.Jobs.
func (s *Store) AppendJobFile(ctx context.Context, jobID string, chunk []byte) error {
	if _, err := s.w.ExecContext(ctx, "INSERT INTO job_files (job_id, data) VALUES ($1, $2)", jobID, chunk); err != nil {
		return fmt.Errorf("append job file %q: %w", jobID, err)
	}
	return nil
}

// ReadJobFile implements store.Jobs. Chunks are read one at a time by seq,
// so a large file never sits in memory whole.
func (s *Store) ReadJobFile(ctx context.Context, jobID string, fn func([]byte) error) error {
	var after int64 = -1
	for n := 0; ; n++ {
		var seq int64
		var data []byte
		err := s.r.QueryRowContext(ctx, "SELECT seq, data FROM job_files WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT 1",
			jobID, after).Scan(&seq, &data)
		if errors.Is(err, sql.ErrNoRows) {
			if n == 0 {
				return fmt.Errorf("read job file %q: %w", jobID, store.ErrNotFound)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("read job file %q: %w", jobID, err)
		}
		if err := fn(data); err != nil {
			return err
		}
		after = seq
	}
}
