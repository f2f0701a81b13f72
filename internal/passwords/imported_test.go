package passwords_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/passwords/importtest"
)

const knownPassword = "correct horse ✓ battery"

// Every algorithm Auth0 imports verifies the password it was made from,
// refuses another, asks for a rehash, and has a cost class.
func TestImportedHashesVerify(t *testing.T) {
	t.Parallel()
	h, _ := passwords.NewHasher(passwords.Bcrypt, passwords.Argon2Params{}, bcrypt.MinCost)
	for _, c := range importtest.Cases(knownPassword, bcrypt.MinCost) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			raw, _ := json.Marshal(c.Hash)
			stored, err := passwords.ImportCustomHash(raw)
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			if !passwords.IsImported(stored) {
				t.Fatalf("stored form %q is not tagged", stored)
			}
			if ok, rehash, err := h.Verify(stored, knownPassword); !ok || !rehash || err != nil {
				t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
			}
			if ok, rehash, err := h.Verify(stored, knownPassword+"x"); ok || rehash || err != nil {
				t.Fatalf("wrong password: ok=%v rehash=%v err=%v", ok, rehash, err)
			}
			if _, ok := passwords.Class(stored); !ok {
				t.Fatal("no cost class")
			}
		})
	}
}

// Each refusal names the field and Auth0's rule it breaks.
func TestImportCustomHashRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, json, path, code string
	}{
		{"unknown algorithm", `{"algorithm":"crc32","hash":{"value":"00"}}`, "custom_password_hash.algorithm", "ENUM_MISMATCH"},
		{"no hash", `{"algorithm":"md5"}`, "custom_password_hash", "OBJECT_MISSING_REQUIRED_PROPERTY"},
		{"extra property", `{"algorithm":"md5","hash":{"value":"00","encoding":"hex"},"rounds":3}`, "custom_password_hash", "INVALID_FORMAT"},
		{"md5 utf8", `{"algorithm":"md5","hash":{"value":"abc","encoding":"utf8"}}`, "custom_password_hash.hash.encoding", "ENUM_MISMATCH"},
		{"md5 bad hex", `{"algorithm":"md5","hash":{"value":"zz","encoding":"hex"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"md5 wrong length", `{"algorithm":"md5","hash":{"value":"abcd","encoding":"hex"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"salt without position", `{"algorithm":"md5","hash":{"value":"00000000000000000000000000000000","encoding":"hex"},"salt":{"value":"s"}}`, "custom_password_hash.salt", "OBJECT_MISSING_REQUIRED_PROPERTY"},
		{"salt bad position", `{"algorithm":"md5","hash":{"value":"00000000000000000000000000000000","encoding":"hex"},"salt":{"value":"s","position":"middle"}}`, "custom_password_hash.salt.position", "ENUM_MISMATCH"},
		{"hmac no key", `{"algorithm":"hmac","hash":{"value":"00000000000000000000000000000000","encoding":"hex","digest":"md5"}}`, "custom_password_hash.hash.key", "OBJECT_MISSING_REQUIRED_PROPERTY"},
		{"hmac whirlpool", `{"algorithm":"hmac","hash":{"value":"00","encoding":"hex","digest":"whirlpool","key":{"value":"k"}}}`, "custom_password_hash.hash.digest", "ENUM_MISMATCH"},
		{"bcrypt salt", `{"algorithm":"bcrypt","hash":{"value":"$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG"},"salt":{"value":"x","position":"prefix"}}`, "custom_password_hash.salt", "OBJECT_ADDITIONAL_PROPERTIES"},
		{"bcrypt $2x$", `{"algorithm":"bcrypt","hash":{"value":"$2x$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"ldap crypt", `{"algorithm":"ldap","hash":{"value":"{CRYPT}abcdef"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"argon2d", `{"algorithm":"argon2","hash":{"value":"$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"argon2 huge memory", `{"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"pbkdf2 too many iterations", `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=999999999,l=4$c2FsdA$aGFzaA"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"pbkdf2 whirlpool", `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-whirlpool$i=1,l=4$c2FsdA$aGFzaA"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"scrypt huge", `{"algorithm":"scrypt","hash":{"value":"$scrypt$ln=24,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA"}}`, "custom_password_hash.hash.value", "INVALID_FORMAT"},
		{"long value", `{"algorithm":"md5","hash":{"value":"` + strings.Repeat("a", 5000) + `","encoding":"hex"}}`, "custom_password_hash", "MAX_LENGTH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := passwords.ImportCustomHash([]byte(tc.json))
			var fe *passwords.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FormatError", err)
			}
			if fe.Path != tc.path || fe.Code != tc.code {
				t.Fatalf("got %s %s (%s), want %s %s", fe.Code, fe.Path, fe.Message, tc.code, tc.path)
			}
		})
	}
}

// Auth0's own documentation examples import (their passwords are not
// published, so only the format is checked).
func TestImportAuth0Examples(t *testing.T) {
	t.Parallel()
	for _, ex := range []string{
		`{"algorithm":"md4","hash":{"value":"AbuUujgF0pPPkJPSFRTpmA==","encoding":"base64"}}`,
		`{"algorithm":"sha256","hash":{"value":"d24e794fce503c3ddb1cd1ba1dd5d9b250cf9917336a0316fefd87fecf79200f","encoding":"hex"},"salt":{"value":"abc123","position":"prefix"}}`,
		`{"algorithm":"bcrypt","hash":{"value":"$2b$10$C9hB01.YxRSTcn/ZOOo4j.TW7xCKKFKBSF.C7E0xiUwumqIDqWUXG"}}`,
		`{"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=65536,t=2,p=1$J6Q/82PCyaNpYKRELJyTZg$m04qUAB8rexWDR4+/0f+SFB+4XMFxt7YAvAq2UycYos"}}`,
		`{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-md4$i=100000,l=64$+N375B8q0Fw$fp2R9KAM4hK/votGHC5Fu+jhqbxUD8+Nic/EMSGvNC3UP/k7wSHI0uXluHRSkZfl/BOheYqNOemayG90ZaSSQw","encoding":"utf8"}}`,
		`{"algorithm":"ldap","hash":{"value":"{SSHA384}/cgEjdoZh85DhurDeOQEMO1rMlAur93SVPbYe5XSD4lF7nNuvrBju5hUeg9A6agRemgSXGl5YuE=","encoding":"utf8"}}`,
		`{"algorithm":"hmac","hash":{"value":"cg7f42jH39/2EaAU4wNd4s2lKIk=","encoding":"base64","digest":"sha1","key":{"value":"736868","encoding":"hex"}}}`,
	} {
		if _, err := passwords.ImportCustomHash([]byte(ex)); err != nil {
			t.Errorf("%s: %v", ex, err)
		}
	}
}

// The parser never panics, and whatever it accepts verifies without error.
func FuzzImportCustomHash(f *testing.F) {
	for _, c := range importtest.Cases("pw", bcrypt.MinCost) {
		raw, _ := json.Marshal(c.Hash)
		f.Add(string(raw))
	}
	f.Add(`{"algorithm":"ldap","hash":{"value":"{SSHA}"}}`)
	f.Add(`{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha1$i=1,l=1,l=2$a$b"}}`)
	h, _ := passwords.NewHasher(passwords.Bcrypt, passwords.Argon2Params{}, bcrypt.MinCost)
	f.Fuzz(func(t *testing.T, s string) {
		stored, err := passwords.ImportCustomHash([]byte(s))
		if err != nil {
			var fe *passwords.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("refusal %v is not a FormatError", err)
			}
			return
		}
		if strings.Contains(s, `"scrypt"`) || strings.Contains(s, "argon2") || strings.Contains(s, "pbkdf2") || strings.Contains(s, "bcrypt") {
			return // costly to verify with fuzzed parameters; parsing is what is fuzzed
		}
		if _, _, err := h.Verify(stored, "pw"); err != nil {
			t.Fatalf("accepted %q but Verify fails: %v", s, err)
		}
	})
}

// A stored hash in the import's tagged form but corrupt is malformed, not
// a panic.
func FuzzVerifyStored(f *testing.F) {
	f.Add(`$import${"alg":"md5","hash":"AAAA"}`)
	f.Add(`$import${"alg":"pbkdf2","phc":"$pbkdf2-sha1$i=1,l=20$YQ$YWFhYWFhYWFhYWFhYWFhYWFhYWE"}`)
	f.Add(`$import$[`)
	h, _ := passwords.NewHasher(passwords.Bcrypt, passwords.Argon2Params{}, bcrypt.MinCost)
	f.Fuzz(func(t *testing.T, stored string) {
		ok, _, err := h.Verify(stored, "pw")
		if ok && err != nil {
			t.Fatal("ok with an error")
		}
		passwords.Class(stored)
	})
}

// An exported hash imports again to the same stored form.
func TestExportCustomHashRoundTrips(t *testing.T) {
	t.Parallel()
	for _, c := range importtest.Cases(knownPassword, bcrypt.MinCost) {
		raw, _ := json.Marshal(c.Hash)
		stored, err := passwords.ImportCustomHash(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := passwords.ExportCustomHash(stored)
		if !ok {
			t.Fatalf("%s: not exported", c.Name)
		}
		again, _ := json.Marshal(out)
		stored2, err := passwords.ImportCustomHash(again)
		if err != nil || stored2 != stored {
			t.Fatalf("%s: re-import %v: %s != %s", c.Name, err, stored2, stored)
		}
	}
	if _, ok := passwords.ExportCustomHash(passwords.NoPassword); ok {
		t.Fatal("NoPassword exported")
	}
}
