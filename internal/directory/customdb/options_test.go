package customdb_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory/customdb"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/directory/directorytest"
)

// FuzzValidateOptions: any options document is accepted or refused with
// an *OptionsError, never a panic, and what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	directorytest.FuzzOptions(f, []string{
		`{"enabledDatabaseCustomization":true}`,
		`{"enabledDatabaseCustomization":true,"import_mode":true,"customScripts":{"login":"function login(e,p,cb){cb(null)}"},"allowed_hosts":["a.example:8443","*.b.example"],"configuration":{"K":"v"}}`,
		`{"customScripts":{"nope":"x"}}`,
		`{"allowed_hosts":"x"}`,
		`{"import_mode":true}`,
		`{"configuration":{"K":1}}`,
	}, (&customdb.Strategy{Strategy: &database.Strategy{}}).ValidateOptions, customdb.ParseOptions)
}
