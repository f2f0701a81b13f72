// Package tokens mints and verifies the tokens gatehouse hands out: JWT
// access tokens, ID tokens and opaque refresh tokens (whose families live in
// the store as hashes only).
package tokens

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Audience is a JWT aud claim: one string, or an array when it has several
// values (Auth0's access tokens carry the API and {issuer}userinfo).
type Audience []string

// MarshalJSON writes a single audience as a plain string.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// Contains reports whether v is one of the audiences.
func (a Audience) Contains(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

// Claims are the registered and Auth0 claims gatehouse puts in tokens.
// Extra holds custom (namespaced) claims added by rules; they never
// override the registered ones.
type Claims struct {
	Issuer          string         `json:"iss"`
	Subject         string         `json:"sub"`
	Audience        Audience       `json:"aud"`
	IssuedAt        int64          `json:"iat"`
	NotBefore       int64          `json:"nbf,omitempty"`
	ExpiresAt       int64          `json:"exp"`
	AuthorizedParty string         `json:"azp,omitempty"`
	Scope           string         `json:"scope,omitempty"`
	GrantType       string         `json:"gty,omitempty"`
	Permissions     []string       `json:"permissions,omitempty"`
	Extra           map[string]any `json:"-"`
}

// signJWT signs claims (already-encoded JSON) with signer.
func signJWT(signer jose.Signer, payload []byte) (string, error) {
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("tokens: sign: %w", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("tokens: serialize: %w", err)
	}
	return s, nil
}

// encodeClaims marshals the struct v and merges extra claims that do not
// collide with the keys v already has.
func encodeClaims(v any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	for k, val := range extra {
		if _, taken := doc[k]; taken {
			continue
		}
		raw, err := json.Marshal(val)
		if err != nil {
			return nil, fmt.Errorf("tokens: claim %q: %w", k, err)
		}
		doc[k] = raw
	}
	return json.Marshal(doc)
}

// hmacSigner returns an HS256 signer for key, typ JWT, no kid.
func hmacSigner(key []byte) (jose.Signer, error) {
	if len(key) == 0 {
		return nil, errors.New("tokens: empty HS256 key")
	}
	return jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
}

// ClientSecretKey returns the HS256 key for ID tokens of a client: its
// secret, base64url-decoded when secret_encoded is set.
func ClientSecretKey(secret string, encoded bool) ([]byte, error) {
	if !encoded {
		return []byte(secret), nil
	}
	b, err := base64.RawURLEncoding.DecodeString(trimPad(secret))
	if err != nil {
		return nil, fmt.Errorf("tokens: client secret is not base64url: %w", err)
	}
	return b, nil
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// numericDate converts t to JWT seconds.
func numericDate(t time.Time) int64 { return t.Unix() }
