package seal

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestSealRoundTripAndBinding(t *testing.T) {
	a, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := a.Seal([]byte("s3cret"), "client_secret:abc")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("s3cret")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	pt, err := a.Open(ct, "client_secret:abc")
	if err != nil || string(pt) != "s3cret" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	cases := map[string]struct {
		ct  []byte
		aad string
	}{
		"other row":  {ct, "client_secret:xyz"},
		"truncated":  {ct[:10], "client_secret:abc"},
		"empty":      {nil, "client_secret:abc"},
		"tampered":   {append(append([]byte{}, ct[:len(ct)-1]...), ct[len(ct)-1]^1), "client_secret:abc"},
		"bad prefix": {append([]byte{9}, ct[1:]...), "client_secret:abc"},
	}
	for name, c := range cases {
		if _, err := a.Open(c.ct, c.aad); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
	other, _ := New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(ct, "client_secret:abc"); err == nil {
		t.Error("a different master key opened the ciphertext")
	}
}

func TestNewRejectsShortSecret(t *testing.T) {
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short master secret accepted")
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	k1, created, err := LoadOrCreateFile(path)
	if err != nil || !created || len(k1) != 32 {
		t.Fatalf("first load: %d bytes, created=%v, %v", len(k1), created, err)
	}
	k2, created, err := LoadOrCreateFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second load differs: created=%v, %v", created, err)
	}
}
