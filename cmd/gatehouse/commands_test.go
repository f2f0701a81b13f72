package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupWhileServing copies the database while it serves; the copy is
// 0600 and, with the master secret beside it, serves the same tenant.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	backup := filepath.Join(dir, "backup.db")
	creds := map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "backup-test-client", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": "backup-test-secret-0123456789"}
	addr := freeAddr(t)
	serveUntilHealthy(t, []string{"--database", db, "--addr", addr}, envOf(creds), func(string) {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"backup", "--database", db, backup}, noEnv, &out, &errOut); err != nil {
			t.Fatalf("backup: %v\n%s", err, errOut.String())
		}
		if err := run(context.Background(), []string{"backup", "--database", db, backup}, noEnv, io.Discard, io.Discard); err == nil {
			t.Error("backup over an existing file succeeded")
		}
	})
	info, err := os.Stat(backup)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("backup mode = %v, want 0600", info.Mode().Perm())
	}
	secret, _ := os.ReadFile(db + ".secret")
	os.WriteFile(backup+".secret", secret, 0o600)
	serveUntilHealthy(t, []string{"--database", backup, "--addr", addr}, noEnv, func(base string) {
		status, _ := managementToken(t, base, creds["GATEHOUSE_BOOTSTRAP_CLIENT_ID"], creds["GATEHOUSE_BOOTSTRAP_CLIENT_SECRET"], base+"/api/v2/")
		if status != 200 {
			t.Errorf("management token from the backup's tenant: %d", status)
		}
	})
	for _, args := range [][]string{
		{"backup", "--database", filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")},
		{"backup", "--database", "postgres://localhost/gatehouse", filepath.Join(dir, "x.db")},
		{"backup", "--database", db},
	} {
		if err := run(context.Background(), args, noEnv, io.Discard, io.Discard); err == nil {
			t.Errorf("gatehouse %v succeeded", args)
		}
	}
}

// TestKeysRotate makes the next key current.
func TestKeysRotate(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	var jwks1, jwks2 string
	serveUntilHealthy(t, []string{"--database", db}, noEnv, func(base string) { _, jwks1 = get(t, base+"/.well-known/jwks.json") })
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate", "--database", db}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	kid := strings.TrimSuffix(strings.TrimPrefix(out.String(), "Signing key "), " (RS256) is now current.\n")
	if kid == "" || !strings.Contains(jwks1, kid) {
		t.Fatalf("rotated to %q, not the published next key:\n%s", out.String(), jwks1)
	}
	serveUntilHealthy(t, []string{"--database", db}, noEnv, func(base string) { _, jwks2 = get(t, base+"/.well-known/jwks.json") })
	if jwks1 == jwks2 || !strings.Contains(jwks2, kid) {
		t.Errorf("JWKS did not move with the rotation")
	}
}

// TestKeysRotateAlg rotates the ES256 keys: the first rotation makes a
// fresh key current and publishes a next one, which the second promotes.
// An unknown algorithm is refused naming the flag.
func TestKeysRotateAlg(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	serveUntilHealthy(t, []string{"--database", db}, noEnv, func(string) {})
	rotate := func() string {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"keys", "rotate", "--alg", "ES256", "--database", db}, noEnv, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(strings.TrimPrefix(out.String(), "Signing key "), " (ES256) is now current.\n")
	}
	first := rotate()
	var jwks string
	serveUntilHealthy(t, []string{"--database", db}, noEnv, func(base string) { _, jwks = get(t, base+"/.well-known/jwks.json") })
	second := rotate()
	if first == "" || second == first || !strings.Contains(jwks, first) || !strings.Contains(jwks, second) {
		t.Fatalf("rotations %q then %q; the JWKS between them:\n%s", first, second, jwks)
	}
	err := run(context.Background(), []string{"keys", "rotate", "--alg", "HS256", "--database", db}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--alg") {
		t.Fatalf("--alg HS256: %v", err)
	}
}

// TestConfigCheck shows every setting with its source and never a secret,
// and fails on a bad setting.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(file, []byte("log-format: text\naddr: 127.0.0.1:9999\n"), 0o600)
	env := map[string]string{"GATEHOUSE_SECRET": "a-master-secret-that-must-not-show", "GATEHOUSE_ADDR": "127.0.0.1:9998",
		"GATEHOUSE_DATABASE": "postgres://gatehouse:dbpassword@localhost/gatehouse"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config", "check", "--config", file, "--log-level", "debug"}, envOf(env), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"configuration ok", "--log-format", "text", "file", "127.0.0.1:9998", "env", "debug", "flag",
		"GATEHOUSE_SECRET", "(set)", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET", "(unset)", "--password-hash", "default"} {
		if !strings.Contains(got, want) {
			t.Errorf("config check lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{"a-master-secret-that-must-not-show", "dbpassword"} {
		if strings.Contains(got, secret) {
			t.Errorf("config check shows a secret:\n%s", got)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("config check made files: %v", entries)
	}
	if err := run(context.Background(), []string{"config", "check", "--log-format", "xml"}, noEnv, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--log-format") {
		t.Errorf("config check with a bad setting: %v", err)
	}
}
