package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/server"
)

// ServerConfig is what the harness varies in the gatehouse it starts.
type ServerConfig struct {
	Database        string // SQLite file; created when missing
	PasswordHash    string // argon2id or bcrypt; empty: the server default
	HashConcurrency int    // 0: the server default (number of CPUs)
	// BootstrapID and BootstrapSecret are the Management API credentials
	// the server is started with; empty: newly generated ones.
	BootstrapID, BootstrapSecret string
}

// credentials returns the bootstrap credentials, generating missing ones.
func (c ServerConfig) credentials() (id, secret string) {
	if c.BootstrapID == "" || c.BootstrapSecret == "" {
		return ids.Alnum(32), ids.Alnum(64)
	}
	return c.BootstrapID, c.BootstrapSecret
}

func (c ServerConfig) args(addr string) []string {
	args := []string{"--addr", addr, "--database", c.Database}
	if c.PasswordHash != "" {
		args = append(args, "--password-hash", c.PasswordHash)
	}
	if c.HashConcurrency > 0 {
		args = append(args, "--hash-concurrency", strconv.Itoa(c.HashConcurrency))
	}
	return args
}

// Local is a gatehouse served by this process on a loopback port, with
// freshly generated Management API credentials.
type Local struct {
	URL    string // base URL without trailing slash
	Issuer string
	App    *server.App
	Mgmt   *Management

	cancel context.CancelFunc
	done   chan struct{}
}

// InProcess is what only a server in this process can be given.
type InProcess struct {
	Options []server.Option   // passed to server.Open
	Tune    func(*server.App) // may change the App before its first request
	// LogLevel is the lowest level encoded (then discarded); zero is info,
	// as in production.
	LogLevel slog.Level
}

// StartLocal opens gatehouse in this process as `gatehouse serve` would and
// serves it on a free loopback port. Logs are encoded at info level as in
// production and then discarded.
func StartLocal(ctx context.Context, cfg ServerConfig, in InProcess) (*Local, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start local: %w", err)
	}
	id, secret := cfg.credentials()
	getenv := func(k string) string {
		switch k {
		case "GATEHOUSE_BOOTSTRAP_CLIENT_ID":
			return id
		case "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET":
			return secret
		}
		return ""
	}
	conf, err := config.Parse(cfg.args(ln.Addr().String()), getenv, io.Discard)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start local: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: in.LogLevel}))
	app, err := server.Open(ctx, conf, log, in.Options...)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("start local: %w", err)
	}
	if in.Tune != nil {
		in.Tune(app)
	}
	serveCtx, cancel := context.WithCancel(context.Background())
	l := &Local{URL: "http://" + ln.Addr().String(), Issuer: conf.Issuer, App: app, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		app.Serve(serveCtx, ln)
	}()
	l.Mgmt, err = Connect(ctx, NewHTTPClient(4), l.URL, id, secret)
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Close stops serving and closes the store.
func (l *Local) Close() error {
	l.cancel()
	<-l.done
	return l.App.Close()
}

// Connect gets a Management API client for the server at baseURL.
func Connect(ctx context.Context, hc *http.Client, baseURL, clientID, clientSecret string) (*Management, error) {
	issuer, err := Issuer(ctx, hc, baseURL)
	if err != nil {
		return nil, err
	}
	tok, err := ManagementToken(ctx, hc, baseURL, issuer, clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	return &Management{HTTP: hc, URL: baseURL, Token: tok}, nil
}

// Process is a gatehouse binary this process started.
type Process struct {
	URL        string
	PID        int
	MgmtID     string
	MgmtSecret string
	// Ready is the time from exec to the first 200 from /healthz.
	Ready time.Duration

	cmd    *exec.Cmd
	exited chan error
}

// Spawn runs `bin serve` on a free loopback port with generated bootstrap
// credentials and waits until it answers /healthz. The server's log goes
// to logPath (appended).
func Spawn(ctx context.Context, bin, logPath string, cfg ServerConfig) (*Process, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spawn: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	p := &Process{URL: "http://" + addr, exited: make(chan error, 1)}
	p.MgmtID, p.MgmtSecret = cfg.credentials()
	p.cmd = exec.Command(bin, append([]string{"serve"}, cfg.args(addr)...)...)
	p.cmd.Env = append(environWithout("GATEHOUSE_"),
		"GATEHOUSE_BOOTSTRAP_CLIENT_ID="+p.MgmtID, "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET="+p.MgmtSecret)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", bin, err)
	}
	p.PID = p.cmd.Process.Pid
	go func() { p.exited <- p.cmd.Wait() }()
	if err := p.waitReady(ctx, 15*time.Second); err != nil {
		p.Stop()
		return nil, fmt.Errorf("spawn %s (log in %s): %w", bin, logPath, err)
	}
	p.Ready = time.Since(start)
	return p, nil
}

// waitReady polls /healthz every millisecond.
func (p *Process) waitReady(ctx context.Context, limit time.Duration) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.exited:
			p.exited <- err
			return fmt.Errorf("exited before ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := hc.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("not ready in time")
}

// Stop sends SIGTERM, waits for a graceful exit, and kills the process
// after 15 s.
func (p *Process) Stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop gatehouse: %w", err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		return nil
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		return errors.New("stop gatehouse: no exit after SIGTERM; killed")
	}
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// environWithout is this process's environment less the variables whose
// names start with prefix, so a developer's settings do not leak into the
// measured server.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}
