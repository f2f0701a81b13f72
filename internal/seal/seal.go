// Package seal encrypts secrets at rest (client secrets, API signing
// secrets, private signing keys) with AES-256-GCM under the tenant's master
// key, and loads or creates that key.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// version prefixes every ciphertext so the format can change later.
const version byte = 1

// AEAD seals and opens secrets. It implements store.Sealer.
type AEAD struct {
	aead cipher.AEAD
	root []byte // derives the keys of other purposes (DeriveKey)
}

// New derives an AES-256-GCM key from master (any length of at least 32
// bytes of entropy) with HKDF-SHA256.
func New(master []byte) (*AEAD, error) {
	if len(master) < 32 {
		return nil, errors.New("seal: master secret must be at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, master, nil, "gatehouse secrets at rest v1", 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	root, err := hkdf.Key(sha256.New, master, nil, "gatehouse derived keys v1", 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key: %w", err)
	}
	return &AEAD{aead: gcm, root: root}, nil
}

// DeriveKey returns a 32-byte key for purpose, the same on every node that
// shares the master secret (for example the key of one-time-code hashes).
func (a *AEAD) DeriveKey(purpose string) []byte {
	key, err := hkdf.Key(sha256.New, a.root, nil, purpose, 32)
	if err != nil {
		panic("seal: derive key: " + err.Error()) // only for lengths HKDF cannot produce
	}
	return key
}

// Seal encrypts plaintext bound to aad: version || nonce || ciphertext.
func (a *AEAD) Seal(plaintext []byte, aad string) ([]byte, error) {
	nonce := make([]byte, a.aead.NonceSize())
	rand.Read(nonce)
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+a.aead.Overhead())
	out = append(out, version)
	out = append(out, nonce...)
	return a.aead.Seal(out, nonce, plaintext, []byte(aad)), nil
}

// Open decrypts what Seal produced for the same aad.
func (a *AEAD) Open(ciphertext []byte, aad string) ([]byte, error) {
	n := a.aead.NonceSize()
	if len(ciphertext) < 1+n+a.aead.Overhead() || ciphertext[0] != version {
		return nil, errors.New("seal: malformed ciphertext")
	}
	pt, err := a.aead.Open(nil, ciphertext[1:1+n], ciphertext[1+n:], []byte(aad))
	if err != nil {
		return nil, errors.New("seal: ciphertext does not authenticate (wrong GATEHOUSE_SECRET?)")
	}
	return pt, nil
}

// ParseSecret decodes a master secret given as base64 (standard or URL
// alphabet) or, failing that, takes the string's bytes as they are.
func ParseSecret(s string) []byte {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= 32 {
			return b
		}
	}
	return []byte(s)
}

// LoadOrCreateFile reads a base64 master secret from path, creating the file
// (mode 0600) with 32 random bytes when it does not exist. created reports
// whether it was made now.
func LoadOrCreateFile(path string) (secret []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseSecret(string(b)), false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("seal: read %s: %w", path, err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		// Another process made it between our read and our create.
		return LoadOrCreateFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("seal: create %s: %w", path, err)
	}
	enc := base64.StdEncoding.EncodeToString(key) + "\n"
	if _, err := f.WriteString(enc); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("seal: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("seal: sync %s: %w", path, err)
	}
	return key, true, f.Close()
}
