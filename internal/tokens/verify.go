package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/apiauth"

	"github.com/gatehouse/gatehouse/internal/keys"
)

// ErrInvalidToken is returned (wrapped) for every token that must be refused.
var ErrInvalidToken = errors.New("invalid token")

// Leeway is the clock skew Verify tolerates on nbf and iat: apiauth's, so a
// token gatehouse's own endpoints accept is one the APIs behind it accept.
const Leeway = apiauth.DefaultLeeway

// Verify checks a JWT access token this issuer signed with one of its keys
// (each key verifies only its own algorithm; HS256 tokens, signed with an
// API's secret, are never accepted here) and returns its claims when it is
// unexpired, already valid (nbf and iat, within Leeway) and meant for
// audience.
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
	case c.NotBefore != 0 && now.Add(Leeway).Before(time.Unix(c.NotBefore, 0)):
		return nil, fmt.Errorf("%w: not valid yet (nbf)", ErrInvalidToken)
	case c.IssuedAt != 0 && now.Add(Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return nil, fmt.Errorf("%w: issued in the future (iat)", ErrInvalidToken)
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
