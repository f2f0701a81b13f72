package database

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory/directorytest"
)

// FuzzValidateOptions: any options document a Management API client sends
// is accepted or refused with an *OptionsError (a 400), never a panic, and
// what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	directorytest.FuzzOptions(f, []string{
		`{"passwordPolicy":"good","password_complexity_options":{"min_length":8},"password_history":{"enable":true,"size":5}}`,
		`{"requires_username":true,"validation":{"username":{"min":1,"max":15}}}`,
		`{"password_dictionary":{"enable":true,"dictionary":["a","b"]},"password_no_personal_info":{"enable":true}}`,
		`{"passwordPolicy":"nope","validation":{"username":{"min":20,"max":1}}}`,
		`{"password_history":{"size":1e9}}`,
		`{"disable_signup":"yes","brute_force_protection":1}`,
	}, new(Strategy).ValidateOptions, ParseOptions)
}
