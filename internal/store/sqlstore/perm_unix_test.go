//go:build unix

package sqlstore_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The database holds emails and password hashes: it and its WAL and shared
// memory files are the owner's alone, like the .secret beside them. The
// umask is opened wide for the test (so not in parallel: it is the
// process's), so the mode comes from the code and not from the umask.
func TestSQLiteFilesAreCreatedOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := open(t, path, newSealer(t))
	// A write makes sure the WAL exists (the store keeps it while open).
	if err := s.CreateClient(t.Context(), &store.Client{ClientID: "app", Name: "app"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(name), err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", filepath.Base(name), perm)
		}
	}
}
