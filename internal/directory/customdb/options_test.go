package customdb_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory/customdb"
	"github.com/gatehouse/gatehouse/internal/directory/database"
)

// FuzzValidateOptions: any options document is accepted or refused with
// an error, never a panic, and what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"enabledDatabaseCustomization":true}`,
		`{"enabledDatabaseCustomization":true,"import_mode":true,"customScripts":{"login":"function login(e,p,cb){cb(null)}"},"allowed_hosts":["a.example:8443","*.b.example"],"configuration":{"K":"v"}}`,
		`{"customScripts":{"nope":"x"}}`, `{"allowed_hosts":"x"}`, `{"import_mode":true}`, `{"configuration":{"K":1}}`,
	} {
		f.Add([]byte(seed))
	}
	s := &customdb.Strategy{Strategy: &database.Strategy{}}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := s.ValidateOptions(json.RawMessage(b))
		if err != nil {
			return
		}
		if _, err := customdb.ParseOptions(out); err != nil {
			t.Fatalf("accepted options do not parse: %s: %v", out, err)
		}
	})
}
