// Command loadgen puts load on gatehouse's token endpoint and reports
// throughput, latency percentiles and errors as ratios to the ceilings of
// the machine it runs on (one password verification, one RS256 signature,
// one durable SQLite write), measured in the same run before the load.
//
//	go run ./bench/cmd/loadgen -grant password -c 8 -d 10s
//	go run ./bench/cmd/loadgen -grant refresh -c 4
//	go run ./bench/cmd/loadgen -grant mixed -c 64 -rc 2
//	go run ./bench/cmd/loadgen -gatehouse /tmp/gatehouse -grant password -hash bcrypt
//	go run ./bench/cmd/loadgen -gatehouse /tmp/gatehouse -startup 10
//	go run ./bench/cmd/loadgen -url http://127.0.0.1:8080 -pid 1234 -hash argon2id
//	go run ./bench/cmd/loadgen -url http://127.0.0.1:8080,http://127.0.0.1:8081 -grant refresh
//
// By default it serves gatehouse in its own process over a fresh SQLite
// file. With -gatehouse it starts that binary instead (the fair way to read
// the server's memory), and with -url it targets a server already running
// on this machine. It only ever sends traffic to loopback addresses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/bench/harness"
	"github.com/gatehouse/gatehouse/internal/passwords"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
		os.Exit(2)
	}
}

// options are the command line.
type options struct {
	grant       string
	workers     int
	refreshers  int
	duration    time.Duration
	count       int
	limit       time.Duration
	warmup      time.Duration
	noBackoff   bool
	hash        string
	hashConc    int
	url         string
	urls        []string // every -url, in order; the first seeds the tenant
	mgmtID      string
	mgmtSecret  string
	pid         int
	gatehouse   string
	startup     int
	writeDir    string
	writeDB     string
	ceilingRuns int
	cpuProfile  string
	procs       int
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.grant, "grant", "password", "password, refresh, client_credentials or mixed (password workers saturating plus refresh workers)")
	fs.IntVar(&o.workers, "c", 8, "concurrent workers (in mixed mode: password workers)")
	fs.IntVar(&o.refreshers, "rc", 2, "refresh workers in mixed mode")
	fs.DurationVar(&o.duration, "d", 5*time.Second, "measured duration (after the warmup)")
	fs.IntVar(&o.count, "n", 0, "measured requests per class instead of -d")
	fs.DurationVar(&o.limit, "limit", 2*time.Minute, "time cap of a -n run")
	fs.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured warmup")
	fs.BoolVar(&o.noBackoff, "no-backoff", false, "retry at once after 503 instead of waiting for Retry-After")
	fs.StringVar(&o.hash, "hash", "argon2id", "the server's native password hash: argon2id or bcrypt (sets it for a server loadgen starts; must match one given with -url)")
	fs.IntVar(&o.hashConc, "hash-concurrency", 0, "the server's --hash-concurrency for a server loadgen starts (0: its default, the number of CPUs)")
	fs.Func("url", "base URL of a running gatehouse on this machine (loopback only); repeat it or give a comma list to spread the load over several nodes sharing one database (the first seeds the tenant)", func(v string) error {
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSuffix(strings.TrimSpace(u), "/"); u != "" {
				o.urls = append(o.urls, u)
			}
		}
		return nil
	})
	fs.StringVar(&o.mgmtID, "mgmt-client-id", getenv("GATEHOUSE_BOOTSTRAP_CLIENT_ID"), "Management API client id for -url (default $GATEHOUSE_BOOTSTRAP_CLIENT_ID)")
	fs.StringVar(&o.mgmtSecret, "mgmt-client-secret", getenv("GATEHOUSE_BOOTSTRAP_CLIENT_SECRET"), "Management API client secret for -url (default $GATEHOUSE_BOOTSTRAP_CLIENT_SECRET)")
	fs.IntVar(&o.pid, "pid", 0, "process id of the -url server, to report its idle and peak RSS")
	fs.StringVar(&o.gatehouse, "gatehouse", "", "gatehouse binary to start on a fresh database (instead of serving in this process)")
	fs.IntVar(&o.startup, "startup", 0, "with -gatehouse: measure start-up to ready on an existing database this many times, and idle RSS; no load")
	fs.StringVar(&o.writeDir, "write-dir", "", "directory for the durable-write probe (default: the temporary directory; use the -url server's database directory)")
	fs.StringVar(&o.writeDB, "write-db", "", "the -url server's PostgreSQL database (postgres://...): the write probe is then a family rotated there by compare-and-swap, one round trip each, instead of a SQLite commit; loadgen opens it with its own store, which migrates it to its own schema, so build loadgen from the server's commit or an older one with the same migrations")
	fs.IntVar(&o.ceilingRuns, "ceiling-samples", 0, "samples per ceiling (0: 15 verifications, 200 signatures, 100 writes)")
	fs.IntVar(&o.procs, "procs", 1, "GOMAXPROCS of this load generator while it sends the load to a server in another process (-gatehouse, -url); the ceilings use every core")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write this load generator's own CPU profile of the load (warmup included) to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if len(o.urls) > 0 {
		o.url = o.urls[0]
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case !oneOf(o.grant, "password", "refresh", "client_credentials", "mixed"):
		return o, fmt.Errorf("-grant %q: want password, refresh, client_credentials or mixed", o.grant)
	case !oneOf(o.hash, "argon2id", "bcrypt"):
		return o, fmt.Errorf("-hash %q: want argon2id or bcrypt", o.hash)
	case o.workers < 1 || o.workers > 1024 || o.refreshers < 1 || o.refreshers > 1024:
		return o, errors.New("-c and -rc must be between 1 and 1024")
	case o.duration <= 0 || o.limit <= 0 || o.warmup < 0 || o.count < 0:
		return o, errors.New("-d and -limit must be positive, -warmup and -n not negative")
	case o.url != "" && o.gatehouse != "":
		return o, errors.New("-url and -gatehouse exclude each other")
	case o.pid != 0 && len(o.urls) > 1:
		return o, errors.New("-pid measures one server; give one -url with it")
	case o.pid != 0 && o.url == "":
		return o, errors.New("-pid goes with -url (a server loadgen starts is measured anyway)")
	case o.startup < 0 || (o.startup > 0 && o.gatehouse == ""):
		return o, errors.New("-startup needs -gatehouse")
	case o.writeDB != "" && (o.url == "" || o.writeDir != ""):
		return o, errors.New("-write-db goes with -url, instead of -write-dir")
	case o.writeDB != "" && !strings.HasPrefix(o.writeDB, "postgres://") && !strings.HasPrefix(o.writeDB, "postgresql://"):
		return o, errors.New("-write-db takes a postgres:// URL")
	case o.procs < 1:
		return o, errors.New("-procs must be at least 1")
	}
	if o.url != "" {
		for _, u := range o.urls {
			if err := loopbackOnly(u); err != nil {
				return o, err
			}
		}
		if o.mgmtID == "" || o.mgmtSecret == "" {
			return o, errors.New("-url needs -mgmt-client-id and -mgmt-client-secret (or the GATEHOUSE_BOOTSTRAP_CLIENT_* variables)")
		}
	}
	return o, nil
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// loopbackOnly refuses a target that is not this machine's loopback: a
// load generator aimed at a shared host is an outage, not a measurement.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-url %q: want http(s)://host:port", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q: loadgen only targets loopback addresses (127.0.0.0/8, ::1, localhost)", raw)
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gatehouse-loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.startup > 0 {
		return measureStartup(ctx, o, dir, stdout)
	}

	hc := harness.NewHTTPClient(o.workers + o.refreshers + 2)
	target, err := startTarget(ctx, o, dir, hc)
	if err != nil {
		return err
	}
	defer target.close()
	tn, err := harness.Seed(ctx, target.mgmt)
	if err != nil {
		return err
	}

	writeDir := o.writeDir
	if writeDir == "" {
		writeDir = dir
	}
	probe, probeDesc := harness.SQLiteWrite(writeDir), "durable SQLite commit"
	if o.writeDB != "" {
		probe, probeDesc = harness.PostgresWrite(o.writeDB), "compare-and-swap round trip on PostgreSQL"
	}
	verifyN, signN, writeN := 15, 200, 100
	if o.ceilingRuns > 0 {
		verifyN, signN, writeN = o.ceilingRuns, o.ceilingRuns, o.ceilingRuns
	}
	fmt.Fprintf(stdout, "gatehouse loadgen: -grant %s, %s, %d cores, GOMAXPROCS %d\n", o.grant, target.desc, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if load, err := harness.LoadAverage(); err == nil {
		// Work outside this run competes for the same cores.
		fmt.Fprintf(stdout, "1-minute load average before the run: %.2f\n", load)
	}
	fmt.Fprintf(stdout, "measuring ceilings (%d verifications, %d signatures, %d writes)...\n", verifyN, signN, writeN)
	fmt.Fprintf(stdout, "write probe: %s\n", probeDesc)
	ceil, err := harness.MeasureCeilings(ctx, passwords.Algorithm(o.hash), probe, verifyN, signN, writeN)
	if err != nil {
		return err
	}
	printCeilings(stdout, ceil)

	var idle harness.Memory
	peakReset := false
	if target.pid > 0 {
		if idle, err = harness.ReadMemory(target.pid); err != nil {
			return err
		}
		peakReset = harness.ResetPeak(target.pid) == nil
	}

	tc := &harness.TokenClient{HTTP: hc, URL: target.url, URLs: target.urls}
	cfg := harness.LoadConfig{Warmup: o.warmup, Duration: o.duration, Count: o.count, Limit: o.limit, Backoff: !o.noBackoff}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	// The load runs on one P by default when the server is another
	// process: the workers mostly wait on the network, and a second P only
	// adds cross-thread wake-ups on the cores the server needs. The
	// ceilings had every core; a server in this process keeps them all.
	if target.pid > 0 || o.url != "" {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.procs))
	}
	err = runGrant(ctx, o, cfg, tc, tn, ceil, target.pid, stdout)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}

	if target.pid > 0 {
		after, err := harness.ReadMemory(target.pid)
		if err != nil {
			return err
		}
		peak := "peak RSS under load " + harness.MiB(after.HWM) + " (VmHWM, reset before the load)"
		if !peakReset {
			peak = "peak RSS since start " + harness.MiB(after.HWM) + " (VmHWM; could not reset it before the load)"
		}
		fmt.Fprintf(stdout, "\nserver memory (pid %d): idle RSS %s before the load; %s; RSS now %s\n",
			target.pid, harness.MiB(idle.RSS), peak, harness.MiB(after.RSS))
	} else {
		fmt.Fprintln(stdout, "\nserver memory: not measured (the server shares this process); use -gatehouse BIN, or -url with -pid")
	}
	return nil
}

// target is the server under load.
type target struct {
	url   string
	urls  []string // with several -url: every node the load is spread over
	desc  string
	pid   int
	mgmt  *harness.Management
	close func()
}

func startTarget(ctx context.Context, o options, dir string, hc *http.Client) (*target, error) {
	cfg := harness.ServerConfig{Database: filepath.Join(dir, "gatehouse.db"), PasswordHash: o.hash, HashConcurrency: o.hashConc}
	conc := "hash-concurrency default"
	if o.hashConc > 0 {
		conc = fmt.Sprintf("hash-concurrency %d", o.hashConc)
	}
	switch {
	case o.url != "":
		m, err := harness.Connect(ctx, hc, o.url, o.mgmtID, o.mgmtSecret)
		if err != nil {
			return nil, err
		}
		return &target{urls: o.urls, url: o.url, desc: "server " + strings.Join(o.urls, " and ") + " (" + o.hash + " declared with -hash)", pid: o.pid, mgmt: m, close: func() {}}, nil
	case o.gatehouse != "":
		p, err := harness.Spawn(ctx, o.gatehouse, filepath.Join(dir, "gatehouse.log"), cfg)
		if err != nil {
			return nil, err
		}
		m, err := harness.Connect(ctx, hc, p.URL, p.MgmtID, p.MgmtSecret)
		if err != nil {
			p.Stop()
			return nil, err
		}
		desc := fmt.Sprintf("server %s pid %d (%s, %s, fresh SQLite, ready in %s)", o.gatehouse, p.PID, o.hash, conc, fmtDur(p.Ready))
		return &target{url: p.URL, desc: desc, pid: p.PID, mgmt: m, close: func() { p.Stop() }}, nil
	}
	l, err := harness.StartLocal(ctx, cfg, harness.InProcess{})
	if err != nil {
		return nil, err
	}
	desc := fmt.Sprintf("in-process server (%s, %s, fresh SQLite)", o.hash, conc)
	return &target{url: l.URL, desc: desc, mgmt: l.Mgmt, close: func() { l.Close() }}, nil
}

// startCPUProfile profiles this process into path ("" for no profile): the
// load generator shares the cores with the server, so its own cost per
// request is part of every ratio it reports.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
