package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func noEnv(string) string { return "" }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// serveUntilHealthy runs gatehouse serve in process until /healthz answers,
// calls during (if any) while it serves, stops it, and returns its log.
func serveUntilHealthy(t *testing.T, args []string, getenv func(string) string, during func(base string)) string {
	t.Helper()
	addr := ""
	for i, a := range args {
		if a == "--addr" {
			addr = args[i+1]
		}
	}
	if addr == "" {
		addr = freeAddr(t)
		args = append(args, "--addr", addr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testenv.LogBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), getenv, io.Discard, &stderr) }()
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var resp *http.Response
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve %v ended early: %v\n%s", args, err, stderr.String())
		default:
		}
	}
	if err != nil {
		t.Fatalf("healthz never answered: %v\n%s", err, stderr.String())
	}
	if during != nil {
		during("http://" + addr)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v\n%s", err, stderr.String())
	}
	return stderr.String()
}

// TestServeStartsOnAnEmbeddedDatabase is the README's "one command": serve
// with no configuration beyond a database path, then answer /healthz.
func TestServeStartsOnAnEmbeddedDatabase(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	log := serveUntilHealthy(t, []string{"--database", db}, noEnv, nil)
	for _, want := range []string{"gatehouse ready", "gatehouse bootstrap", "GATEHOUSE_SECRET is not set", "gatehouse shutting down", "gatehouse stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("first start log lacks %q:\n%s", want, log)
		}
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	cases := []struct {
		args    []string
		wantOut string
		wantErr bool
	}{
		{[]string{"version"}, "gatehouse ", false},
		{[]string{"help"}, "Available Commands:", false},
		{[]string{"bootstrap", "--database", db, "--create"}, "client_secret:", false},
		{[]string{"nope"}, "", true},
		{nil, "", true},
		{[]string{"serve", "--password-hash", "md5"}, "", true},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, noEnv, &out, io.Discard)
		if (err != nil) != c.wantErr || !strings.Contains(out.String(), c.wantOut) {
			t.Errorf("gatehouse %v: err %v, output %q", c.args, err, out.String())
		}
	}
}

// TestEveryCommandHasHelp: -h and --help on every command exit 0, name the
// command, and list the settings that only come from the environment.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	withSettings := [][]string{{"serve"}, {"bootstrap"}, {"keys", "rotate"}, {"backup"}, {"config", "check"}, {"users", "import"}, {"users", "export"}}
	for _, cmd := range withSettings {
		for _, h := range []string{"-h", "--help"} {
			var out bytes.Buffer
			err := run(context.Background(), append(append([]string{}, cmd...), h), noEnv, &out, io.Discard)
			if err != nil {
				t.Errorf("gatehouse %v %s: %v", cmd, h, err)
			}
			help := out.String()
			for _, want := range []string{"gatehouse " + strings.Join(cmd, " "), "GATEHOUSE_SECRET", "GATEHOUSE_BOOTSTRAP_CLIENT_ID",
				"GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", "--database", "GATEHOUSE_DATABASE", "--config"} {
				if !strings.Contains(help, want) {
					t.Errorf("gatehouse %v %s lacks %q:\n%s", cmd, h, want, help)
				}
			}
			if strings.Contains(help, "Usage of serve") && cmd[0] != "serve" {
				t.Errorf("gatehouse %v %s names another command:\n%s", cmd, h, help)
			}
		}
	}
	for _, cmd := range [][]string{{"version"}, {"keys"}, {"config"}, {"breached"}, {"breached", "build"}, {"users"}, {}} {
		var out bytes.Buffer
		if err := run(context.Background(), append(append([]string{}, cmd...), "--help"), noEnv, &out, io.Discard); err != nil {
			t.Errorf("gatehouse %v --help: %v", cmd, err)
		}
		if !strings.Contains(out.String(), strings.TrimSpace("gatehouse "+strings.Join(cmd, " "))) {
			t.Errorf("gatehouse %v --help does not name it:\n%s", cmd, out.String())
		}
	}
}

// TestVersionFromBuildInformation: --version and version print the
// module version and the Go version from the binary's build information,
// not a fixed "dev".
func TestVersionFromBuildInformation(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, noEnv, &out, io.Discard); err != nil {
			t.Fatalf("gatehouse %v: %v", args, err)
		}
		got := out.String()
		if !strings.HasPrefix(got, "gatehouse ") || !strings.Contains(got, runtime.Version()) || strings.Contains(got, "gatehouse dev") {
			t.Errorf("gatehouse %v = %q, want the build's version and %s", args, got, runtime.Version())
		}
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := describeBuild(info), "v1.2.3 (commit 0123456789ab, 2026-01-02T03:04:05Z, modified, go1.26.0)"; got != want {
		t.Errorf("describeBuild = %q, want %q", got, want)
	}
}

// TestSettingErrorsNameTheSettingAndCause covers mistakes in --database
// and other settings: each error names the flag and says what is wrong.
func TestSettingErrorsNameTheSettingAndCause(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"serve", "--database", "/nonexistent/dir/x.db"}, nil, []string{"--database", "/nonexistent/dir/x.db", "no such file or directory"}},
		{[]string{"serve", "--database", "mysql://user:pw@localhost/gatehouse"}, nil, []string{"--database", `unsupported scheme "mysql"`}},
		{[]string{"serve"}, map[string]string{"GATEHOUSE_DATABASE": "mysql://user:pw@localhost/gatehouse"}, []string{"--database", `"mysql"`}},
		{[]string{"serve", "--hash-concurrency", "many"}, nil, []string{"--hash-concurrency", `"many"`}},
		{[]string{"serve", "--nope"}, nil, []string{"--nope", "gatehouse serve --help"}},
		{[]string{"serve", "--log-level", "loud"}, nil, []string{"--log-level", "loud"}},
	}
	for _, c := range cases {
		err := run(context.Background(), c.args, envOf(c.env), io.Discard, io.Discard)
		if err == nil {
			t.Errorf("gatehouse %v: no error", c.args)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("gatehouse %v: error %q lacks %q", c.args, err, w)
			}
		}
		if strings.Contains(err.Error(), "pw@") {
			t.Errorf("gatehouse %v: error %q shows the database password", c.args, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed starts left files behind: %v", entries)
	}
	if _, err := os.Stat("mysql:"); err == nil {
		t.Error("a mysql:// URL was taken for a file name")
	}
}

// TestBinaryDependencies keeps test-only modules out of the binary and
// checks that it builds without cgo.
func TestBinaryDependencies(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list with CGO_ENABLED=0: %v\n%s", err, out)
	}
	for _, banned := range []string{"github.com/auth0/go-jwt-middleware", "golang.org/x/oauth2", "github.com/coreos/go-oidc", "github.com/mattn/go-sqlite3", "runtime/cgo"} {
		if strings.Contains(string(out), banned) {
			t.Errorf("gatehouse imports %s", banned)
		}
	}
}
