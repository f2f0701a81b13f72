package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/ids"
)

// PostgresDatabase creates an empty PostgreSQL database for the test, drops
// it when the test ends, and returns its URL. The server is
// GATEHOUSE_TEST_POSTGRES or postgres://postgres@127.0.0.1:5432/postgres.
// Without one the test is skipped, or fails when CI is set.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(context.Background())
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s: %v", admin, err)
		}
		t.Skipf("PostgreSQL not reachable (%v); set GATEHOUSE_TEST_POSTGRES", err)
	}
	name := "gatehouse_test_" + strings.ToLower(ids.Alnum(12))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}
