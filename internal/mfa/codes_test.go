package mfa

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

func TestTOTP(t *testing.T) {
	t.Parallel()
	secret, uri, err := NewTOTP("gatehouse", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Query().Get("secret") != secret {
		t.Fatalf("uri %q: %v", uri, err)
	}
	now := time.Unix(1_700_000_010, 0) // 10 s into a step
	for _, tc := range []struct {
		name   string
		at     time.Time
		ok     bool
		offset int64
	}{
		{"now", now, true, 0},
		{"previous step", now.Add(-30 * time.Second), true, -1},
		{"next step", now.Add(30 * time.Second), true, 1},
		{"two steps old", now.Add(-60 * time.Second), false, 0},
		{"two steps ahead", now.Add(60 * time.Second), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := totp.GenerateCode(secret, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			step, ok := VerifyTOTP(secret, code, now)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && step != now.Unix()/30+tc.offset {
				t.Fatalf("step = %d, want %d", step, now.Unix()/30+tc.offset)
			}
		})
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := VerifyTOTP(secret, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRecoveryCode(t *testing.T) {
	t.Parallel()
	code, hash := NewRecoveryCode()
	if len(code) != 24 || strings.Trim(code, recoveryAlphabet) != "" {
		t.Fatalf("code %q", code)
	}
	typed := strings.ToLower(code[:8] + " " + code[8:16] + "-" + code[16:])
	if !SameHash(HashRecoveryCode(typed), hash) {
		t.Error("the code typed with spaces, dashes and lower case does not match")
	}
	other, _ := NewRecoveryCode()
	if other == code || SameHash(HashRecoveryCode(other), hash) {
		t.Error("two recovery codes match")
	}
}

func TestOneTimeCode(t *testing.T) {
	t.Parallel()
	key := []byte("server-side key")
	code := NewOneTimeCode()
	h1, err := HashOneTimeCode(key, "tx1", code)
	if err != nil || len(code) != 6 {
		t.Fatalf("%q: %v", code, err)
	}
	h2, _ := HashOneTimeCode(key, "tx1", " "+code+" ")
	h3, _ := HashOneTimeCode(key, "tx2", code)
	h4, _ := HashOneTimeCode([]byte("other key"), "tx1", code)
	if !SameHash(h1, h2) || SameHash(h1, h3) || SameHash(h1, h4) {
		t.Error("hashes do not depend on exactly the key, the transaction and the code")
	}
	for _, bad := range []string{"12345", "1234567", "12a456", ""} {
		if _, err := HashOneTimeCode(key, "tx", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTOTPURI: the URI authenticator apps scan carries the secret, the
// issuer and the account as pquerna/otp reads them.
func TestTOTPURI(t *testing.T) {
	t.Parallel()
	secret, uri, err := NewTOTP("auth.example.com", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		t.Fatal(err)
	}
	if key.Secret() != secret || key.Issuer() != "auth.example.com" || key.AccountName() != "ann@example.com" ||
		key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 || key.Type() != "totp" {
		t.Fatalf("uri %q read as %v", uri, key)
	}
}
