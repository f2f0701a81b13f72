// Command gatehouse is a self-hosted authorization server that speaks
// Auth0's Authentication and Management APIs.
//
//	gatehouse serve       run the server (embedded SQLite by default)
//	gatehouse bootstrap   create Management API credentials and print them
//	gatehouse version     print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: gatehouse <command> [flags]

commands:
  serve       run the server (flags: gatehouse serve -h)
  bootstrap   create an application that may call the Management API, print its credentials
  version     print the version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "bootstrap":
		return bootstrap(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "gatehouse", version)
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	start := time.Now()
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	app, err := server.Open(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer app.Close()
	for _, n := range app.Notices {
		log.Warn(n)
	}
	log.Info("gatehouse ready", slog.String("addr", ln.Addr().String()), slog.String("issuer", cfg.Issuer),
		slog.String("version", version), slog.String("startup", time.Since(start).Round(time.Millisecond).String()))
	return app.Serve(ctx, ln)
}

func bootstrap(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	id, secret := ids.Alnum(32), ids.Alnum(64)
	cfg.BootstrapClientID, cfg.BootstrapClientSecret = id, secret
	app, err := server.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer app.Close()
	fmt.Fprintf(stdout, "Management API application created.\n  client_id:     %s\n  client_secret: %s\n  audience:      %sapi/v2/\n",
		id, secret, cfg.Issuer)
	return nil
}
