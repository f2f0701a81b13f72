package tokens

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestRefreshTokenRoundTrip(t *testing.T) {
	id := NewFamilyID()
	tok, hash := NewRefreshToken(id)
	if !strings.HasPrefix(tok, "v1.") || len(tok) != refreshLen {
		t.Fatalf("token %q has the wrong shape", tok)
	}
	gotID, gotHash, err := ParseRefreshToken(tok)
	if err != nil || gotID != id || string(gotHash) != string(hash) {
		t.Fatalf("ParseRefreshToken = %q, %x, %v", gotID, gotHash, err)
	}
	if strings.Contains(tok, string(hash)) {
		t.Fatal("token contains its stored hash")
	}
}

func TestParseRefreshTokenRejects(t *testing.T) {
	good, _ := NewRefreshToken(NewFamilyID())
	for name, tok := range map[string]string{
		"empty":       "",
		"short":       good[:len(good)-1],
		"long":        good + "A",
		"prefix":      "v2." + good[3:],
		"bad base64":  good[:len(good)-2] + "!!",
		"bad family":  "v1." + strings.Repeat("*", familyIDLen) + good[3+familyIDLen:],
		"jwt-looking": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
		"unicode":     "v1." + strings.Repeat("é", 32) + "x",
	} {
		if _, _, err := ParseRefreshToken(tok); err == nil {
			t.Errorf("%s: accepted %q", name, tok)
		}
	}
}

func TestJudge(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cur, prev, old := []byte("current-hash"), []byte("previous-hash"), []byte("older-hash")
	family := func(mod func(*store.RefreshFamily)) *store.RefreshFamily {
		f := &store.RefreshFamily{Rotating: true, Current: [][]byte{cur}, Previous: prev, PreviousUsedAt: now.Add(-5 * time.Second)}
		if mod != nil {
			mod(f)
		}
		return f
	}
	cases := []struct {
		name   string
		f      *store.RefreshFamily
		hash   []byte
		leeway time.Duration
		want   Verdict
	}{
		{"current token", family(nil), cur, 0, Accepted},
		{"previous without leeway is reuse", family(nil), prev, 0, Reused},
		{"previous inside leeway", family(nil), prev, 10 * time.Second, Replayed},
		{"previous after leeway is reuse", family(nil), prev, 2 * time.Second, Reused},
		{"older rotated token is reuse", family(nil), old, 60 * time.Second, Reused},
		{"absolute expiry", family(func(f *store.RefreshFamily) { f.ExpiresAt = now }), cur, 0, Refused},
		{"idle expiry", family(func(f *store.RefreshFamily) { f.IdleExpiresAt = now.Add(-time.Second) }), cur, 0, Refused},
		{"not yet expired", family(func(f *store.RefreshFamily) { f.ExpiresAt = now.Add(time.Second) }), cur, 0, Accepted},
		{"non-rotating unknown token", family(func(f *store.RefreshFamily) { f.Rotating = false; f.Previous = nil }), old, 0, Refused},
		{"non-rotating current token", family(func(f *store.RefreshFamily) { f.Rotating = false; f.Previous = nil }), cur, 0, Accepted},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Judge(c.f, c.hash, now, c.leeway); got != c.want {
				t.Fatalf("Judge = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	now := time.Now()
	const leeway = 10 * time.Second
	f := &store.RefreshFamily{Rotating: true, Current: [][]byte{[]byte("a")}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(Rotate(f, Accepted, []byte("a"), []byte("b"), now, leeway))
	if string(f.Previous) != "a" || len(f.Current) != 1 || string(f.Current[0]) != "b" || !f.PreviousUsedAt.Equal(now) {
		t.Fatalf("after rotation: %+v", f)
	}
	// A replay of "a" inside the leeway adds "c" and keeps "b" valid.
	must(Rotate(f, Replayed, []byte("a"), []byte("c"), now, leeway))
	if len(f.Current) != 2 || Judge(f, []byte("b"), now, 0) != Accepted || Judge(f, []byte("c"), now, 0) != Accepted {
		t.Fatalf("after replay: %+v", f)
	}
	refused := 0
	for i := range 100 {
		if Rotate(f, Replayed, []byte("a"), []byte{byte(i)}, now, leeway) != nil {
			refused++
		}
	}
	if len(f.Current) > maxLive || refused == 0 {
		t.Fatalf("100 replays grew Current to %d entries (%d refused)", len(f.Current), refused)
	}
}

// TestRotateKeepsEveryTokenIssuedInsideTheLeeway is issue 7's first defect:
// A and B both exchange T0 inside the leeway (T1, T2); A exchanges T1 (T3);
// B's T2 must still be accepted, and then T3 and B's child too.
func TestRotateKeepsEveryTokenIssuedInsideTheLeeway(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const leeway = 10 * time.Second
	f := &store.RefreshFamily{Rotating: true, Current: [][]byte{[]byte("T0")}}
	step := func(presented, next string, want Verdict) {
		t.Helper()
		v := Judge(f, []byte(presented), now, leeway)
		if v != want {
			t.Fatalf("%s judged %v, want %v (family %+v)", presented, v, want, f)
		}
		if v == Accepted || v == Replayed {
			if err := Rotate(f, v, []byte(presented), []byte(next), now, leeway); err != nil {
				t.Fatal(err)
			}
		}
		now = now.Add(time.Second)
	}
	step("T0", "T1", Accepted) // A
	step("T0", "T2", Replayed) // B, inside the leeway
	step("T1", "T3", Accepted) // A goes on
	step("T2", "T4", Accepted) // B goes on
	step("T3", "T5", Accepted)
	step("T4", "T6", Accepted)
	step("T0", "T7", Replayed) // still inside T0's leeway: a sibling
	now = now.Add(leeway)
	step("T1", "", Reused) // used a second time outside the window
}

// FuzzParseRefreshToken: any string presented as a refresh token is refused
// or names a family and a hash, and only the one spelling of a token is
// accepted (a token cannot be varied into another string that passes as
// itself).
func FuzzParseRefreshToken(f *testing.F) {
	good, _ := NewRefreshToken(NewFamilyID())
	for _, s := range []string{good, good[:len(good)-1] + "B", "v1.", "v2." + good[3:], "", strings.Repeat("A", refreshLen), good + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		family, hash, err := ParseRefreshToken(token)
		if err != nil {
			if !errors.Is(err, ErrMalformedRefreshToken) {
				t.Fatalf("%q: error %v", token, err)
			}
			return
		}
		if len(family) != familyIDLen || len(hash) != sha256.Size {
			t.Fatalf("%q: family %q, hash of %d bytes", token, family, len(hash))
		}
		fam, _ := b64url.DecodeString(family)
		secret, _ := b64url.DecodeString(token[len(refreshPrefix)+familyIDLen:])
		if again := refreshPrefix + b64url.EncodeToString(fam) + b64url.EncodeToString(secret); again != token {
			t.Fatalf("%q accepted as %q", token, again)
		}
	})
}
