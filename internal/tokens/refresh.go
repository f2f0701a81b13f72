package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
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

var b64url = base64.RawURLEncoding

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
	// Accepted: a current token.
	Accepted
	// Replayed: the token the last rotation consumed, shown again within
	// the leeway; accepted, and it gets a fresh token of its own.
	Replayed
	// Reused: a rotated token shown again outside the leeway; the whole
	// family must be revoked.
	Reused
)

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
	if len(f.Previous) > 0 && subtle.ConstantTimeCompare(f.Previous, h) == 1 {
		if leeway > 0 && now.Sub(f.PreviousUsedAt) <= leeway {
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

// Rotate records that the token hashing to presented was exchanged at now
// for a new token hashing to next.
func Rotate(f *store.RefreshFamily, v Verdict, presented, next []byte, now time.Time) {
	switch v {
	case Accepted:
		f.Previous, f.PreviousUsedAt = presented, now
		f.Current = [][]byte{next}
	case Replayed:
		// Keep the tokens already issued from the previous one valid, so
		// concurrent callers that each got one can both go on.
		f.Current = append(f.Current, next)
		if len(f.Current) > 4 {
			f.Current = f.Current[len(f.Current)-4:]
		}
	}
}
