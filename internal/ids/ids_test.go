package ids

import (
	"regexp"
	"testing"
)

func TestShapes(t *testing.T) {
	cases := []struct {
		got  string
		want string
	}{
		{Alnum(32), `^[a-zA-Z0-9]{32}$`},
		{Hex(12), `^[0-9a-f]{24}$`},
		{Prefixed("con", 16), `^con_[a-zA-Z0-9]{16}$`},
	}
	for _, c := range cases {
		if !regexp.MustCompile(c.want).MatchString(c.got) {
			t.Errorf("%q does not match %s", c.got, c.want)
		}
	}
	if a, b := Alnum(32), Alnum(32); a == b {
		t.Error("two random ids are equal")
	}
}
