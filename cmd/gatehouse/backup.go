package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/gatehouse/gatehouse/internal/config"
)

func (e *env) backupCommand() *cobra.Command {
	cmd, flags := e.settingsCommand("backup FILE", "Copy a SQLite database to FILE while gatehouse serves it",
		"Write a consistent copy of the SQLite database to FILE (which must not exist), readable only by its owner,\n"+
			"while gatehouse keeps serving: SQLite's VACUUM INTO reads one snapshot of the database. Keep the master\n"+
			"secret (GATEHOUSE_SECRET, or the <database>.secret file) with it: without it the stored secrets cannot be read.\n"+
			"For PostgreSQL use pg_dump (see the README).")
	cmd.Args = cobra.ExactArgs(1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := e.load(flags)
		if err != nil {
			return usageError{err}
		}
		if cfg.IsPostgres() {
			return errors.New("--database is PostgreSQL: back it up with pg_dump (see the README), not gatehouse backup")
		}
		if err := requireExistingDatabase(cfg, ""); err != nil {
			return err
		}
		if err := backupSQLite(cmd.Context(), cfg, args[0]); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Backed up %s to %s.\n", cfg.SQLitePath(), args[0])
		return nil
	}
	return cmd
}

// backupSQLite copies the database into a new file at dest with VACUUM
// INTO, which reads one consistent snapshot (a WAL reader does not block
// the server's writer, nor the writer it). The file is created empty with
// mode 0600 first, so the copy is never readable by others, not even for
// a moment; VACUUM INTO accepts an existing empty file.
func backupSQLite(ctx context.Context, cfg config.Config, dest string) error {
	abs, err := filepath.Abs(cfg.SQLitePath())
	if err != nil {
		return fmt.Errorf("--database: %w", err)
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup FILE: %w", err)
	}
	f.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(dest)
		}
	}()
	db, err := sql.Open("sqlite", "file:"+uriPath(abs)+"?_busy_timeout=5000")
	if err != nil {
		return fmt.Errorf("open %s: %w", abs, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		return fmt.Errorf("back up %s to %s: %w", abs, dest, err)
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		return fmt.Errorf("backup FILE: %w", err)
	}
	ok = true
	return nil
}

// uriPath escapes the characters a SQLite file: URI gives meaning to.
func uriPath(p string) string {
	out := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%', '?', '#':
			out = append(out, fmt.Sprintf("%%%02X", c)...)
		default:
			out = append(out, c)
		}
	}
	return string(out)
}
