package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Progress is how far an import has come.
type Progress struct {
	Summary   store.JobSummary
	BytesRead int64 // of the users file
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// RunImport imports the users file r into the target's connection as job
// (which must be stored and pending), in batches of Batch rows, each
// batch one store transaction. After each batch the job's summary and
// heartbeat are saved and progress (if not nil) is called. A bad row is
// recorded with its index and reasons and the others go on; a file that
// cannot be read further (invalid JSON, a row over MaxRow) fails the job
// with that reason, keeping the rows before it. The error returned is for
// the log; the job record says the same to the API.
func (s *Service) RunImport(ctx context.Context, job *store.Job, target *tenant.ImportTarget, r io.Reader, progress func(Progress)) error {
	counted := &countingReader{r: r}
	var sum store.JobSummary
	var kept int
	lastBeat := time.Time{}
	setStatus := func(status, reason string) error {
		_, err := s.Store.UpdateJob(ctx, job.ID, func(j *store.Job) error {
			j.Status, j.Summary, j.HeartbeatAt = status, sum, s.now()
			if reason != "" {
				j.Reason = reason
			}
			if status == store.JobCompleted || status == store.JobFailed {
				j.CompletedAt = s.now()
			}
			*job = *j
			return nil
		})
		if err == nil && (status == store.JobCompleted || status == store.JobFailed) {
			s.announce(ctx, job)
		}
		return err
	}
	fail := func(err error) error {
		if uerr := setStatus(store.JobFailed, err.Error()); uerr != nil {
			return errors.Join(err, uerr)
		}
		return err
	}
	if err := setStatus(store.JobProcessing, ""); err != nil {
		return err
	}
	rows, err := newRowReader(counted, orDefault(s.MaxRow, DefaultMaxRow))
	if err != nil {
		return fail(err)
	}
	batchSize := orDefault(s.Batch, DefaultBatch)
	maxErrors := orDefault(s.MaxErrors, DefaultMaxErrors)
	for {
		if err := ctx.Err(); err != nil {
			return fail(fmt.Errorf("the import was stopped: %w", err))
		}
		// Read and check one batch.
		var valid []*tenant.ImportedUser
		var validIdx []int
		var raws []json.RawMessage
		var failed []*store.JobError
		var readErr error
		for len(valid)+len(failed) < batchSize {
			raw, i, err := rows.next()
			if err != nil {
				readErr = err
				break
			}
			sum.Total++
			iu, rowErrs := target.PrepareImportRow(raw, s.now())
			if rowErrs != nil {
				failed = append(failed, &store.JobError{JobID: job.ID, Index: i, User: shown(raw), Errors: rowErrs})
				continue
			}
			valid, validIdx, raws = append(valid, iu), append(validIdx, i), append(raws, raw)
		}
		if len(valid) > 0 {
			users := make([]*store.User, len(valid))
			given := make(map[*store.User]map[string]bool, len(valid))
			for k, iu := range valid {
				users[k] = iu.User
				given[iu.User] = iu.Given
			}
			merge := tenant.ImportMerge(job.Upsert, s.now(), func(u *store.User) map[string]bool { return given[u] })
			res, err := s.Store.ImportUsers(ctx, target.Conn.ID, users, merge)
			if err != nil {
				return fail(fmt.Errorf("write users: %w", err))
			}
			for k, rr := range res {
				switch rr.Outcome {
				case store.ImportInserted:
					sum.Inserted++
					for _, a := range valid[k].Factors {
						a.UserID = rr.User.UserID
						if err := s.Store.CreateAuthenticator(ctx, a); err != nil {
							s.log().Warn("import mfa factor", slog.String("job_id", job.ID), slog.String("user_id", rr.User.UserID), slog.Any("err", err))
						}
					}
				case store.ImportUpdated:
					sum.Updated++
				default:
					failed = append(failed, &store.JobError{JobID: job.ID, Index: validIdx[k], User: shown(raws[k]), Errors: tenant.AsRowErrors(rr.Err)})
				}
			}
		}
		sum.Failed += len(failed)
		if keep := min(len(failed), max(0, maxErrors-kept)); keep > 0 {
			if err := s.Store.AddJobErrors(ctx, failed[:keep]); err != nil {
				return fail(fmt.Errorf("record failed rows: %w", err))
			}
			kept += keep
		}
		if progress != nil {
			progress(Progress{Summary: sum, BytesRead: counted.n.Load()})
		}
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fail(readErr)
		}
		if readErr != nil {
			break
		}
		if time.Since(lastBeat) >= heartbeatEvery {
			if err := setStatus(store.JobProcessing, ""); err != nil {
				return err
			}
			lastBeat = time.Now()
		}
	}
	if sum.Failed > kept {
		s.log().Warn("users import kept only the first failed rows", slog.String("job_id", job.ID), slog.Int("kept", kept), slog.Int("failed", sum.Failed))
	}
	return setStatus(store.JobCompleted, "")
}

// announce mails the administrators a finished import's summary when the
// job asked for it (send_completion_email), as Auth0 does.
func (s *Service) announce(ctx context.Context, job *store.Job) {
	if !job.SendCompletionEmail || s.Admins == nil {
		return
	}
	sum := job.Summary
	text := fmt.Sprintf("Users import job %s on connection %s %s.\n\nTotal rows: %d\nInserted: %d\nUpdated: %d\nFailed: %d\n",
		job.ID, job.Connection, job.Status, sum.Total, sum.Inserted, sum.Updated, sum.Failed)
	if job.Reason != "" {
		text += "Reason: " + job.Reason + "\n"
	}
	if sum.Failed > 0 {
		text += "\nThe failed rows and their reasons: GET /api/v2/jobs/" + job.ID + "/errors\n"
	}
	s.Admins.Send(ctx, fmt.Sprintf("Users import %s: %d inserted, %d updated, %d failed", job.Status, sum.Inserted, sum.Updated, sum.Failed), text)
}

// shown is the failed row as the errors endpoint shows it: as given, or
// cut to a placeholder when it is large or not an object.
func shown(raw json.RawMessage) json.RawMessage {
	if len(raw) <= maxErrorUserBytes && len(raw) > 0 && raw[0] == '{' {
		return raw
	}
	b, _ := json.Marshal(map[string]any{"_truncated": true, "_bytes": len(raw)})
	return b
}
