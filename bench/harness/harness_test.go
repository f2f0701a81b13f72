package harness

import (
	"context"
	"database/sql"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestPercentileIsNearestRank(t *testing.T) {
	sorted := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.9, 9}, {0.99, 10}, {1, 10}, {0.01, 1}}
	for _, c := range cases {
		if got := Percentile(sorted, c.p); got != c.want {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile of nothing = %v, want 0", got)
	}
}

func TestSummaryCountsOnlySuccessesInLatencyAndThroughput(t *testing.T) {
	var a, b Recorder
	a.Add(Result{Status: 200}, ms(10))
	a.Add(Result{Status: 503, Code: "temporarily_unavailable"}, ms(1))
	b.Add(Result{Status: 200}, ms(30))
	b.Add(Result{Status: 200}, ms(20))
	b.Add(Result{Status: 503, Code: "temporarily_unavailable"}, ms(1))
	b.Add(Result{Transport: "timeout"}, ms(1))
	a.Merge(&b)
	s := a.Summarize(2 * time.Second)
	if s.Requests != 6 || s.OK != 3 || s.ErrorCount() != 3 {
		t.Fatalf("requests %d ok %d errors %d, want 6 3 3", s.Requests, s.OK, s.ErrorCount())
	}
	if s.P50 != ms(20) || s.Max != ms(30) || s.Mean != ms(20) {
		t.Errorf("p50 %v max %v mean %v, want 20ms 30ms 20ms", s.P50, s.Max, s.Mean)
	}
	if s.Throughput() != 1.5 {
		t.Errorf("throughput %v, want 1.5", s.Throughput())
	}
	if got, want := s.ErrorsLine(), "503 temporarily_unavailable: 2, transport timeout: 1"; got != want {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestCeilingsFollowTheIssueFormulas(t *testing.T) {
	// Issue 4's own figures: a 1.0 ms signature on 2 cores gives 990/s for
	// access + ID token (1000/s without overheads) and 760/s with one
	// durable write (0.316 ms).
	c := Ceilings{Cores: 2, Verify: ms(50), Sign: ms(1), Write: ms(0.316)}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1 }
	if got := c.PasswordRate(); !near(got, 40) {
		t.Errorf("password ceiling %.1f, want 40", got)
	}
	if got := c.RefreshRate(); !near(got, 760) {
		t.Errorf("refresh ceiling %.1f, want 760", got)
	}
	c.Write = 0
	if got := c.RefreshRate(); !near(got, 1000) {
		t.Errorf("refresh ceiling without a write %.1f, want 1000", got)
	}
	if got := c.ClientCredentialsRate(); !near(got, 2000) {
		t.Errorf("client_credentials ceiling %.1f, want 2000", got)
	}
	// Two cores that together sign 1.6 signatures in one signature's time:
	// 0.625 ms a signature, so 800/s for the pair of them.
	c.SignAll = ms(0.625)
	if got := c.RefreshRateAllCores(); !near(got, 800) {
		t.Errorf("refresh ceiling with measured scaling %.1f, want 800", got)
	}
	if got := c.SignScaling(); math.Abs(got-1.6) > 0.001 {
		t.Errorf("scaling %.3f, want 1.6", got)
	}
}

func TestParseCPUCounters(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, stat string
		want       time.Duration
		bad        bool
	}{
		{"plain", "123 (gatehouse) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0", 3 * time.Second, false},
		{"spaces and parentheses in the name", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 30 * time.Millisecond, false},
		{"no name", "7 R 1", 0, true},
		{"short", "7 (x) R 1 2", 0, true},
		{"not a number", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 x 2 0 0", 0, true},
	} {
		got, err := parseProcessCPU(c.stat)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("%s: %v, %v; want %v (error %v)", c.name, got, err, c.want, c.bad)
		}
	}
	idle, total, err := parseMachineCPU("cpu  100 5 20 300 10 1 2 3 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")
	if err != nil || idle != 3100*time.Millisecond || total != 4410*time.Millisecond {
		t.Errorf("machine: idle %v total %v (%v); want 3.1s and 4.41s", idle, total, err)
	}
	if _, _, err := parseMachineCPU("intr 1 2 3\n"); err == nil {
		t.Error("a /proc/stat without its cpu line parsed")
	}
}

// TestCeilingsPoolBeforeAndAfter: the pooled ceiling takes the medians of
// both probes' samples, not the mean of their medians, and leaves the
// probe it was built from as it was.
func TestCeilingsPoolBeforeAndAfter(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	before := Ceilings{Cores: 2, Sign: 2 * time.Millisecond, Write: 1 * time.Millisecond,
		signs: ms(1, 2, 3), signAlls: ms(1, 1, 1), writes: ms(1, 1, 1)}
	after := Ceilings{Cores: 2, signs: ms(4, 5, 6, 7, 8), signAlls: ms(3, 3, 3, 3), writes: ms(9, 9, 9, 9)}
	p := before.Pool(after)
	if p.Sign != 4*time.Millisecond || p.SignAll != 3*time.Millisecond || p.Write != 9*time.Millisecond {
		t.Errorf("pooled sign %v, sign-all %v, write %v; want 4ms, 3ms, 9ms (medians of the pooled samples)", p.Sign, p.SignAll, p.Write)
	}
	if want := 1 / (2*0.004/2 + 0.009); math.Abs(p.RefreshRate()-want) > 1e-9 {
		t.Errorf("pooled refresh ceiling %v/s, want %v/s", p.RefreshRate(), want)
	}
	if len(before.signs) != 3 || before.Sign != 2*time.Millisecond {
		t.Errorf("pooling changed the first probe: %v samples, sign %v", len(before.signs), before.Sign)
	}
}

// TestCeilingsAgainMeasuresAnew: a second probe measures the signature and
// the write again in the same directory, and keeps the hash's figure.
func TestCeilingsAgainMeasuresAnew(t *testing.T) {
	t.Parallel()
	c, err := MeasureCeilings(context.Background(), "bcrypt", SQLiteWrite(t.TempDir()), 1, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Again(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.signs) != 3 || len(again.writes) != 3 || len(again.signAlls) != 3 || again.Sign <= 0 || again.Write <= 0 {
		t.Errorf("second probe: %d signs, %d writes, %d sign-all runs, sign %v, write %v", len(again.signs), len(again.writes), len(again.signAlls), again.Sign, again.Write)
	}
	if again.Verify != c.Verify {
		t.Errorf("the hash was measured again: %v, first %v", again.Verify, c.Verify)
	}
	if p := c.Pool(again); len(p.signs) != 6 || len(p.writes) != 6 {
		t.Errorf("pooled %d signs and %d writes, want 6 each", len(p.signs), len(p.writes))
	}
}

// TestPostgresWriteProbeRotatesOneFamily: the PostgreSQL probe times
// compare-and-swap rotations of one family, each of which must succeed
// (a failed swap would time a refusal, not a write), and removes it.
func TestPostgresWriteProbeRotatesOneFamily(t *testing.T) {
	t.Parallel()
	dsn := testenv.PostgresDatabase(t)
	ctx := context.Background()
	samples, err := PostgresWrite(dsn)(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 4 || Median(samples) <= 0 {
		t.Fatalf("samples %v", samples)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM refresh_families").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d families left behind", left)
	}
}

func TestMeasureSignAllCores(t *testing.T) {
	d, err := MeasureSignAllCores(4, 2)
	if err != nil || d <= 0 {
		t.Fatalf("%v, %v", d, err)
	}
}

func TestParseStatusReadsRSSAndPeak(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t 1000 kB\nVmHWM:\t   30720 kB\nVmRSS:\t   20480 kB\nThreads:\t7\n"
	m, err := parseStatus(strings.NewReader(status))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 20<<20 || m.HWM != 30<<20 {
		t.Errorf("RSS %d HWM %d, want 20 MiB and 30 MiB", m.RSS, m.HWM)
	}
	if _, err := parseStatus(strings.NewReader("VmRSS:\t1 kB\n")); err == nil {
		t.Error("a status without VmHWM parsed")
	}
	if _, err := parseStatus(strings.NewReader("VmRSS:\t1 MB\nVmHWM:\t1 kB\n")); err == nil {
		t.Error("a status in unexpected units parsed")
	}
}

func TestReadMemoryOfThisProcess(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS {
		t.Errorf("RSS %d HWM %d: want 0 < RSS <= HWM", m.RSS, m.HWM)
	}
	if err := ResetPeak(os.Getpid()); err != nil {
		t.Logf("cannot reset the peak here: %v", err)
	}
}

func TestLoadAverageIsReadable(t *testing.T) {
	v, err := LoadAverage()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if v < 0 {
		t.Errorf("load average %v", v)
	}
}

func TestRunLoadStopsAfterCountPerClass(t *testing.T) {
	var calls atomic.Int64
	w := func(context.Context) Result {
		calls.Add(1)
		time.Sleep(time.Millisecond)
		return Result{Status: 200}
	}
	s := RunLoad(context.Background(), LoadConfig{Count: 25, Limit: 10 * time.Second},
		Class{Name: "a", Workers: []Worker{w, w, w}}, Class{Name: "b", Workers: []Worker{w}})
	for i, sum := range s {
		if sum.OK != 25 || sum.Elapsed <= 0 {
			t.Errorf("class %d: %d ok in %v, want 25 in a positive time", i, sum.OK, sum.Elapsed)
		}
	}
	if calls.Load() != 50 {
		t.Errorf("%d requests sent, want 50", calls.Load())
	}
}

func TestRunLoadMeasuresOnlyAfterWarmupAndBacksOff(t *testing.T) {
	var sent atomic.Int64
	busy := func(context.Context) Result {
		sent.Add(1)
		return Result{Status: 503, Code: "temporarily_unavailable", RetryAfter: time.Hour}
	}
	start := time.Now()
	s := RunLoad(context.Background(), LoadConfig{Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond, Backoff: true},
		Class{Name: "busy", Workers: []Worker{busy}})[0]
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("run took %v: the back-off outlived the run", took)
	}
	// The only request went out during the warmup, and its Retry-After
	// kept the worker quiet for the rest of the run.
	if sent.Load() != 1 || s.Requests != 0 {
		t.Errorf("sent %d, measured %d; want 1 sent, none measured", sent.Load(), s.Requests)
	}
}

// TestLocalServesTheSeededGrants runs every grant the load generator sends
// against an in-process server, refresh rotation included.
func TestLocalServesTheSeededGrants(t *testing.T) {
	ctx := context.Background()
	l, err := StartLocal(ctx, ServerConfig{Database: filepath.Join(t.TempDir(), "g.db"), PasswordHash: "bcrypt"},
		InProcess{Tune: func(a *server.App) { a.Hasher.BcryptCost = bcrypt.MinCost }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tn, err := Seed(ctx, l.Mgmt)
	if err != nil {
		t.Fatal(err)
	}
	tc := &TokenClient{HTTP: NewHTTPClient(2), URL: l.URL}
	conn := tc.Conn()
	defer conn.Close()
	for _, c := range []struct {
		name  string
		token func(context.Context, url.Values) (Result, error)
	}{{"http.Client", tc.Token}, {"a worker's own connection", conn.Token}} {
		res, err := c.token(ctx, tn.PasswordForm())
		if err != nil || !res.OK() || res.RefreshToken == "" {
			t.Fatalf("%s: password grant: %v %+v", c.name, err, res)
		}
		first := res.RefreshToken
		res, err = c.token(ctx, tn.RefreshForm(first))
		if err != nil || !res.OK() || res.RefreshToken == "" || res.RefreshToken == first {
			t.Fatalf("%s: refresh grant did not rotate: %v %+v", c.name, err, res)
		}
		res, err = c.token(ctx, tn.RefreshForm(first))
		if err != nil || res.OK() || res.Status != http.StatusForbidden || res.Code != "invalid_grant" {
			t.Errorf("%s: reusing a rotated token: %+v, want 403 invalid_grant", c.name, res)
		}
		res, err = c.token(ctx, tn.ClientCredentialsForm())
		if err != nil || !res.OK() {
			t.Errorf("%s: client_credentials grant: %v %+v", c.name, err, res)
		}
	}
	// A second seed on the same server does not collide with the first.
	if _, err := Seed(ctx, l.Mgmt); err != nil {
		t.Errorf("second seed: %v", err)
	}
}

// TestSpawnRunsAndStopsTheBinary builds gatehouse and runs it as the load
// generator's -gatehouse mode does.
func TestSpawnRunsAndStopsTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the gatehouse binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gatehouse")
	build := exec.Command("go", "build", "-o", bin, "github.com/gatehouse/gatehouse/cmd/gatehouse")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	p, err := Spawn(ctx, bin, filepath.Join(dir, "log"), ServerConfig{Database: filepath.Join(dir, "g.db"), PasswordHash: "bcrypt"})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			p.Stop()
		}
	}()
	if p.Ready <= 0 || p.PID <= 0 {
		t.Errorf("ready %v pid %d", p.Ready, p.PID)
	}
	if _, err := Connect(ctx, NewHTTPClient(1), p.URL, p.MgmtID, p.MgmtSecret); err != nil {
		t.Errorf("management credentials: %v", err)
	}
	m, err := ReadMemory(p.PID)
	if err != nil || m.RSS <= 0 {
		t.Errorf("server memory: %+v %v", m, err)
	}
	stopped = true
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(p.URL + "/healthz"); err == nil {
		t.Error("server still answers after Stop")
	}
}
