package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/jobs"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tenant"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// peakRSS resets (when reset) or reads the process's peak resident set
// size, in MiB, from /proc (Linux).
func peakRSS(b *testing.B, reset bool) float64 {
	if reset {
		// Writing 5 to clear_refs resets VmHWM to the current RSS.
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Logf("cannot reset the peak RSS: %v", err)
		}
		return 0
	}
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}

// writeFile writes n rows made by row to a users file, streaming.
func writeFile(b *testing.B, n int, row func(i int) string) (string, int64) {
	path := filepath.Join(b.TempDir(), "users.json")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("[")
	for i := range n {
		if i > 0 {
			w.WriteString(",\n")
		}
		w.WriteString(row(i))
	}
	w.WriteString("]\n")
	w.Flush()
	fi, _ := f.Stat()
	f.Close()
	return path, fi.Size()
}

func openStore(b *testing.B, dialect string) (store.Store, *store.Connection) {
	sealer, _ := seal.New(seal.ParseSecret("bench-master-secret-with-enough-entropy-0000"))
	dsn := filepath.Join(b.TempDir(), "gatehouse.db")
	if dialect == "postgres" {
		dsn = testenv.PostgresDatabase(b)
	}
	st, err := sqlstore.Open(context.Background(), dsn, sealer)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	conn := &store.Connection{ID: "con_bench0000000000", Name: "db", Strategy: "auth0"}
	if err := st.CreateConnection(context.Background(), conn); err != nil {
		b.Fatal(err)
	}
	return st, conn
}

// runImport imports path into a fresh job and reports users/s and the
// peak RSS during the import.
func runImport(b *testing.B, st store.Store, conn *store.Connection, path string) store.JobSummary {
	svc := &jobs.Service{Store: st, Tenant: &tenant.Service{Store: st}}
	ctx := context.Background()
	job, target, err := svc.NewImportJob(ctx, jobs.ImportRequest{ConnectionID: conn.ID})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	peakRSS(b, true)
	start := time.Now()
	if err := svc.RunImport(ctx, job, target, f, nil); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	b.ReportMetric(float64(job.Summary.Total)/d.Seconds(), "rows/s")
	b.ReportMetric(peakRSS(b, false), "peak-RSS-MiB")
	return job.Summary
}

// BenchmarkImportBcrypt imports 10,000 users with bcrypt password hashes
// (Auth0's password_hash; one cost-10 hash shared by every row, as the
// import checks a hash's format and never computes one) into an empty
// connection, on SQLite and on PostgreSQL.
//
//	go test -run '^$' -bench ImportBcrypt -benchtime 1x ./internal/jobs
func BenchmarkImportBcrypt(b *testing.B) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("the old password"), passwords.BcryptCost)
	path, _ := writeFile(b, 10000, func(i int) string {
		return fmt.Sprintf(`{"email":"user%d@bench.test","email_verified":true,"given_name":"User","family_name":"N%d","password_hash":%q,"app_metadata":{"plan":"gold"}}`, i, i, hash)
	})
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				st, conn := openStore(b, dialect)
				b.StartTimer()
				if s := runImport(b, st, conn, path); s.Inserted != 10000 {
					b.Fatalf("summary %+v", s)
				}
			}
		})
	}
}

// BenchmarkImportMillionRows streams a file of 1,000,000 rows (~70 MB)
// whose every row has a hash format Auth0 does not have: each row is
// refused with its reason, the first 10,000 are kept, and memory stays
// flat however long the file.
//
//	go test -run '^$' -bench ImportMillionRows -benchtime 1x ./internal/jobs
func BenchmarkImportMillionRows(b *testing.B) {
	path, size := writeFile(b, 1000000, func(i int) string {
		return fmt.Sprintf(`{"email":"u%d@big.test","custom_password_hash":{"algorithm":"crc32","hash":{"value":"%08x"}}}`, i, i)
	})
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
	for b.Loop() {
		b.StopTimer()
		st, conn := openStore(b, "sqlite")
		b.StartTimer()
		if s := runImport(b, st, conn, path); s.Failed != 1000000 {
			b.Fatalf("summary %+v", s)
		}
	}
}
