// Package migrations owns gatehouse's database schema: one ordered set of
// SQL files per dialect, embedded in the binary. File names are
// NNNN_description.sql; the number is the schema version. The runner that
// applies them lives in internal/store/sqlstore.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialects are the directory names of the supported SQL dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Migration is one schema step.
type Migration struct {
	Version int64
	Name    string // file name, for error messages
	SQL     string
}

// Load returns the migrations of dialect in version order.
func Load(dialect string) ([]Migration, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	entries, err := fs.ReadDir(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations: read %s: %w", dialect, err)
	}
	out := make([]Migration, 0, len(entries))
	seen := make(map[int64]string, len(entries))
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migrations: %s/%s: name must be NNNN_description.sql", dialect, name)
		}
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s/%s: version must be a positive number", dialect, name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: %s: %s and %s share version %d", dialect, other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(files, path.Join(dialect, name))
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s/%s: %w", dialect, name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
