// Package jobs runs Auth0's long-running users jobs: bulk imports (a
// users file streamed row by row into a database connection, in batches,
// each bad row recorded with its index and reasons while the others
// import) and exports (a connection's users as gzipped JSON lines or CSV,
// kept in the store and served under an unguessable URL). The job record
// lives in the store, so any node answers for it; the work runs on the
// node that received the request. A node that stops while running a job
// leaves a stale heartbeat: the sweep (Service.Run) marks such a job
// failed; it is not resumed (the rows imported before the stop stay and
// are counted; running the file again with upsert finishes it).
package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Defaults of Service's limits.
const (
	DefaultMaxUpload   = 64 << 20 // bytes of one users file
	DefaultMaxRow      = 2 << 20  // bytes of one row
	DefaultBatch       = 500      // rows per store transaction
	DefaultMaxErrors   = 10000    // failed rows kept per job (all are counted)
	maxErrorUserBytes  = 4 << 10  // of each failed row, kept to show it
	heartbeatEvery     = 5 * time.Second
	abandonedAfter     = time.Minute
	sweepEvery         = 30 * time.Second
	exportChunk        = 1 << 20
	exportLinkLifetime = 24 * time.Hour
)

// Service creates and runs jobs.
type Service struct {
	Store  store.Store
	Tenant *tenant.Service
	Now    func() time.Time
	Logger *slog.Logger
	// SpoolDir holds uploaded users files while their import runs (the
	// system temporary directory when empty); files are 0600 and removed
	// when the job ends.
	SpoolDir  string
	MaxUpload int64
	MaxRow    int64
	Batch     int
	MaxErrors int
	// Admins receives the summary of an import that asked for
	// send_completion_email (nil: none is sent).
	Admins tenant.AdminNotifier

	wg sync.WaitGroup
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func orDefault[T int | int64](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// MaxUploadBytes is the largest users file an import accepts.
func (s *Service) MaxUploadBytes() int64 { return orDefault(s.MaxUpload, DefaultMaxUpload) }

// ErrTooLarge means the users file is over MaxUploadBytes.
var ErrTooLarge = errors.New("jobs: users file too large")

// Wait blocks until the jobs this Service started have ended (tests, and
// a clean shutdown).
func (s *Service) Wait() { s.wg.Wait() }

// Run sweeps abandoned jobs now and every 30 s until ctx ends: a job whose
// node stopped heartbeating a minute ago is marked failed.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		n, err := s.Store.FailAbandonedJobs(ctx, s.now().Add(-abandonedAfter),
			"The node running this job stopped before it finished. Rows imported before that are kept and counted; import the file again with upsert to finish.")
		if err != nil && ctx.Err() == nil {
			s.log().Warn("sweep abandoned jobs", slog.Any("err", err))
		} else if n > 0 {
			s.log().Warn("marked abandoned jobs failed", slog.Int("jobs", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ImportRequest is a users import as the API or the CLI asks for it.
type ImportRequest struct {
	ConnectionID        string
	Upsert              bool
	ExternalID          string
	SendCompletionEmail bool
}

// newJob returns a pending job of kind for the target's connection.
func (s *Service) newJob(kind string, target *tenant.ImportTarget) *store.Job {
	now := s.now()
	return &store.Job{ID: "job_" + ids.Alnum(16), Type: kind, Status: store.JobPending,
		ConnectionID: target.Conn.ID, Connection: target.Conn.Name, CreatedAt: now, HeartbeatAt: now}
}

// Spool copies an uploaded users file (at most MaxUploadBytes; ErrTooLarge
// past it) to a private temporary file (0600) and returns it at its start.
// The caller hands it to StartImport or closes and removes it.
func (s *Service) Spool(file io.Reader) (*os.File, error) {
	spool, err := os.CreateTemp(s.SpoolDir, "gatehouse-import-*.json")
	if err != nil {
		return nil, fmt.Errorf("spool users file: %w", err)
	}
	n, err := io.Copy(spool, io.LimitReader(file, s.MaxUploadBytes()+1))
	if err == nil && n > s.MaxUploadBytes() {
		err = ErrTooLarge
	}
	if err == nil {
		_, err = spool.Seek(0, io.SeekStart)
	}
	if err != nil {
		Discard(spool)
		return nil, err
	}
	return spool, nil
}

// Discard closes and removes a spooled file.
func Discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

// StartImport records a pending import job for a spooled users file and
// runs it in the background; the file is removed when the job ends (or
// at once, if the job cannot start).
func (s *Service) StartImport(ctx context.Context, req ImportRequest, spool *os.File) (*store.Job, error) {
	target, err := s.Tenant.ImportConnection(ctx, req.ConnectionID)
	if err != nil {
		Discard(spool)
		return nil, err
	}
	job := s.newJob(store.JobUsersImport, target)
	job.Upsert, job.ExternalID, job.SendCompletionEmail = req.Upsert, req.ExternalID, req.SendCompletionEmail
	if err := s.Store.CreateJob(ctx, job); err != nil {
		Discard(spool)
		return nil, fmt.Errorf("create job: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer Discard(spool)
		// The job outlives the request that started it.
		if err := s.RunImport(context.Background(), job, target, spool, nil); err != nil {
			s.log().Error("users import failed", slog.String("job_id", job.ID), slog.Any("err", err))
		}
	}()
	return job, nil
}

// NewImportJob records a pending import job for the CLI, which then runs
// it with RunImport in the foreground.
func (s *Service) NewImportJob(ctx context.Context, req ImportRequest) (*store.Job, *tenant.ImportTarget, error) {
	target, err := s.Tenant.ImportConnection(ctx, req.ConnectionID)
	if err != nil {
		return nil, nil, err
	}
	job := s.newJob(store.JobUsersImport, target)
	job.Upsert, job.ExternalID = req.Upsert, req.ExternalID
	if err := s.Store.CreateJob(ctx, job); err != nil {
		return nil, nil, fmt.Errorf("create job: %w", err)
	}
	return job, target, nil
}

// NewFileToken returns a fresh download secret and its hash.
func NewFileToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	return token, sum[:]
}

// CheckFileToken reports whether token opens job's file, and whether the
// link is still valid.
func (s *Service) CheckFileToken(job *store.Job, token string) bool {
	sum := sha256.Sum256([]byte(token))
	return len(job.FileTokenHash) == len(sum) && subtle.ConstantTimeCompare(job.FileTokenHash, sum[:]) == 1 &&
		s.now().Before(job.CreatedAt.Add(exportLinkLifetime))
}
