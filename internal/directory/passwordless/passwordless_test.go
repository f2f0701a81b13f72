package passwordless

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, in, want string
	}{
		{Email, " Pat@Example.COM ", "pat@example.com"},
		{Email, "not an address", ""},
		{Email, "Pat <pat@example.com>", ""},
		{SMS, "+1 (555) 010-0999", "+15550100999"},
		{SMS, "15550100999", ""},
		{SMS, "+0555010", ""},
		{SMS, "+12ab", ""},
		{SMS, "+1234567890123456", ""},
	} {
		got, err := Normalize(tc.kind, tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrIdentifier) {
				t.Errorf("Normalize(%s, %q) = %q, %v; want ErrIdentifier", tc.kind, tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%s, %q) = %q, %v; want %q", tc.kind, tc.in, got, err, tc.want)
		}
	}
}

// FuzzNormalize: a normalised identifier normalises to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"a@b.c", "+1 555 010 0999", "A@B.C", "+(1)2.3-4 5 6 7", "\x00", "@", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range []string{Email, SMS} {
			got, err := Normalize(kind, s)
			if err != nil {
				continue
			}
			again, err := Normalize(kind, got)
			if err != nil || again != got {
				t.Fatalf("%s %q → %q → %q, %v", kind, s, got, again, err)
			}
		}
	})
}

func TestOptions(t *testing.T) {
	t.Parallel()
	o, err := ParseOptions(json.RawMessage(`{"totp":{"length":8,"time_step":300},"disable_signup":true,"template":"{{ code }}"}`))
	if err != nil || o.Length() != 8 || o.TTL() != 5*time.Minute || !o.DisableSignup {
		t.Fatalf("%+v %v", o, err)
	}
	if o, _ := ParseOptions(nil); o.Length() != DefaultLength || o.TTL() != DefaultTimeStep*time.Second {
		t.Fatalf("defaults %+v", o)
	}
	for _, bad := range []string{`{"totp":{"length":3}}`, `{"totp":{"time_step":5}}`, `{"syntax":"jinja"}`, `{"subject":"a\nb"}`,
		`{"template":"{% if x %}"}`, `{"disable_signup":"yes"}`, `[]`} {
		var oe *directory.OptionsError
		if _, err := (Strategy{Kind: Email}).ValidateOptions(json.RawMessage(bad)); !errors.As(err, &oe) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if got, err := (Strategy{Kind: SMS}).ValidateOptions(nil); err != nil || string(got) != "{}" {
		t.Errorf("empty options = %s %v", got, err)
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 200 {
		c := NewCode(6)
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("%d distinct codes of 200", len(seen))
	}
	conn := &store.Connection{ID: "con_1"}
	rec := RecordID(conn, "a@b.c")
	key := []byte("k")
	if !bytes.Equal(Hash(key, rec, "123456"), Hash(key, rec, " 123456 ")) || bytes.Equal(Hash(key, rec, "123456"), Hash(key, rec, "123457")) ||
		bytes.Equal(Hash(key, rec, "123456"), Hash([]byte("other"), rec, "123456")) || bytes.Equal(Hash(key, rec, "1"), Hash(key, RecordID(conn, "x@b.c"), "1")) {
		t.Error("hashes do not separate codes, keys and records")
	}
	if id := UserIDPart(conn, "+15550100999"); len(id) != 24 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("sms user id %q is not 24 hex digits", id)
	}
	if UserIDPart(conn, "+15550100999") == UserIDPart(&store.Connection{ID: "con_2"}, "+15550100999") {
		t.Error("two connections share an sms user id")
	}
}
