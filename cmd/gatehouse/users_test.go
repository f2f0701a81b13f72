package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestUsersImportExport imports a file with the CLI while gatehouse
// serves the same database, reports the bad row and a summary, and exports
// the users again with their hashes, in a 0600 file.
func TestUsersImportExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	creds := map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": "users-cli-client", "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": "users-cli-secret-0123456789"}
	sum := md5.Sum([]byte("old password"))
	bc, _ := bcrypt.GenerateFromPassword([]byte("old password"), bcrypt.MinCost)
	rows, _ := json.Marshal([]any{
		map[string]any{"email": "md5@cli.test", "custom_password_hash": map[string]any{"algorithm": "md5",
			"hash": map[string]any{"value": hex.EncodeToString(sum[:]), "encoding": "hex"}}},
		map[string]any{"email": "bcrypt@cli.test", "password_hash": string(bc), "user_metadata": map[string]any{"a": 1}},
		map[string]any{"email": "nope"},
	})
	file := filepath.Join(dir, "users.json")
	os.WriteFile(file, rows, 0o600)
	export := filepath.Join(dir, "export.json")
	serveUntilHealthy(t, []string{"--database", db, "--addr", freeAddr(t)}, envOf(creds), func(base string) {
		_, token := managementToken(t, base, creds["GATEHOUSE_BOOTSTRAP_CLIENT_ID"], creds["GATEHOUSE_BOOTSTRAP_CLIENT_SECRET"], base+"/api/v2/")
		req, _ := http.NewRequest("POST", base+"/api/v2/connections", strings.NewReader(`{"name":"db","strategy":"auth0"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 201 {
			t.Fatalf("create connection: %v %v", err, resp)
		}
		resp.Body.Close()

		var out, progress bytes.Buffer
		err = run(context.Background(), []string{"users", "import", "--database", db, "--connection", "db", file}, noEnv, &out, &progress)
		if err == nil || !strings.Contains(err.Error(), "1 of 3 rows failed") {
			t.Fatalf("import: err %v", err)
		}
		for _, want := range []string{"3 rows, 2 inserted, 0 updated, 1 failed", "row 2: INVALID_FORMAT (email)"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, out.String())
			}
		}
		// Not a terminal: plain lines, no carriage returns.
		if !strings.Contains(progress.String(), "3 rows") || strings.Contains(progress.String(), "\r") {
			t.Errorf("progress on a pipe: %q", progress.String())
		}
		out.Reset()
		if err := run(context.Background(), []string{"users", "export", "--database", db, "--connection", "db", export}, noEnv, &out, io.Discard); err != nil {
			t.Fatalf("export: %v", err)
		}
		if !strings.Contains(out.String(), "Exported 2 users of db") {
			t.Errorf("export summary: %s", out.String())
		}
	})
	info, err := os.Stat(export)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v", err, info)
	}
	b, _ := os.ReadFile(export)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"algorithm":"md5"`) || !strings.Contains(lines[1], `"algorithm":"bcrypt"`) {
		t.Fatalf("export:\n%s", b)
	}
	for _, args := range [][]string{
		{"users", "import", "--database", db, file},
		{"users", "import", "--database", db, "--connection", "missing", file},
		{"users", "export", "--database", db, "--connection", "db", export},
		{"users", "export", "--database", db, "--connection", "db", "--format", "xml", filepath.Join(dir, "x")},
	} {
		if err := run(context.Background(), args, noEnv, io.Discard, io.Discard); err == nil {
			t.Errorf("gatehouse %v succeeded", args)
		}
	}
}
