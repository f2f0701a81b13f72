package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/jobs"
	"github.com/gatehouse/gatehouse/internal/store"
)

// importFieldBytes bounds each non-file field of an import form.
const importFieldBytes = 1024

// jobView is Auth0's job object.
type jobView struct {
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	Status       string            `json:"status"`
	ConnectionID string            `json:"connection_id"`
	Connection   string            `json:"connection,omitempty"`
	ExternalID   string            `json:"external_id,omitempty"`
	CreatedAt    string            `json:"created_at"`
	Format       string            `json:"format,omitempty"`
	Limit        int               `json:"limit,omitempty"`
	Fields       json.RawMessage   `json:"fields,omitempty"`
	Location     string            `json:"location,omitempty"`
	Summary      *store.JobSummary `json:"summary,omitempty"`
	// StatusDetails says why a failed job failed (gatehouse's addition).
	StatusDetails string `json:"status_details,omitempty"`
}

func viewJob(j *store.Job) jobView {
	v := jobView{ID: j.ID, Type: j.Type, Status: j.Status, ConnectionID: j.ConnectionID, Connection: j.Connection,
		ExternalID: j.ExternalID, CreatedAt: j.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		Format: j.Format, Limit: j.Limit, Fields: j.Fields, StatusDetails: j.Reason}
	if j.Type == store.JobUsersImport && (j.Status == store.JobCompleted || j.Status == store.JobFailed) {
		s := j.Summary
		v.Summary = &s
	}
	return v
}

func (h *handler) jobsService() (*jobs.Service, error) {
	if h.cfg.Jobs == nil {
		return nil, errors.New("mgmt: no jobs service configured")
	}
	return h.cfg.Jobs, nil
}

// importUsers starts a users import from a multipart form with the users
// file and connection_id, upsert, external_id and send_completion_email,
// in any order. The file is streamed to a spool file, never held in
// memory.
func (h *handler) importUsers(w http.ResponseWriter, r *http.Request, p Principal) error {
	js, err := h.jobsService()
	if err != nil {
		return err
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_body", Message: "Payload validation error: 'Expected a multipart/form-data body with a users file'."}
	}
	// The route's body limit is the upload limit plus the form's overhead.
	r.Body = http.MaxBytesReader(w, r.Body, js.MaxUploadBytes()+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return invalidBody("Invalid multipart body")
	}
	var req jobs.ImportRequest
	var spool *os.File
	defer func() {
		if spool != nil {
			jobs.Discard(spool)
		}
	}()
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return uploadErr(err, js)
		}
		name := part.FormName()
		if seen[name] {
			return invalidProp(printable(name), "Duplicate property")
		}
		seen[name] = true
		if name == "users" {
			if spool, err = js.Spool(part); err != nil {
				return uploadErr(err, js)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, importFieldBytes+1))
		if err != nil {
			return uploadErr(err, js)
		}
		if len(b) > importFieldBytes {
			return invalidProp(printable(name), "String is too long")
		}
		v := string(b)
		switch name {
		case "connection_id":
			req.ConnectionID = v
		case "external_id":
			req.ExternalID = v
		case "upsert", "send_completion_email":
			bv, err := strconv.ParseBool(v)
			if err != nil && v != "" {
				return invalidProp(name, "Expected type boolean but found type string")
			}
			if name == "upsert" {
				req.Upsert = bv
			} else {
				req.SendCompletionEmail = bv
			}
		default:
			return invalidBody("Additional properties not allowed: %s", printable(name))
		}
	}
	switch {
	case spool == nil:
		return invalidBody("Missing required property: users")
	case req.ConnectionID == "":
		return invalidBody("Missing required property: connection_id")
	}
	if err := checkID("connection_id", req.ConnectionID); err != nil {
		return err
	}
	job, err := js.StartImport(r.Context(), req, spool)
	spool = nil // StartImport owns it now
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusAccepted, viewJob(job))
}

// uploadErr renders a failed read of the form.
func uploadErr(err error, js *jobs.Service) error {
	var tooBig *http.MaxBytesError
	if errors.Is(err, jobs.ErrTooLarge) || errors.As(err, &tooBig) {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Message: fmt.Sprintf("Payload content length greater than maximum allowed: %d", js.MaxUploadBytes())}
	}
	return invalidBody("Invalid multipart body")
}

// checkID refuses an id that is not printable text of sane length.
func checkID(prop, id string) error {
	if len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return invalidProp(prop, "Object didn't pass validation for format connection-id: %s", printable(id))
	}
	return nil
}

// exportInput is the body of POST /jobs/users-exports.
type exportInput struct {
	ConnectionID string             `json:"connection_id"`
	Format       string             `json:"format"`
	Limit        *int               `json:"limit"`
	Fields       []jobs.ExportField `json:"fields"`
}

func (h *handler) exportUsers(w http.ResponseWriter, r *http.Request, p Principal) error {
	js, err := h.jobsService()
	if err != nil {
		return err
	}
	var in exportInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	switch in.Format {
	case "":
		in.Format = "json"
	case "json", "csv":
	default:
		return invalidProp("format", "No enum match for: %q", printable(in.Format))
	}
	if in.ConnectionID == "" {
		return invalidBody("Missing required property: connection_id")
	}
	if err := checkID("connection_id", in.ConnectionID); err != nil {
		return err
	}
	if err := jobs.CheckExportFields(in.Fields); err != nil {
		return invalidProp("fields", "%s", printable(err.Error()))
	}
	limit := 0
	if in.Limit != nil {
		if *in.Limit < 1 {
			return invalidProp("limit", "Value %d is less than minimum 1", *in.Limit)
		}
		limit = *in.Limit
	}
	job, token, err := js.StartExport(r.Context(), jobs.ExportRequest{ConnectionID: in.ConnectionID, Format: in.Format, Fields: in.Fields, Limit: limit})
	if err != nil {
		return err
	}
	v := viewJob(job)
	v.Location = h.fileURL(job, token)
	return writeOne(w, r, http.StatusCreated, v)
}

// fileURL is where an export's file is downloaded: unguessable (a 256-bit
// secret whose hash only is stored), valid for a day, like the pre-signed
// link Auth0 gives.
func (h *handler) fileURL(j *store.Job, token string) string {
	return h.cfg.Issuer + "jobs/files/" + j.ID + "/" + token + "/" + fileName(j)
}

func fileName(j *store.Job) string {
	if j.Format == "csv" {
		return "users.csv.gz"
	}
	return "users.json.gz"
}

func (h *handler) getJob(w http.ResponseWriter, r *http.Request, p Principal) error {
	j, err := h.loadJob(r)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, viewJob(j))
}

func (h *handler) loadJob(r *http.Request) (*store.Job, error) {
	j, err := h.cfg.Store.GetJob(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, &apiError{Status: http.StatusNotFound, Code: "inexistent_job", Message: "The job does not exist."}
	}
	return j, err
}

// jobErrorView is one failed row in Auth0's shape.
type jobErrorView struct {
	User   json.RawMessage        `json:"user"`
	Errors []store.JobErrorDetail `json:"errors"`
}

// jobErrorsShown bounds the failed rows one call returns.
const jobErrorsShown = 10000

func (h *handler) getJobErrors(w http.ResponseWriter, r *http.Request, p Principal) error {
	j, err := h.loadJob(r)
	if err != nil {
		return err
	}
	list, err := h.cfg.Store.ListJobErrors(r.Context(), j.ID, jobErrorsShown)
	if err != nil {
		return err
	}
	out := make([]jobErrorView, len(list))
	for i, e := range list {
		out[i] = jobErrorView{User: e.User, Errors: e.Errors}
	}
	return writeOne(w, r, http.StatusOK, out)
}

// JobFiles serves export files at /jobs/files/{id}/{token}/{name}: the
// secret in the path is the credential (as in Auth0's pre-signed links),
// so no bearer token is needed; a wrong or expired one is a 404.
func JobFiles(cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		notFound := &apiError{Status: http.StatusNotFound, Message: "Not Found"}
		if cfg.Jobs == nil {
			writeError(w, notFound)
			return
		}
		j, err := cfg.Store.GetJob(r.Context(), r.PathValue("id"))
		if err != nil || j.Type != store.JobUsersExport || !cfg.Jobs.CheckFileToken(j, r.PathValue("token")) {
			writeError(w, notFound)
			return
		}
		if j.Status != store.JobCompleted {
			writeError(w, &apiError{Status: http.StatusConflict, Code: "job_not_completed", Message: "The export has not completed yet."})
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+fileName(j)+`"`)
		w.Header().Set("Cache-Control", "private, no-store")
		w.Header().Set("Last-Modified", j.CompletedAt.UTC().Format(time.RFC1123))
		started := false
		err = cfg.Store.ReadJobFile(r.Context(), j.ID, func(chunk []byte) error {
			started = true
			_, err := w.Write(chunk)
			return err
		})
		if err != nil && !started {
			writeError(w, notFound)
		}
	})
}

// verificationInput is the body of POST /jobs/verification-email.
type verificationInput struct {
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id"`
	Identity *struct {
		UserID   string `json:"user_id"`
		Provider string `json:"provider"`
	} `json:"identity"`
	OrganizationID string `json:"organization_id"`
}

// verificationEmail is POST /api/v2/jobs/verification-email: it mails the
// user a link that marks their email verified and answers the job, which
// is complete once the link is made (the mail goes out after the answer).
func (h *handler) verificationEmail(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in verificationInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	if in.UserID == "" {
		return invalidBody("Missing required property: user_id")
	}
	if in.OrganizationID != "" {
		return invalidProp("organization_id", "Organizations are not supported")
	}
	ctx := r.Context()
	user, err := h.tenant.GetUser(ctx, in.UserID)
	if err != nil {
		return err
	}
	if user.Email == "" {
		return invalidBody("The user does not have an email address.")
	}
	if h.cfg.SendVerification == nil {
		return &apiError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Message: "No mailer is configured"}
	}
	if err := h.cfg.SendVerification(ctx, user, in.ClientID); err != nil {
		return err
	}
	now := h.cfg.Now().UTC()
	job := &store.Job{ID: "job_" + ids.Alnum(16), Type: store.JobVerificationEmail, Status: store.JobCompleted,
		CreatedAt: now, HeartbeatAt: now, CompletedAt: now}
	if err := h.cfg.Store.CreateJob(ctx, job); err != nil {
		return err
	}
	return writeOne(w, r, http.StatusCreated, viewJob(job))
}
