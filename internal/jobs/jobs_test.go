package jobs_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0/management"
	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/passwords/importtest"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

const oldPassword = "my old password ✓ 42"

// goAuth0 is the official Go SDK pointed at the test server.
func goAuth0(t *testing.T, e *testenv.Env) *management.Management {
	t.Helper()
	m, err := management.New(strings.TrimPrefix(e.URL, "http://"), management.WithInsecure(), management.WithStaticToken(e.Mgmt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitJob polls a job until it ends.
func waitJob(t *testing.T, e *testenv.Env, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j := e.API("GET", "/jobs/"+id, nil, 200)
		if s := j["status"]; s == "completed" || s == "failed" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %v", id, j["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// importFile posts a users file as a multipart form, as Auth0's SDKs do.
func importFile(t *testing.T, e *testenv.Env, connID string, upsert bool, file []byte) map[string]any {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("users", "users.json")
	fw.Write(file)
	mw.WriteField("connection_id", connID)
	mw.WriteField("upsert", fmt.Sprint(upsert))
	mw.WriteField("send_completion_email", "false")
	mw.Close()
	req, _ := http.NewRequest("POST", e.URL+"/api/v2/jobs/users-imports", &body)
	req.Header.Set("Authorization", "Bearer "+e.Mgmt)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, job, _ := e.Do(req)
	if status != 202 {
		t.Fatalf("import: %d %v", status, job)
	}
	return waitJob(t, e, job["id"].(string))
}

func login(e *testenv.Env, tn *testenv.Tenant, username, password string) (int, map[string]any) {
	return e.PostForm("/oauth/token", url.Values{
		"grant_type": {"password"}, "username": {username}, "password": {password},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}, "scope": {"openid"},
	})
}

func summary(j map[string]any) map[string]any {
	s, _ := j["summary"].(map[string]any)
	return s
}

// A file with a row for every hash algorithm Auth0 imports, sent with
// go-auth0's Job.ImportUsers unchanged: every user logs in with their old
// password over HTTP and is then on the native hash.
func TestImportEveryAlgorithmLogsInAndRehashes(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			var opts []testenv.Option
			if pg {
				opts = append(opts, testenv.WithPostgres())
			}
			e := testenv.Start(t, opts...)
			tn := e.SeedTenant()
			cases := importtest.Cases(oldPassword, bcrypt.MinCost)
			var users []map[string]any
			for _, c := range cases {
				users = append(users, map[string]any{"email": c.Name + "@import.test", "email_verified": true,
					"custom_password_hash": c.Hash, "given_name": c.Name})
			}
			bc, _ := bcrypt.GenerateFromPassword([]byte(oldPassword), bcrypt.MinCost)
			users = append(users, map[string]any{"email": "plain-bcrypt@import.test", "password_hash": string(bc),
				"user_id": "legacy-42", "mfa_factors": []any{map[string]any{"totp": map[string]any{"secret": "JBSWY3DPEHPK3PXPJBSWY3DP"}}}})

			m := goAuth0(t, e)
			job := &management.Job{ConnectionID: &tn.ConnectionID, Users: users, Upsert: new(bool), SendCompletionEmail: new(bool)}
			if err := m.Job.ImportUsers(context.Background(), job); err != nil {
				t.Fatalf("go-auth0 ImportUsers: %v", err)
			}
			if job.GetID() == "" || job.GetStatus() != "pending" || job.GetType() != "users_import" {
				t.Fatalf("job as created: %+v", job)
			}
			var read *management.Job
			for deadline := time.Now().Add(60 * time.Second); ; {
				var err error
				if read, err = m.Job.Read(context.Background(), job.GetID()); err != nil {
					t.Fatal(err)
				}
				if read.GetStatus() == "completed" || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if read.GetStatus() != "completed" || read.Summary.GetInserted() != len(users) || read.Summary.GetFailed() != 0 || read.Summary.GetTotal() != len(users) {
				errs, _ := m.Job.ReadErrors(context.Background(), job.GetID())
				t.Fatalf("job %s %+v, errors %+v", read.GetStatus(), read.Summary, errs)
			}

			ctx := context.Background()
			for i, u := range users {
				email := u["email"].(string)
				t.Run(email, func(t *testing.T) {
					stored, err := e.App.Store.UserByIdentifier(ctx, tn.ConnectionID, email)
					if err != nil {
						t.Fatal(err)
					}
					// (Each refusal is padded to the slowest class: a few suffice.)
					if i%5 == 0 {
						if status, body := login(e, tn, email, oldPassword+"!"); status != 403 {
							t.Fatalf("wrong password: %d %v", status, body)
						}
					}
					if status, body := login(e, tn, email, oldPassword); status != 200 {
						t.Fatalf("old password: %d %v", status, body)
					}
					after, err := e.App.Store.GetUser(ctx, stored.UserID)
					if err != nil {
						t.Fatal(err)
					}
					if after.PasswordHash == stored.PasswordHash || passwords.IsImported(after.PasswordHash) || !strings.HasPrefix(after.PasswordHash, "$2") {
						t.Fatalf("not rehashed natively: before %.20q after %.20q", stored.PasswordHash, after.PasswordHash)
					}
					if status, _ := login(e, tn, email, oldPassword); status != 200 {
						t.Fatalf("second login on the native hash: %d", status)
					}
				})
			}
			legacy, err := e.App.Store.GetUser(ctx, "auth0|legacy-42")
			if err != nil {
				t.Fatal(err)
			}
			factors, err := e.App.Store.ListAuthenticators(ctx, legacy.UserID)
			if err != nil || len(factors) != 1 || factors[0].Kind != "totp" || factors[0].Secret != "JBSWY3DPEHPK3PXPJBSWY3DP" || !factors[0].Active {
				t.Fatalf("imported totp factor: %v %+v", err, factors)
			}
		})
	}
}

// A second import with upsert changes only what Auth0's upsert changes; bad
// rows are reported with their index, code, message and path while the
// others import.
func TestImportUpsertAndErrorRows(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	md5 := func(pw string) map[string]any {
		for _, c := range importtest.Cases(pw, bcrypt.MinCost) {
			if c.Name == "md5-hex" {
				return c.Hash
			}
		}
		panic("no md5 case")
	}
	first, _ := json.Marshal([]any{
		map[string]any{"email": "kim@up.test", "name": "Kim", "blocked": false, "app_metadata": map[string]any{"plan": "free"},
			"custom_password_hash": md5("first password")},
		map[string]any{"email": "lee@up.test", "custom_password_hash": md5("lee password")},
	})
	j := importFile(t, e, tn.ConnectionID, false, first)
	if s := summary(j); j["status"] != "completed" || s["inserted"] != 2.0 {
		t.Fatalf("first import: %v", j)
	}
	// lee logs in: the imported hash is replaced, so an upsert may no
	// longer change it.
	if status, _ := login(e, tn, "lee@up.test", "lee password"); status != 200 {
		t.Fatal("lee cannot log in")
	}
	big := strings.Repeat("x", 1<<20)
	second, _ := json.Marshal([]any{
		map[string]any{"email": "KIM@up.test", "name": "Kim Renamed", "blocked": true,
			"app_metadata": map[string]any{"plan": "gold"}, "custom_password_hash": md5("second password")},
		map[string]any{"email": "lee@up.test", "custom_password_hash": md5("another")},
		map[string]any{"email": "not-an-email"},
		map[string]any{"email": "x@up.test", "favourite_colour": "blue"},
		map[string]any{"email": "y@up.test", "custom_password_hash": map[string]any{"algorithm": "crc32", "hash": map[string]any{"value": "00"}}},
		map[string]any{"email": "z@up.test", "user_metadata": map[string]any{"blob": big}},
		map[string]any{"email": "w@up.test", "name": big},
		"not an object",
		map[string]any{"email": "new@up.test", "custom_password_hash": md5("new password")},
	})
	j = importFile(t, e, tn.ConnectionID, true, second)
	s := summary(j)
	if j["status"] != "completed" || s["total"] != 9.0 || s["updated"] != 1.0 || s["inserted"] != 1.0 || s["failed"] != 7.0 {
		t.Fatalf("second import: %v", j)
	}
	kim, _ := e.App.Store.UserByIdentifier(context.Background(), tn.ConnectionID, "kim@up.test")
	if kim.Name != "Kim Renamed" || kim.Blocked || kim.AppMetadata["plan"] != "gold" {
		t.Fatalf("upserted kim: %+v", kim)
	}
	if status, _ := login(e, tn, "kim@up.test", "second password"); status != 200 {
		t.Fatal("the upserted custom hash does not log kim in")
	}
	errs := e.API("GET", "/jobs/"+j["id"].(string)+"/errors", nil, 200)["list"].([]any)
	type want struct {
		email, code, path string
	}
	wants := []want{
		{"lee@up.test", "PASSWORD_HASH_CONFLICT", "custom_password_hash"},
		{"not-an-email", "INVALID_FORMAT", "email"},
		{"x@up.test", "OBJECT_ADDITIONAL_PROPERTIES", ""},
		{"y@up.test", "ENUM_MISMATCH", "custom_password_hash.algorithm"},
		{"z@up.test", "MAX_LENGTH", "user_metadata"},
		{"w@up.test", "MAX_LENGTH", "name"},
		{"", "INVALID_TYPE", ""},
	}
	if len(errs) != len(wants) {
		t.Fatalf("%d failed rows reported, want %d: %v", len(errs), len(wants), errs)
	}
	for i, w := range wants {
		row := errs[i].(map[string]any)
		user, _ := row["user"].(map[string]any)
		detail := row["errors"].([]any)[0].(map[string]any)
		if w.email != "" && user["email"] != w.email && !(w.email == "z@up.test" || w.email == "w@up.test") {
			t.Errorf("row %d: user %v, want %s", i, user, w.email)
		}
		if detail["code"] != w.code || (detail["path"] != nil && detail["path"] != w.path) || (detail["path"] == nil && w.path != "") || detail["message"] == "" {
			t.Errorf("row %d: %v, want %s at %q", i, detail, w.code, w.path)
		}
	}
	// Without upsert an existing user is a duplicate.
	j = importFile(t, e, tn.ConnectionID, false, []byte(`[{"email":"kim@up.test","name":"again"}]`))
	errs = e.API("GET", "/jobs/"+j["id"].(string)+"/errors", nil, 200)["list"].([]any)
	if summary(j)["failed"] != 1.0 || errs[0].(map[string]any)["errors"].([]any)[0].(map[string]any)["code"] != "DUPLICATED_USER" {
		t.Fatalf("duplicate without upsert: %v %v", j, errs)
	}
}

// Files that cannot be read to the end fail the job with a reason; the
// rows before the fault stay.
func TestImportBadFiles(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	for _, tc := range []struct {
		name, file, reason string
		inserted           float64
	}{
		{"not json", `hello`, "must be a JSON array", 0},
		{"truncated", `[{"email":"a@t.test"},{"email":"b@t`, "row 1", 1},
		{"row over the limit", `[{"email":"c@t.test"},{"email":"d@t.test","user_metadata":{"x":"` + strings.Repeat("y", 3<<20) + `"}}]`, "larger than", 1},
	} {
		j := importFile(t, e, tn.ConnectionID, false, []byte(tc.file))
		if j["status"] != "failed" || !strings.Contains(fmt.Sprint(j["status_details"]), tc.reason) || summary(j)["inserted"] != tc.inserted {
			t.Errorf("%s: %v", tc.name, j)
		}
	}
	// A file over the upload limit is refused before any job exists.
	small := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.ImportMaxBytes = 1000 }))
	stn := small.SeedTenant()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("connection_id", stn.ConnectionID)
	fw, _ := mw.CreateFormFile("users", "users.json")
	fw.Write([]byte("[" + strings.Repeat(`{"email":"a@b.test"},`, 100) + `{"email":"z@b.test"}]`))
	mw.Close()
	req, _ := http.NewRequest("POST", small.URL+"/api/v2/jobs/users-imports", &body)
	req.Header.Set("Authorization", "Bearer "+small.Mgmt)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, resp, _ := small.Do(req)
	if status != 413 || resp["errorCode"] != "payload_too_large" {
		t.Fatalf("oversized upload: %d %v", status, resp)
	}
	// Unknown connections and missing parts are refused in Auth0's shape.
	req, _ = http.NewRequest("POST", e.URL+"/api/v2/jobs/users-imports", strings.NewReader("--x--\r\n"))
	req.Header.Set("Authorization", "Bearer "+e.Mgmt)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if status, resp, _ := e.Do(req); status != 400 || resp["statusCode"] != 400.0 {
		t.Fatalf("empty form: %d %v", status, resp)
	}
	if status, resp := e.PostJSON("/api/v2/jobs/users-imports", map[string]any{}); status != 401 {
		t.Fatalf("no token: %d %v", status, resp)
	}
	e.API("GET", "/jobs/job_doesnotexist0000", nil, 404)
}

// An export (gzipped JSON lines, with the hashes asked for) imported into a
// fresh server gives the same users, who still log in; CSV exports too.
func TestExportThenReimport(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	var users []any
	for i, c := range importtest.Cases(oldPassword, bcrypt.MinCost)[:6] {
		users = append(users, map[string]any{"email": fmt.Sprintf("u%d@exp.test", i), "custom_password_hash": c.Hash,
			"user_metadata": map[string]any{"i": i}, "app_metadata": map[string]any{"role": "r"}})
	}
	file, _ := json.Marshal(users)
	if j := importFile(t, e, tn.ConnectionID, false, file); summary(j)["inserted"] != 6.0 {
		t.Fatal(j)
	}
	// One of them logs in first, so the export holds a native hash too.
	if status, _ := login(e, tn, "u0@exp.test", oldPassword); status != 200 {
		t.Fatal("login before export")
	}
	fields := []map[string]any{}
	for _, f := range []string{"user_id", "email", "email_verified", "given_name", "name", "nickname", "picture", "blocked", "app_metadata", "user_metadata", "custom_password_hash"} {
		fields = append(fields, map[string]any{"name": f})
	}
	job := e.API("POST", "/jobs/users-exports", map[string]any{"connection_id": tn.ConnectionID, "format": "json", "fields": fields}, 201)
	loc, _ := job["location"].(string)
	if job["type"] != "users_export" || !strings.HasPrefix(loc, e.Issuer+"jobs/files/"+job["id"].(string)+"/") {
		t.Fatalf("export job: %v", job)
	}
	waitJob(t, e, job["id"].(string))
	resp, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatalf("export is not gzip: %v", err)
	}
	exported, _ := io.ReadAll(gz)
	resp.Body.Close()
	if n := bytes.Count(exported, []byte("\n")); n != 7 { // the seed user and the six
		t.Fatalf("%d lines exported:\n%s", n, exported)
	}
	// A wrong token is a 404, the right one without the name too.
	bad := loc[:strings.LastIndex(loc[:strings.LastIndex(loc, "/")], "/")] + "/AAAA/users.json.gz"
	if r, _ := http.Get(bad); r.StatusCode != 404 {
		t.Fatalf("wrong token: %d", r.StatusCode)
	}

	fresh := testenv.Start(t)
	ftn := fresh.SeedTenant()
	j := importFile(t, fresh, ftn.ConnectionID, true, exported)
	// The seed user exists there with her own password: her row fails.
	if s := summary(j); j["status"] != "completed" || s["inserted"] != 6.0 || s["failed"] != 1.0 {
		t.Fatalf("re-import: %v %v", j, fresh.API("GET", "/jobs/"+j["id"].(string)+"/errors", nil, 200))
	}
	for i := range 6 {
		email := fmt.Sprintf("u%d@exp.test", i)
		old, _ := e.App.Store.UserByIdentifier(context.Background(), tn.ConnectionID, email)
		moved, err := fresh.App.Store.UserByIdentifier(context.Background(), ftn.ConnectionID, email)
		if err != nil || moved.UserID != old.UserID || moved.UserMetadata["i"] != float64(i) || moved.AppMetadata["role"] != "r" {
			t.Fatalf("%s moved as %+v (%v), was %+v", email, moved, err, old)
		}
		if status, _ := login(fresh, ftn, email, oldPassword); status != 200 {
			t.Fatalf("%s cannot log in after the move", email)
		}
	}

	csvJob := e.API("POST", "/jobs/users-exports", map[string]any{"connection_id": tn.ConnectionID, "format": "csv",
		"fields": []map[string]any{{"name": "email", "export_as": "Email"}, {"name": "user_metadata.i", "export_as": "I"}}}, 201)
	waitJob(t, e, csvJob["id"].(string))
	resp, err = http.Get(csvJob["location"].(string))
	if err != nil {
		t.Fatal(err)
	}
	gz, _ = gzip.NewReader(resp.Body)
	csvText, _ := io.ReadAll(gz)
	resp.Body.Close()
	if !strings.HasPrefix(string(csvText), "Email,I\n") || !strings.Contains(string(csvText), "u3@exp.test,3\n") {
		t.Fatalf("csv export:\n%s", csvText)
	}
}
