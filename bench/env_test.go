package bench

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/bench/harness"
	"github.com/gatehouse/gatehouse/internal/server"
)

// env is an in-process gatehouse over a fresh SQLite file with a seeded
// tenant whose user's password is hashed at bcrypt's minimum cost.
type env struct {
	local *harness.Local
	tn    *harness.Tenant
}

// minCostHash makes bcrypt at its minimum cost the server's native hash,
// so users created through the Management API get such hashes and a login
// does not rehash them. The pipeline is then measured without the real
// hash, whose cost is a ceiling of its own (BenchmarkReference).
func minCostHash(a *server.App) { a.Hasher.BcryptCost = bcrypt.MinCost }

// newEnv starts an env over a fresh SQLite file and stops it when the
// benchmark ends.
func newEnv(tb testing.TB) *env { return newEnvLogging(tb, slog.LevelInfo) }

// newEnvLogging is newEnv with logs encoded from level up.
func newEnvLogging(tb testing.TB, level slog.Level) *env {
	tb.Helper()
	ctx := context.Background()
	cfg := harness.ServerConfig{Database: filepath.Join(tb.TempDir(), "gatehouse.db"), PasswordHash: "bcrypt"}
	l, err := harness.StartLocal(ctx, cfg, harness.InProcess{Tune: minCostHash, LogLevel: level})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	tn, err := harness.Seed(ctx, l.Mgmt)
	if err != nil {
		tb.Fatal(err)
	}
	return &env{local: l, tn: tn}
}

// post sends form to the token endpoint through the server's handler, the
// whole middleware chain included, without a network.
func (e *env) post(form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.local.App.Handler.ServeHTTP(rec, req)
	return rec
}

// grantFrom is grant from the client address remote ("ip:port").
func (e *env) grantFrom(tb testing.TB, form url.Values, remote string) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	e.local.App.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("password grant from %s: status %d %s", remote, rec.Code, rec.Body)
	}
}

// grant posts form and returns the answer's refresh token, failing tb
// unless the server issued tokens.
func (e *env) grant(tb testing.TB, form url.Values) string {
	tb.Helper()
	rec := e.post(form)
	var body struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Error        string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK || body.AccessToken == "" {
		tb.Fatalf("%s grant: status %d, error %q", form.Get("grant_type"), rec.Code, body.Error)
	}
	return body.RefreshToken
}

// perOp is the mean time per iteration of a finished benchmark loop.
func perOp(b *testing.B) time.Duration {
	if b.N == 0 {
		return 0
	}
	return b.Elapsed() / time.Duration(b.N)
}

// reportRatio reports the time per iteration as a multiple of ref (a
// reference measured in the same run), under unit ("x-rs256", ...).
func reportRatio(b *testing.B, d, ref time.Duration, unit string) {
	if ref > 0 {
		b.ReportMetric(float64(d)/float64(ref), unit)
	}
}

// references are the same-run medians the benchmarks are read against.
type references struct {
	sign    time.Duration // one RS256 signature
	write   time.Duration // one durable single-row commit
	minCost time.Duration // one bcrypt verification at MinCost
}

func measureReferences(b *testing.B) references {
	b.Helper()
	var r references
	var err error
	if r.sign, err = harness.MeasureSign(50); err != nil {
		b.Fatal(err)
	}
	if r.write, err = harness.MeasureDurableWrite(context.Background(), b.TempDir(), 30); err != nil {
		b.Fatal(err)
	}
	if r.minCost, err = harness.MeasureBcryptVerify(bcrypt.MinCost, 30); err != nil {
		b.Fatal(err)
	}
	return r
}
