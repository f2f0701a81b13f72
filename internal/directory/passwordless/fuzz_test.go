package passwordless

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/directory/directorytest"
)

// FuzzValidateOptions: any options document a Management API client sends
// is accepted or refused with an *OptionsError (a 400), never a panic, and
// what is accepted parses again.
func FuzzValidateOptions(f *testing.F) {
	directorytest.FuzzOptions(f, []string{
		`{"name":"Acme","from":"{{ application.name }} <a@example.com>","subject":"Code","syntax":"liquid","template":"{{ code }}"}`,
		`{"totp":{"time_step":300,"length":6},"disable_signup":false,"brute_force_protection":true}`,
		`{"totp":{"time_step":-1,"length":99}}`,
		`{"template":"{% if %}","syntax":"handlebars"}`,
	}, Strategy{}.ValidateOptions, ParseOptions)
}
