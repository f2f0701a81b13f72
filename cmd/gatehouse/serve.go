package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/devtls"
	"github.com/gatehouse/gatehouse/internal/logging"
	"github.com/gatehouse/gatehouse/internal/server"
)

// serveGCPercent is the server's GOGC unless the environment sets one. Its
// live heap is small (a few MiB) and every grant allocates tens of KiB, so
// at Go's default of 100 the collector runs several times a second under
// load. 200 halves that; paired refresh runs measured about 8 % less
// server CPU per grant for about 3.5 MiB more peak RSS (BENCHMARKS.md).
// Idle memory is trimmed as before.
const serveGCPercent = 200

func (e *env) serveCommand() *cobra.Command {
	cmd, flags := e.settingsCommand("serve", "Run the server (embedded SQLite by default)",
		"Run the authorization server. On first start it creates and migrates the database, makes the signing keys\n"+
			"and the Management API, and prints how to get Management API credentials.")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := e.load(flags)
		if err != nil {
			return usageError{err}
		}
		return e.serve(cmd.Context(), cfg)
	}
	return cmd
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(w, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(logging.NewHandler(h))
}

func (e *env) serve(ctx context.Context, cfg config.Config) error {
	start := time.Now()
	log := newLogger(cfg, e.stderr)
	if cfg.DevTLS {
		files, created, err := devtls.Ensure(devTLSDir(cfg), time.Now())
		if err != nil {
			return fmt.Errorf("--dev-tls: %w", err)
		}
		cfg.TLSCert, cfg.TLSKey = files.Cert, files.Key
		if created {
			log.Info("made a development CA", slog.String("ca", files.CACert))
		}
		fmt.Fprint(e.stderr, devtls.TrustHelp(files))
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: listen: %w", cfg.Addr, err)
	}
	app, err := server.Open(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()
	if app.HashThreads > 0 {
		// The hashing threads get Ps of their own, so that a request's
		// goroutine never waits for a hash to be preempted: the kernel, which
		// knows their lower priority, decides who runs (passwords.Limiter).
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + app.HashThreads)
	}
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	for _, n := range app.Notices {
		log.Warn(n)
	}
	state, err := readManagementState(ctx, app.Store)
	if err != nil {
		log.Warn("could not check the Management API's applications", slog.Any("err", err))
	}
	for _, n := range state.notices(cfg.Issuer) {
		log.Warn(n)
	}
	log.Info("gatehouse ready", slog.String("addr", ln.Addr().String()), slog.String("issuer", cfg.Issuer),
		slog.String("version", buildVersion()), slog.Int64("startup_ms", time.Since(start).Milliseconds()))
	if cfg.MetricsAddr != "" {
		stopMetrics, err := serveMetrics(ctx, cfg.MetricsAddr, app.MetricsHandler(), log)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	stopping := context.AfterFunc(ctx, func() {
		log.Info("gatehouse shutting down: finishing requests in flight")
	})
	defer stopping()
	err = app.Serve(ctx, ln)
	if err != nil {
		log.Error("gatehouse stopped", slog.Any("err", err), slog.Int64("uptime_ms", time.Since(start).Milliseconds()))
		return err
	}
	log.Info("gatehouse stopped", slog.Int64("uptime_ms", time.Since(start).Milliseconds()))
	return nil
}

// devTLSDir is where --dev-tls keeps its CA and certificate: beside the
// SQLite database, or in the working directory with PostgreSQL.
func devTLSDir(cfg config.Config) string {
	if cfg.IsPostgres() {
		return "gatehouse-dev-tls"
	}
	return filepath.Join(filepath.Dir(cfg.SQLitePath()), "gatehouse-dev-tls")
}

// serveMetrics serves /metrics on its own listener (--metrics-addr), so it
// can stay off the public one; it stops when the returned func is called.
func serveMetrics(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: listen: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	log.Info("metrics listening", slog.String("addr", ln.Addr().String()))
	return func() {
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}, nil
}
