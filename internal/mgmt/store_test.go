package mgmt

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// newTestStore opens a real SQLite store in the test's temporary directory.
func newTestStore(t testing.TB) store.Store {
	t.Helper()
	sealer, err := seal.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "mgmt.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
