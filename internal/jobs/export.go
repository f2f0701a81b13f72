package jobs

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ExportField is one column of an export: a user attribute (or a dotted
// path into app_metadata or user_metadata) and its name in the file.
type ExportField struct {
	Name     string `json:"name"`
	ExportAs string `json:"export_as,omitempty"`
}

// exportable are the user attributes an export can name. custom_password_hash
// is gatehouse's own: the stored hash in Auth0's import format (native
// bcrypt and argon2id, or the imported hash not yet replaced), so an export
// moves users with their passwords; it is written only when asked for.
var exportable = map[string]func(u *store.User) any{
	"user_id":        func(u *store.User) any { return u.UserID },
	"email":          func(u *store.User) any { return u.Email },
	"email_verified": func(u *store.User) any { return u.EmailVerified },
	"username":       func(u *store.User) any { return u.Username },
	"phone_number":   func(u *store.User) any { return u.PhoneNumber },
	"given_name":     func(u *store.User) any { return u.GivenName },
	"family_name":    func(u *store.User) any { return u.FamilyName },
	"name":           func(u *store.User) any { return u.Name },
	"nickname":       func(u *store.User) any { return u.Nickname },
	"picture":        func(u *store.User) any { return u.Picture },
	"blocked":        func(u *store.User) any { return u.Blocked },
	"created_at":     func(u *store.User) any { return u.CreatedAt.Format(time.RFC3339Nano) },
	"updated_at":     func(u *store.User) any { return u.UpdatedAt.Format(time.RFC3339Nano) },
	"last_login": func(u *store.User) any {
		if u.LastLogin == nil {
			return nil
		}
		return u.LastLogin.Format(time.RFC3339Nano)
	},
	"last_ip":       func(u *store.User) any { return u.LastIP },
	"logins_count":  func(u *store.User) any { return u.LoginsCount },
	"identities":    func(u *store.User) any { return u.Identities },
	"app_metadata":  func(u *store.User) any { return u.AppMetadata },
	"user_metadata": func(u *store.User) any { return u.UserMetadata },
	"custom_password_hash": func(u *store.User) any {
		if h, ok := passwords.ExportCustomHash(u.PasswordHash); ok {
			return h
		}
		return nil
	},
}

// DefaultExportFields are written when a request names none.
var DefaultExportFields = []ExportField{{Name: "user_id"}, {Name: "email"}, {Name: "email_verified"},
	{Name: "username"}, {Name: "given_name"}, {Name: "family_name"}, {Name: "name"}, {Name: "nickname"},
	{Name: "picture"}, {Name: "blocked"}, {Name: "created_at"}, {Name: "updated_at"}, {Name: "last_login"},
	{Name: "logins_count"}, {Name: "app_metadata"}, {Name: "user_metadata"}}

// ImportableFields are the fields of an export that a users import
// accepts back, with the hashes: what moves users to another tenant.
var ImportableFields = []ExportField{{Name: "user_id"}, {Name: "email"}, {Name: "email_verified"},
	{Name: "username"}, {Name: "given_name"}, {Name: "family_name"}, {Name: "name"}, {Name: "nickname"},
	{Name: "picture"}, {Name: "blocked"}, {Name: "app_metadata"}, {Name: "user_metadata"},
	{Name: "custom_password_hash"}}

// CheckExportFields validates the fields of an export request.
func CheckExportFields(fields []ExportField) error {
	if len(fields) > 100 {
		return errors.New("at most 100 fields")
	}
	for _, f := range fields {
		if _, ok := exportable[f.Name]; ok {
			continue
		}
		if p, ok := strings.CutPrefix(f.Name, "app_metadata."); ok && p != "" {
			continue
		}
		if p, ok := strings.CutPrefix(f.Name, "user_metadata."); ok && p != "" {
			continue
		}
		return fmt.Errorf("field %q cannot be exported", f.Name)
	}
	return nil
}

func fieldValue(u *store.User, name string) any {
	if get, ok := exportable[name]; ok {
		return get(u)
	}
	var m map[string]any
	path, ok := strings.CutPrefix(name, "app_metadata.")
	if ok {
		m = u.AppMetadata
	} else {
		path, _ = strings.CutPrefix(name, "user_metadata.")
		m = u.UserMetadata
	}
	var v any = m
	for part := range strings.SplitSeq(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[part]
	}
	return v
}

// ExportRequest is a users export as the API or the CLI asks for it.
type ExportRequest struct {
	ConnectionID string
	Format       string // json (lines) or csv
	Fields       []ExportField
	Limit        int
}

// WriteExport writes the connection's users to w as JSON lines or CSV
// (not compressed), one user at a time, and returns how many.
func (s *Service) WriteExport(ctx context.Context, connectionID string, req ExportRequest, w io.Writer, progress func(int)) (int, error) {
	fields := req.Fields
	if len(fields) == 0 {
		fields = DefaultExportFields
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if req.Format == "csv" {
		cw = csv.NewWriter(bw)
		header := make([]string, len(fields))
		for i, f := range fields {
			header[i] = exportName(f)
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
	}
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	errLimit := errors.New("limit reached")
	err := s.Store.EachUser(ctx, connectionID, func(u *store.User) error {
		if req.Limit > 0 && n >= req.Limit {
			return errLimit
		}
		if cw != nil {
			rec := make([]string, len(fields))
			for i, f := range fields {
				rec[i] = csvCell(fieldValue(u, f.Name))
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		} else {
			row := make(orderedRow, 0, len(fields))
			for _, f := range fields {
				if v := fieldValue(u, f.Name); !empty(v) {
					row = append(row, kv{exportName(f), v})
				}
			}
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
		n++
		if progress != nil && n%500 == 0 {
			progress(n)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errLimit) {
		return n, err
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

func exportName(f ExportField) string {
	if f.ExportAs != "" {
		return f.ExportAs
	}
	return f.Name
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return x == nil
	}
	return false
}

// csvCell renders a value in a CSV cell: strings as they are, anything
// else as JSON.
func csvCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// orderedRow is a JSON object whose keys keep the requested order.
type orderedRow []kv

type kv struct {
	k string
	v any
}

func (r orderedRow) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, p := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// chunkWriter stores what is written to it as the job's file, in chunks.
type chunkWriter struct {
	ctx   context.Context
	store store.Jobs
	jobID string
	buf   []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	for len(c.buf) >= exportChunk {
		if err := c.store.AppendJobFile(c.ctx, c.jobID, c.buf[:exportChunk]); err != nil {
			return 0, err
		}
		c.buf = append(c.buf[:0], c.buf[exportChunk:]...)
	}
	return len(p), nil
}

func (c *chunkWriter) Close() error {
	if len(c.buf) == 0 {
		return nil
	}
	return c.store.AppendJobFile(c.ctx, c.jobID, c.buf)
}

// StartExport records a pending export job with a fresh download secret
// and runs it in the background; the file is gzipped JSON lines or CSV,
// kept in the store in chunks. It returns the job and the secret of its
// download URL (only its hash is stored).
func (s *Service) StartExport(ctx context.Context, req ExportRequest) (*store.Job, string, error) {
	target, err := s.Tenant.ImportConnection(ctx, req.ConnectionID)
	if err != nil {
		return nil, "", err
	}
	job := s.newJob(store.JobUsersExport, target)
	job.Format, job.Limit = req.Format, req.Limit
	if len(req.Fields) > 0 {
		job.Fields, _ = json.Marshal(req.Fields)
	}
	token, hash := NewFileToken()
	job.FileTokenHash = hash
	if err := s.Store.CreateJob(ctx, job); err != nil {
		return nil, "", fmt.Errorf("create job: %w", err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.runExport(context.Background(), job, req); err != nil {
			s.log().Error("users export failed", slog.String("job_id", job.ID), slog.Any("err", err))
		}
	}()
	return job, token, nil
}

func (s *Service) runExport(ctx context.Context, job *store.Job, req ExportRequest) error {
	update := func(fn func(j *store.Job)) error {
		_, err := s.Store.UpdateJob(ctx, job.ID, func(j *store.Job) error {
			fn(j)
			j.HeartbeatAt = s.now()
			*job = *j
			return nil
		})
		return err
	}
	if err := update(func(j *store.Job) { j.Status = store.JobProcessing }); err != nil {
		return err
	}
	cw := &chunkWriter{ctx: ctx, store: s.Store, jobID: job.ID}
	zw := gzip.NewWriter(cw)
	lastBeat := time.Now()
	n, err := s.WriteExport(ctx, job.ConnectionID, req, zw, func(int) {
		if time.Since(lastBeat) >= heartbeatEvery {
			lastBeat = time.Now()
			update(func(*store.Job) {})
		}
	})
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = cw.Close()
	}
	if err != nil {
		uerr := update(func(j *store.Job) { j.Status, j.Reason, j.CompletedAt = store.JobFailed, err.Error(), s.now() })
		return errors.Join(err, uerr)
	}
	return update(func(j *store.Job) {
		j.Status, j.CompletedAt = store.JobCompleted, s.now()
		j.Summary = store.JobSummary{Total: n}
	})
}
