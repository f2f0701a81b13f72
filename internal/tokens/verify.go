package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/keys"
)

// ErrInvalidToken is returned (wrapped) for every token that must be refused.
var ErrInvalidToken = errors.New("invalid token")

// Verify checks a JWT access token this issuer signed with one of its keys
// (each key verifies only its own algorithm; HS256 tokens, signed with an
// API's secret, are never accepted here) and returns its claims when it is
// unexpired and meant for audience.
func (m *Minter) Verify(raw, audience string, now time.Time) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, keys.Algorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	key, ok := m.Keys.Lookup(tok.Headers[0].KeyID)
	if !ok || string(key.Alg) != tok.Headers[0].Algorithm {
		return nil, fmt.Errorf("%w: unknown key or algorithm", ErrInvalidToken)
	}
	var payload json.RawMessage
	if err := tok.Claims(key.Public(), &payload); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	switch {
	case c.Issuer != m.Issuer:
		return nil, fmt.Errorf("%w: issuer", ErrInvalidToken)
	case !c.Audience.Contains(audience):
		return nil, fmt.Errorf("%w: audience", ErrInvalidToken)
	case now.Unix() >= c.ExpiresAt:
		return nil, fmt.Errorf("%w: expired", ErrInvalidToken)
	}
	var extra map[string]any
	if err := json.Unmarshal(payload, &extra); err == nil {
		for k := range extra {
			if registered[k] || k == "iss" {
				delete(extra, k)
			}
		}
		c.Extra = extra
	}
	return &c, nil
}
