package jobs

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func readAll(t *testing.T, file string, max int64) ([]string, error) {
	t.Helper()
	rr, err := newRowReader(strings.NewReader(file), max)
	if err != nil {
		return nil, err
	}
	var rows []string
	for {
		raw, i, err := rr.next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if i != len(rows) {
			t.Fatalf("index %d, want %d", i, len(rows))
		}
		rows = append(rows, string(raw))
	}
}

func TestRowReader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		rows       int
		err        string
	}{
		{"array", "\ufeff [ {\"a\":1} , {\"b\":2} ]\n", 2, ""},
		{"json lines", "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n", 3, ""},
		{"empty array", "[]", 0, ""},
		{"empty file", "  ", 0, "empty"},
		{"not json", "email,name\n", 0, "JSON array"},
		{"garbage after", "[{\"a\":1}] x", 1, "unexpected data"},
		{"cut short", "[{\"a\":1},{\"b\"", 1, "ends in the middle"},
		{"syntax error", "[{\"a\":1},{\"b\" 2}]", 1, "not valid JSON"},
		{"row too large", "[{\"a\":\"" + strings.Repeat("x", 5000) + "\"},{\"b\":1}]", 0, "larger than 4096"},
		{"big row last", "[{\"b\":1},{\"a\":\"" + strings.Repeat("x", 4000) + "\"}]", 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readAll(t, tc.file, 4096)
			if len(rows) != tc.rows {
				t.Errorf("%d rows, want %d", len(rows), tc.rows)
			}
			if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}

// The reader never panics, never returns a row over the limit, and ends.
func FuzzRowReader(f *testing.F) {
	f.Add("[{\"a\":1},{\"b\":[1,2,{}]}]")
	f.Add("{\"a\":1}\n{\"a\":2}")
	f.Add("[1,\"x\",null,{\"a\":\"\\u0000\"}]")
	f.Fuzz(func(t *testing.T, file string) {
		rr, err := newRowReader(strings.NewReader(file), 256)
		if err != nil {
			return
		}
		for range len(file) + 2 {
			raw, _, err := rr.next()
			if err != nil {
				return
			}
			if len(raw) > 256+1 {
				t.Fatalf("row of %d bytes over the 256 limit", len(raw))
			}
		}
		t.Fatal("reader did not end")
	})
}
