package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestServeStartsOnAnEmbeddedDatabase is the README's "one command": serve
// with no configuration beyond a database path, then answer /healthz.
func TestServeStartsOnAnEmbeddedDatabase(t *testing.T) {
	addr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--database", db}, func(string) string { return "" }, io.Discard, &stderr)
	}()
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("healthz never answered: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	log := stderr.String()
	for _, want := range []string{"gatehouse ready", "gatehouse bootstrap", "GATEHOUSE_SECRET is not set"} {
		if !strings.Contains(log, want) {
			t.Errorf("first start log lacks %q:\n%s", want, log)
		}
	}
}

func TestCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	cases := []struct {
		args    []string
		wantOut string
		wantErr bool
	}{
		{[]string{"version"}, "gatehouse dev", false},
		{[]string{"help"}, "commands:", false},
		{[]string{"bootstrap", "--database", db}, "client_secret:", false},
		{[]string{"nope"}, "", true},
		{nil, "", true},
		{[]string{"serve", "--password-hash", "md5"}, "", true},
	}
	for _, c := range cases {
		var out bytes.Buffer
		err := run(context.Background(), c.args, func(string) string { return "" }, &out, io.Discard)
		if (err != nil) != c.wantErr || !strings.Contains(out.String(), c.wantOut) {
			t.Errorf("gatehouse %v: err %v, output %q", c.args, err, out.String())
		}
	}
}

// TestBinaryDependencies keeps test-only modules out of the binary and
// checks that it builds without cgo.
func TestBinaryDependencies(t *testing.T) {
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
