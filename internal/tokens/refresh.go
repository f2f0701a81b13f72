package tokens

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// A refresh token is "v1." + family id (22 chars) + secret (43 chars), all
// base64url. The store keeps only SHA-256 of the secret; the secret has 256
// bits of entropy, so a fast hash is enough. The family id in the token
// lets a replayed old token find (and revoke) its family.
const (
	refreshPrefix  = "v1."
	familyIDLen    = 22
	secretLen      = 43
	refreshLen     = len(refreshPrefix) + familyIDLen + secretLen
	maxRefreshSize = 256
)

// ErrMalformedRefreshToken means the string is not a gatehouse refresh token.
var ErrMalformedRefreshToken = errors.New("malformed refresh token")

// b64url decodes strictly (the unused low bits of the last character must
// be zero), so a token has one spelling: a variant of it is refused, not
// taken for it.
var b64url = base64.RawURLEncoding.Strict()

// NewFamilyID returns a random refresh-family id.
func NewFamilyID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return b64url.EncodeToString(b)
}

// NewRefreshToken mints a token of family id and returns it with the hash
// to store.
func NewRefreshToken(familyID string) (token string, hash []byte) {
	secret := make([]byte, 32)
	rand.Read(secret)
	sum := sha256.Sum256(secret)
	return refreshPrefix + familyID + b64url.EncodeToString(secret), sum[:]
}

// ParseRefreshToken splits a token into its family id and the hash of its
// secret.
func ParseRefreshToken(token string) (familyID string, hash []byte, err error) {
	if len(token) != refreshLen || !strings.HasPrefix(token, refreshPrefix) {
		return "", nil, ErrMalformedRefreshToken
	}
	// The decoder skips CR and LF: only the alphabet itself is taken.
	for _, c := range []byte(token[len(refreshPrefix):]) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", nil, ErrMalformedRefreshToken
		}
	}
	familyID = token[len(refreshPrefix) : len(refreshPrefix)+familyIDLen]
	if _, err := b64url.DecodeString(familyID); err != nil {
		return "", nil, ErrMalformedRefreshToken
	}
	secret, err := b64url.DecodeString(token[len(refreshPrefix)+familyIDLen:])
	if err != nil || len(secret) != 32 {
		return "", nil, ErrMalformedRefreshToken
	}
	sum := sha256.Sum256(secret)
	return familyID, sum[:], nil
}

// Verdict is what presenting a refresh token to its family means.
type Verdict int

const (
	// Refused: expired family or a token that was never issued; answer
	// invalid_grant, change nothing.
	Refused Verdict = iota
	// Accepted: a token issued and not yet exchanged.
	Accepted
	// Replayed: a token already exchanged, shown again within the leeway
	// of its first exchange; accepted, and it gets a fresh token of its
	// own (a sibling of the one its first exchange returned).
	Replayed
	// Reused: an exchanged token shown again outside the leeway; the whole
	// family must be revoked.
	Reused
)

// Bounds on what a family remembers. A replay inside the leeway adds a
// token to Current; past maxLive the replay is refused (invalid_grant, the
// family kept) rather than an issued token forgotten. Spent tokens older
// than the leeway are forgotten anyway (they are reuse either way).
const (
	maxLive  = 64
	maxSpent = 64
)

// ErrTooManyLive refuses a replay that would leave a family with more than
// maxLive tokens not yet exchanged.
var ErrTooManyLive = errors.New("refresh family has too many unexchanged tokens")

// Judge decides what presenting a token whose secret hashes to h means for
// family f at now. leeway is the client's reuse interval.
func Judge(f *store.RefreshFamily, h []byte, now time.Time, leeway time.Duration) Verdict {
	if !f.ExpiresAt.IsZero() && !now.Before(f.ExpiresAt) {
		return Refused
	}
	if !f.IdleExpiresAt.IsZero() && !now.Before(f.IdleExpiresAt) {
		return Refused
	}
	for _, c := range f.Current {
		if subtle.ConstantTimeCompare(c, h) == 1 {
			return Accepted
		}
	}
	if at, ok := spentAt(f, h); ok {
		if leeway > 0 && now.Sub(at) <= leeway {
			return Replayed
		}
		return Reused
	}
	if f.Rotating {
		// The family id matched, so this is an older rotated token: reuse.
		return Reused
	}
	return Refused
}

// spentAt returns when the token hashing to h was first exchanged, if the
// family still remembers it.
func spentAt(f *store.RefreshFamily, h []byte) (time.Time, bool) {
	if len(f.Previous) > 0 && subtle.ConstantTimeCompare(f.Previous, h) == 1 {
		return f.PreviousUsedAt, true
	}
	for _, s := range f.Spent {
		if subtle.ConstantTimeCompare(s.Hash, h) == 1 {
			return s.At, true
		}
	}
	return time.Time{}, false
}

// Rotate records that the token hashing to presented, judged v, was
// exchanged at now for a new token hashing to next. An accepted token
// leaves Current and is remembered as spent for the leeway; every other
// token of Current stays valid, so concurrent callers that each got a
// token inside the leeway can all go on, each token exactly once.
func Rotate(f *store.RefreshFamily, v Verdict, presented, next []byte, now time.Time, leeway time.Duration) error {
	switch v {
	case Accepted:
		f.Current = slices.DeleteFunc(slices.Clone(f.Current), func(c []byte) bool { return bytes.Equal(c, presented) })
		f.Current = append(f.Current, next)
		var spent []store.SpentToken
		if len(f.Previous) > 0 {
			spent = append(spent, store.SpentToken{Hash: f.Previous, At: f.PreviousUsedAt})
		}
		spent = append(spent, f.Spent...)
		f.Spent = nil
		for _, s := range spent {
			if leeway > 0 && now.Sub(s.At) <= leeway && len(f.Spent) < maxSpent {
				f.Spent = append(f.Spent, s)
			}
		}
		f.Previous, f.PreviousUsedAt = presented, now
	case Replayed:
		if len(f.Current) >= maxLive {
			return ErrTooManyLive
		}
		f.Current = append(slices.Clone(f.Current), next)
	default:
		return fmt.Errorf("tokens: cannot rotate a token judged %d", v)
	}
	return nil
}
