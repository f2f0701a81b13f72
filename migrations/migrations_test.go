package migrations

import (
	"strings"
	"testing"
)

func TestLoadReturnsOrderedVersionsForEveryDialect(t *testing.T) {
	for _, dialect := range []string{SQLite, Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ms, err := Load(dialect)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				t.Fatal("no migrations")
			}
			for i, m := range ms {
				if i > 0 && m.Version <= ms[i-1].Version {
					t.Errorf("%s (version %d) does not follow version %d", m.Name, m.Version, ms[i-1].Version)
				}
				if strings.TrimSpace(m.SQL) == "" {
					t.Errorf("%s is empty", m.Name)
				}
			}
		})
	}
}

func TestDialectsHaveTheSameVersions(t *testing.T) {
	lite, err := Load(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := Load(Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Name != pg[i].Name {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].Name, pg[i].Name)
		}
	}
}

func TestLoadRejectsUnknownDialect(t *testing.T) {
	if _, err := Load("mysql"); err == nil {
		t.Fatal("Load(mysql) succeeded")
	}
}
