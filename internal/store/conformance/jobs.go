package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func jobTests() []test {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	newJob := func(id, status string, hb time.Time) *store.Job {
		return &store.Job{ID: id, Type: store.JobUsersImport, Status: status, ConnectionID: "con_1",
			Connection: "db", ExternalID: "ext", Upsert: true, Summary: store.JobSummary{Total: 3},
			CreatedAt: at, HeartbeatAt: hb}
	}
	return []test{
		{"JobRoundTripAndUpdate", func(t *testing.T, s store.Store) {
			j := newJob("job_1", store.JobPending, at)
			must(t, s.CreateJob(ctx(t), newJob("job_1", store.JobPending, at)))
			wantErr(t, s.CreateJob(ctx(t), newJob("job_1", store.JobPending, at)), store.ErrConflict)
			wantEqual(t, "job", ok[*store.Job](t)(s.GetJob(ctx(t), "job_1")), j)
			got := ok[*store.Job](t)(s.UpdateJob(ctx(t), "job_1", func(j *store.Job) error {
				j.Status, j.Summary = store.JobCompleted, store.JobSummary{Inserted: 2, Failed: 1, Total: 3}
				return nil
			}))
			wantEqual(t, "updated", ok[*store.Job](t)(s.GetJob(ctx(t), "job_1")), got)
			_, err := s.GetJob(ctx(t), "job_2")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"AbandonedJobsFailOnlyWhenStale", func(t *testing.T, s store.Store) {
			must(t, s.CreateJob(ctx(t), newJob("job_old", store.JobProcessing, at)))
			must(t, s.CreateJob(ctx(t), newJob("job_pending", store.JobPending, at)))
			must(t, s.CreateJob(ctx(t), newJob("job_fresh", store.JobProcessing, at.Add(time.Hour))))
			must(t, s.CreateJob(ctx(t), newJob("job_done", store.JobCompleted, at)))
			n := ok[int](t)(s.FailAbandonedJobs(ctx(t), at.Add(time.Minute), "node stopped"))
			wantEqual(t, "failed", n, 2)
			for id, want := range map[string]string{"job_old": store.JobFailed, "job_pending": store.JobFailed,
				"job_fresh": store.JobProcessing, "job_done": store.JobCompleted} {
				j := ok[*store.Job](t)(s.GetJob(ctx(t), id))
				wantEqual(t, id, j.Status, want)
				if want == store.JobFailed {
					wantEqual(t, id+" reason", j.Reason, "node stopped")
				}
			}
		}},
		{"JobErrorsListByIndexPerJob", func(t *testing.T, s store.Store) {
			e := func(job string, i int) *store.JobError {
				return &store.JobError{JobID: job, Index: i, User: []byte(fmt.Sprintf(`{"email":"u%d@x.test"}`, i)),
					Errors: []store.JobErrorDetail{{Code: "INVALID_FORMAT", Message: "bad", Path: "email"}}}
			}
			must(t, s.AddJobErrors(ctx(t), []*store.JobError{e("job_1", 5), e("job_1", 2), e("job_2", 1)}))
			must(t, s.AddJobErrors(ctx(t), []*store.JobError{e("job_1", 9)}))
			got := ok[[]*store.JobError](t)(s.ListJobErrors(ctx(t), "job_1", 10))
			wantEqual(t, "errors", got, []*store.JobError{e("job_1", 2), e("job_1", 5), e("job_1", 9)})
			wantEqual(t, "limited", len(ok[[]*store.JobError](t)(s.ListJobErrors(ctx(t), "job_1", 2))), 2)
			wantEqual(t, "none", len(ok[[]*store.JobError](t)(s.ListJobErrors(ctx(t), "job_3", 2))), 0)
		}},
		{"JobFileChunksReadInOrder", func(t *testing.T, s store.Store) {
			wantErr(t, s.ReadJobFile(ctx(t), "job_1", func([]byte) error { return nil }), store.ErrNotFound)
			for _, c := range []string{"one,", "two,", "three"} {
				must(t, s.AppendJobFile(ctx(t), "job_1", []byte(c)))
			}
			must(t, s.AppendJobFile(ctx(t), "job_2", []byte("other")))
			var b bytes.Buffer
			must(t, s.ReadJobFile(ctx(t), "job_1", func(c []byte) error { b.Write(c); return nil }))
			wantEqual(t, "file", b.String(), "one,two,three")
			stop := errors.New("stop")
			wantErr(t, s.ReadJobFile(ctx(t), "job_1", func([]byte) error { return stop }), stop)
		}},
	}
}

func userImportTests() []test {
	keepNameMerge := func(stored, in *store.User) (*store.User, error) {
		out := *stored
		out.Name = in.Name
		return &out, nil
	}
	return []test{
		{"BatchInsertsUpdatesAndFailsRowsAlone", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|old", "con_1", "db", "old@x.test", "olduser")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|elsewhere", "con_2", "other", "e@x.test", "")))
			in := func(id, email, username, name string) *store.User {
				u := newUser(id, "", "db", email, username)
				u.Name = name
				return u
			}
			refuse := errors.New("refused by merge")
			batch := []*store.User{
				in("auth0|n1", "n1@x.test", "n1", "New One"),
				in("auth0|other-id", "OLD@x.test", "", "Renamed"),      // matches by email: merged
				in("auth0|n2", "n2@x.test", "olduser", "Taken"),        // username of another user
				in("auth0|elsewhere", "n3@x.test", "", "Id elsewhere"), // user_id of another connection's user
				in("auth0|n1", "dup@x.test", "", "Same id twice"),      // matches the row inserted above
				in("auth0|n4", "n4@x.test", "", "Four"),
			}
			calls := 0
			res := ok[[]store.ImportResult](t)(s.ImportUsers(ctx(t), "con_1", batch, func(stored, in *store.User) (*store.User, error) {
				calls++
				if stored.UserID == "auth0|n1" {
					return nil, refuse
				}
				return keepNameMerge(stored, in)
			}))
			want := []store.ImportOutcome{store.ImportInserted, store.ImportUpdated, store.ImportFailed, store.ImportFailed, store.ImportFailed, store.ImportInserted}
			for i, r := range res {
				wantEqual(t, fmt.Sprintf("row %d outcome (err %v)", i, r.Err), r.Outcome, want[i])
			}
			wantErr(t, res[2].Err, store.ErrConflict)
			wantErr(t, res[3].Err, store.ErrConflict)
			wantErr(t, res[4].Err, refuse)
			wantEqual(t, "merge calls", calls, 2)
			old := ok[*store.User](t)(s.GetUser(ctx(t), "auth0|old"))
			wantEqual(t, "merged name", old.Name, "Renamed")
			wantEqual(t, "merged keeps email", old.Email, "old@x.test")
			n1 := ok[*store.User](t)(s.UserByIdentifier(ctx(t), "con_1", "n1"))
			wantEqual(t, "inserted", n1.UserID, "auth0|n1")
			wantEqual(t, "inserted connection id", n1.ConnectionID, "con_1")
			_, err := s.GetUser(ctx(t), "auth0|n2")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"EachUserVisitsAConnectionsUsersInOrder", func(t *testing.T, s store.Store) {
			var batch []*store.User
			for i := range 1203 {
				batch = append(batch, newUser(fmt.Sprintf("auth0|%05d", i), "", "db", fmt.Sprintf("u%d@x.test", i), ""))
			}
			res := ok[[]store.ImportResult](t)(s.ImportUsers(ctx(t), "con_1", batch, keepNameMerge))
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("row %d: %v", i, r.Err)
				}
			}
			must(t, s.CreateUser(ctx(t), newUser("auth0|x", "con_2", "other", "x@x.test", "")))
			var seen []string
			must(t, s.EachUser(ctx(t), "con_1", func(u *store.User) error { seen = append(seen, u.UserID); return nil }))
			wantEqual(t, "count", len(seen), 1203)
			wantEqual(t, "first", seen[0], "auth0|00000")
			wantEqual(t, "last", seen[1202], "auth0|01202")
		}},
	}
}
