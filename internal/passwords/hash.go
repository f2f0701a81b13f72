// Package passwords owns the password hash formats: it hashes new passwords
// with the native algorithm, verifies every supported format, says when a
// hash should be replaced (rehash), names each hash's cost class, and
// bounds how many hashes run at once (Limiter). Hashes imported from Auth0
// verify and are upgraded on the next successful login: bcrypt
// ($2a$/$2b$/$2y$) as it is, every custom_password_hash algorithm
// (ImportCustomHash) in a tagged stored form. Password policies belong to the connection strategy
// (internal/directory/database).
package passwords

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithm names a native hash.
type Algorithm string

const (
	Argon2id Algorithm = "argon2id"
	Bcrypt   Algorithm = "bcrypt"
)

// Argon2Params are argon2id's cost parameters.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// OWASPArgon2 is OWASP's first recommended argon2id configuration
// (m=19 MiB, t=2, p=1).
var OWASPArgon2 = Argon2Params{MemoryKiB: 19456, Time: 2, Threads: 1}

// BcryptCost is the cost Auth0 uses, and ours when bcrypt is native.
const BcryptCost = 10

// MaxVerifyBytes bounds work per verification: a longer password is
// refused after a dummy verification, whatever the stored hash. bcrypt also
// ignores bytes past 72, so longer passwords are refused at set time by the
// connection's policy.
const MaxVerifyBytes = 1024

// ErrMalformedHash means a stored hash is in no format we know.
var ErrMalformedHash = errors.New("passwords: malformed hash")

// Hasher hashes new passwords with its native algorithm and verifies any
// supported format.
type Hasher struct {
	Native     Algorithm
	Argon2     Argon2Params
	BcryptCost int
	// Collector, when set, frees each argon2id hash's memory as the hash
	// ends instead of letting it pile up (see Collector).
	Collector *Collector

	// dummy is a native hash of a random password, verified for unknown
	// users. It is made on first use: an argon2id hash takes its whole
	// memory cost, which an idle server should not hold.
	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher for the native algorithm with the given
// parameters (zero values select the defaults above).
func NewHasher(native Algorithm, a Argon2Params, bcryptCost int) (*Hasher, error) {
	if native == "" {
		native = Argon2id
	}
	if native != Argon2id && native != Bcrypt {
		return nil, fmt.Errorf("passwords: unknown algorithm %q (want argon2id or bcrypt)", native)
	}
	if a == (Argon2Params{}) {
		a = OWASPArgon2
	}
	if bcryptCost == 0 {
		bcryptCost = BcryptCost
	}
	return &Hasher{Native: native, Argon2: a, BcryptCost: bcryptCost}, nil
}

// Hash returns a new hash of password in the native format.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxVerifyBytes {
		return "", errors.New("passwords: password too long")
	}
	switch h.Native {
	case Bcrypt:
		b, err := bcrypt.GenerateFromPassword([]byte(password), h.BcryptCost)
		if err != nil {
			return "", fmt.Errorf("passwords: bcrypt: %w", err)
		}
		return string(b), nil
	default:
		salt := make([]byte, 16)
		rand.Read(salt)
		p := h.Argon2
		key := h.argon2id([]byte(password), salt, p, 32)
		return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
			b64.EncodeToString(salt), b64.EncodeToString(key)), nil
	}
}

var b64 = base64.RawStdEncoding

// argon2id derives a key, then has the Collector free the hash's memory
// (the caller still holds its limiter slot).
func (h *Hasher) argon2id(password, salt []byte, p Argon2Params, keyLen uint32) []byte {
	key := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	h.Collector.Collect()
	return key
}

// Verify reports whether password matches hash, and whether the hash should
// be replaced by a native one (other algorithm or weaker parameters).
func (h *Hasher) Verify(hash, password string) (ok, rehash bool, err error) {
	if len(password) > MaxVerifyBytes {
		// Still spend the time, so length does not tell anything.
		h.VerifyDummy(password[:MaxVerifyBytes])
		return false, false, nil
	}
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
		cost, _ := bcrypt.Cost([]byte(hash))
		return true, h.Native != Bcrypt || cost < h.BcryptCost, nil
	case strings.HasPrefix(hash, "$argon2id$"):
		p, salt, key, err := parseArgon2(hash)
		if err != nil {
			return false, false, err
		}
		got := h.argon2id([]byte(password), salt, p, uint32(len(key)))
		if subtle.ConstantTimeCompare(got, key) != 1 {
			return false, false, nil
		}
		weaker := p.MemoryKiB < h.Argon2.MemoryKiB || p.Time < h.Argon2.Time
		return true, h.Native != Argon2id || weaker, nil
	case hash == NoPassword:
		h.VerifyDummy(password)
		return false, false, nil
	case IsImported(hash):
		ok, err := verifyImported(hash, password)
		if err != nil {
			return false, false, err
		}
		// An imported hash is always replaced at its first good login.
		return ok, ok, nil
	}
	return false, false, ErrMalformedHash
}

// VerifyDummy spends the time of one native verification and always fails.
// It is called for unknown users so that they cost the same as wrong
// passwords.
func (h *Hasher) VerifyDummy(password string) {
	h.dummyOnce.Do(func() { h.dummy, _ = h.Hash(rand.Text()) })
	h.Verify(h.dummy, password)
}

// Class names the cost class of a stored hash: its algorithm and the
// parameters that set how long one verification takes ("bcrypt$10",
// "argon2id$m=19456,t=2,p=1"). Verifications of one class cost the same
// whatever the password, so a caller can learn each class's cost by
// measuring it. ok is false for a hash in no format Verify accepts.
func Class(hash string) (class string, ok bool) {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		cost, err := bcrypt.Cost([]byte(hash))
		if err != nil {
			return "", false
		}
		return fmt.Sprintf("bcrypt$%d", cost), true
	case strings.HasPrefix(hash, "$argon2id$"):
		p, _, _, err := parseArgon2(hash)
		if err != nil {
			return "", false
		}
		return argon2Class(p), true
	case IsImported(hash):
		return importedClass(hash)
	}
	return "", false
}

// NoPassword is the stored hash of a user who has no password yet (one
// imported without a hash): every password is refused, after a dummy
// native verification, until one is set.
const NoPassword = "$none$"

func argon2Class(p Argon2Params) string {
	return fmt.Sprintf("argon2id$m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, p.Threads)
}

// NativeClass is the Class of the hashes h makes, and of the dummy hash
// VerifyDummy checks.
func (h *Hasher) NativeClass() string {
	if h.Native == Bcrypt {
		return fmt.Sprintf("bcrypt$%d", h.BcryptCost)
	}
	return argon2Class(h.Argon2)
}

func parseArgon2(hash string) (Argon2Params, []byte, []byte, error) {
	// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return Argon2Params{}, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Argon2Params{}, nil, nil, ErrMalformedHash
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return Argon2Params{}, nil, nil, ErrMalformedHash
	}
	// Bound the parameters so a corrupt or hostile hash cannot exhaust memory.
	if p.MemoryKiB < 8 || p.MemoryKiB > 1<<20 || p.Time < 1 || p.Time > 16 || p.Threads < 1 || p.Threads > 16 {
		return Argon2Params{}, nil, nil, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 64 {
		return Argon2Params{}, nil, nil, ErrMalformedHash
	}
	return p, salt, key, nil
}
