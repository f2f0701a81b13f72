package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestServeDevTLS: serve --dev-tls makes a CA and a localhost certificate
// beside the database, says how to trust it, and serves HTTPS that a client
// trusting only that CA accepts.
func TestServeDevTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testenv.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dev-tls", "--database", db, "--addr", addr}, noEnv, io.Discard, &stderr)
	}()
	ca := filepath.Join(dir, "gatehouse-dev-tls", "dev-ca.pem")
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && !strings.Contains(stderr.String(), "gatehouse ready"); time.Sleep(20 * time.Millisecond) {
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatalf("no CA at %s: %v\n%s", ca, err, stderr.String())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	port := addr[strings.LastIndex(addr, ":")+1:]
	for _, base := range []string{"https://localhost:" + port, "https://" + addr} {
		resp, err := client.Get(base + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatalf("GET %s with the dev CA: %v\n%s", base, err, stderr.String())
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"issuer":"https://`+addr+`/"`) {
			t.Errorf("discovery over dev TLS: %d %s", resp.StatusCode, b)
		}
	}
	if _, err := http.Get("https://" + addr + "/healthz"); err == nil {
		t.Error("a client that does not trust the dev CA connected")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, want := range []string{"NODE_EXTRA_CA_CERTS=" + ca, "SSL_CERT_FILE=" + ca} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stderr.String())
		}
	}
	info, err := os.Stat(filepath.Join(dir, "gatehouse-dev-tls", "localhost-key.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("server key: %v %v", err, info)
	}
}
