package breached

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func build(t testing.TB, list string, opts BuildOptions) *Filter {
	t.Helper()
	var buf bytes.Buffer
	st, err := Build(&buf, strings.NewReader(list), opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(buf.Len()) {
		t.Fatalf("Stats.Bytes = %d, wrote %d", st.Bytes, buf.Len())
	}
	f, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func passwords(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func TestFilterMembers(t *testing.T) {
	t.Parallel()
	leaked := passwords(20000, "leaked")
	for _, tc := range []struct {
		name string
		opts BuildOptions
	}{
		{"in memory", BuildOptions{}},
		{"spilled runs", BuildOptions{RunSize: 777, TempDir: t.TempDir()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Duplicates and blank lines are allowed in a list.
			list := strings.Join(leaked, "\n") + "\n\n" + leaked[0] + "\n"
			f := build(t, list, tc.opts)
			if f.Len() != len(leaked) {
				t.Errorf("Len = %d, want %d", f.Len(), len(leaked))
			}
			for _, p := range leaked {
				if !f.Contains(p) {
					t.Fatalf("%q not found", p)
				}
			}
		})
	}
}

// TestFalsePositiveRate: a million passwords not in the list; at 2^-17 we
// expect about 8 false positives, and allow up to 1 in 100,000.
func TestFalsePositiveRate(t *testing.T) {
	t.Parallel()
	f := build(t, strings.Join(passwords(50000, "leaked"), "\n"), BuildOptions{})
	const tries = 1_000_000
	fp := 0
	for i := range tries {
		if f.Contains(fmt.Sprintf("fine-%d", i)) {
			fp++
		}
	}
	if fp > tries/100_000 {
		t.Fatalf("%d false positives in %d, more than 1 in 100,000", fp, tries)
	}
	t.Logf("%d false positives in %d; %d bytes for %d entries (%.1f bits each)", fp, tries, f.Bytes(), f.Len(), float64(8*f.Bytes())/float64(f.Len()))
}

func TestSHA1HexList(t *testing.T) {
	t.Parallel()
	var lines []string
	for i, p := range []string{"hunter2", "password1", "letmein"} {
		sum := sha1.Sum([]byte(p))
		lines = append(lines, fmt.Sprintf("%s:%d", strings.ToUpper(hex.EncodeToString(sum[:])), 10+i))
	}
	f := build(t, strings.Join(lines, "\r\n"), BuildOptions{Format: SHA1Hex})
	for _, p := range []string{"hunter2", "password1", "letmein"} {
		if !f.Contains(p) {
			t.Errorf("%q not found", p)
		}
	}
	if f.Contains("correct horse battery staple") {
		t.Error("a password not in the list is found")
	}
	if _, err := Build(&bytes.Buffer{}, strings.NewReader("not-a-hash\n"), BuildOptions{Format: SHA1Hex}); err == nil {
		t.Error("a malformed hex line was accepted")
	}
}

func TestEmptyAndCorrupt(t *testing.T) {
	t.Parallel()
	f := build(t, "", BuildOptions{})
	if f.Contains("anything") || f.Len() != 0 {
		t.Error("an empty filter contains something")
	}
	var buf bytes.Buffer
	if _, err := Build(&buf, strings.NewReader(strings.Join(passwords(1000, "x"), "\n")), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for _, bad := range [][]byte{nil, []byte("GHBRF1"), append([]byte("XXXXXXXX"), good[8:]...), good[:len(good)-1]} {
		if _, err := Load(bytes.NewReader(bad)); err == nil {
			t.Errorf("Load accepted %d corrupt bytes", len(bad))
		}
	}
}

// FuzzLoad: a corrupt file is refused or loads into a filter whose
// lookups never panic.
func FuzzLoad(f *testing.F) {
	var buf bytes.Buffer
	Build(&buf, strings.NewReader(strings.Join(passwords(600, "x"), "\n")), BuildOptions{})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := Load(bytes.NewReader(data))
		if err != nil {
			return
		}
		for i := range 20 {
			flt.Contains(fmt.Sprintf("x-%d", i))
		}
	})
}

func BenchmarkContains(b *testing.B) {
	f := build(b, strings.Join(passwords(50000, "leaked"), "\n"), BuildOptions{})
	probes := passwords(1024, "probe")
	r := rand.New(rand.NewPCG(1, 2))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.Contains(probes[r.IntN(len(probes))])
	}
}

func TestCommon(t *testing.T) {
	t.Parallel()
	f := Common()
	if f.Len() != 49233 {
		t.Errorf("Len = %d, want 49233", f.Len())
	}
	for _, p := range []string{"123456", "password", "qwerty", "dragon", "letmein", "1qaz2wsx"} {
		if !f.Contains(p) {
			t.Errorf("%q is not in the shipped filter", p)
		}
	}
	for _, p := range []string{"correct horse battery staple 1A!", "Str0ng-Passw0rd!-that-nobody-uses"} {
		if f.Contains(p) {
			t.Errorf("%q is in the shipped filter", p)
		}
	}
}

func BenchmarkCommonContains(b *testing.B) {
	f := Common()
	probes := passwords(1024, "probe")
	for i := 0; b.Loop(); i++ {
		f.Contains(probes[i%len(probes)])
	}
}
