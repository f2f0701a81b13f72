package tenant

import (
	"strings"
	"testing"
)

func TestPhoneMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tpl, want string }{
		{DefaultVerificationMessage, "123456 is your verification code for Acme"},
		{"{{ code }} for {{tenant.name}}", "123456 for Acme"},
		{"{{unknown}} {{code", "{{unknown}} {{code"},
	} {
		if got := PhoneMessage(tc.tpl, "123456", "Acme"); got != tc.want {
			t.Errorf("PhoneMessage(%q) = %q, want %q", tc.tpl, got, tc.want)
		}
	}
}

// FuzzPhoneMessage: any template fills without panicking, and every
// {{code}} placeholder becomes the code.
func FuzzPhoneMessage(f *testing.F) {
	for _, s := range []string{DefaultEnrollmentMessage, "{{code}}", "{{ code }}{{", "}}{{tenant.friendly_name}}{{}}", "{{{{code}}}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tpl string) {
		got := PhoneMessage(tpl, "123456", "Acme")
		if strings.Contains(tpl, "{{code}}") && !strings.Contains(got, "123456") {
			t.Fatalf("PhoneMessage(%q) = %q lost the code", tpl, got)
		}
	})
}
