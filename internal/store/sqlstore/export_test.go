package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// MigrateTo brings the database at dsn (SQLite path or PostgreSQL URL) to
// schema version target only, as an older gatehouse left it.
func MigrateTo(ctx context.Context, driver, dsn, dialect string, target int64) error {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrateTo(ctx, db, dialect, time.Now, target)
}

// DocFields are the user document's fields RecordLogin writes in SQL.
var DocFields = []string{docLastLogin, docLastIP, docLoginsCount}
