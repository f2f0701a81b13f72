package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/protect/breached"
)

func TestBreachedBuild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	leaked := []string{"hunter2", "password1", "letmein"}
	var sha []string
	for _, p := range leaked {
		sum := sha1.Sum([]byte(p))
		sha = append(sha, strings.ToUpper(hex.EncodeToString(sum[:]))+":7")
	}
	for _, tc := range []struct {
		format, list string
	}{
		{"plaintext", strings.Join(leaked, "\n")},
		{"sha1", strings.Join(sha, "\r\n")},
	} {
		t.Run(tc.format, func(t *testing.T) {
			t.Parallel()
			list := filepath.Join(dir, tc.format+".txt")
			out := filepath.Join(dir, tc.format+".ghbf")
			if err := os.WriteFile(list, []byte(tc.list), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"breached", "build", "--format", tc.format, list, out}, noEnv, &stdout, &stderr); err != nil {
				t.Fatalf("breached build: %v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), "3 entries") || !strings.Contains(stderr.String(), "encoded 3 of 3") {
				t.Errorf("output %q, progress %q", stdout.String(), stderr.String())
			}
			f, err := breached.LoadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range leaked {
				if !f.Contains(p) {
					t.Errorf("%q not in the built filter", p)
				}
			}
			if f.Contains("a good passphrase") {
				t.Error("a good passphrase is in the filter")
			}
		})
	}
	for _, args := range [][]string{
		{"breached", "build", "--format", "md5", "x", "y"},
		{"breached", "build", "--bits", "4", "x", "y"},
		{"breached", "build", "only-one"},
	} {
		if err := run(context.Background(), args, noEnv, io.Discard, io.Discard); err == nil {
			t.Errorf("gatehouse %v succeeded", args)
		}
	}
	if err := run(context.Background(), []string{"breached", "build", filepath.Join(dir, "missing.txt"), filepath.Join(dir, "o")}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "LIST") {
		t.Errorf("missing list: %v", err)
	}
}
