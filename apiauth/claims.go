package apiauth

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	josejson "github.com/go-jose/go-jose/v4/json"
)

// Claims are the verified claims of an access token.
type Claims struct {
	Issuer          string    // iss
	Subject         string    // sub: a user id, or "<client_id>@clients" for client credentials
	Audience        []string  // aud, always as a list
	ExpiresAt       time.Time // exp
	IssuedAt        time.Time // iat; zero when absent
	NotBefore       time.Time // nbf; zero when absent
	AuthorizedParty string    // azp: the client the token was issued to
	Scope           []string  // scope, split on spaces
	Permissions     []string  // permissions (RBAC), when the API adds them
	// GrantType is gty, e.g. "password" or "client-credentials". When gty is
	// an array (Auth0 has emitted ["refresh_token","password"]) it is the
	// first element.
	GrantType string

	payload []byte // the verified JSON payload, for Decode
}

// HasScope reports whether the token was granted scope (exact match).
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scope, scope) }

// HasPermission reports whether the token carries permission (exact match).
func (c *Claims) HasPermission(permission string) bool {
	return slices.Contains(c.Permissions, permission)
}

// Decode unmarshals the whole verified payload into v, for custom claims
// such as "https://example.com/roles". Member names match case-sensitively
// and duplicate members are refused, as in the JOSE parser.
func (c *Claims) Decode(v any) error { return josejson.Unmarshal(c.payload, v) }

type ctxKey struct{}

// authContext is what the middleware stores in the request context: the
// claims, and the validator whose error handler the per-route checks use.
// Claims live inside it so that a request costs one allocation, not two.
type authContext struct {
	claims Claims
	v      *Validator
}

// ClaimsFrom returns the claims the middleware put in ctx.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	ac, ok := ctx.Value(ctxKey{}).(*authContext)
	if !ok {
		return nil, false
	}
	return &ac.claims, true
}

// wireClaims is the payload as sent. NumericDates are float64 (RFC 7519
// allows fractions) and 0 stands for absent, which for every one of them
// means the same thing as 1970.
type wireClaims struct {
	Iss         string     `json:"iss"`
	Sub         string     `json:"sub"`
	Aud         stringList `json:"aud"`
	Exp         float64    `json:"exp"`
	Iat         float64    `json:"iat"`
	Nbf         float64    `json:"nbf"`
	Azp         string     `json:"azp"`
	Scope       string     `json:"scope"`
	Permissions []string   `json:"permissions"`
	Gty         stringList `json:"gty"`
}

// stringList is a claim that is a string or an array of strings (aud, gty).
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := josejson.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = stringList{s}
		return nil
	case string(b) == "null":
		*l = nil
		return nil
	default:
		var ss []string
		if err := josejson.Unmarshal(b, &ss); err != nil {
			return err
		}
		*l = ss
		return nil
	}
}

// numericTime converts a NumericDate, clamping absurd values so that the
// float-to-int conversion stays defined.
func numericTime(f float64) time.Time {
	if f == 0 || math.IsNaN(f) {
		return time.Time{}
	}
	const limit = 1 << 40 // about the year 36812
	f = max(-limit, min(limit, f))
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// fill copies the wire form into c.
func (c *Claims) fill(w *wireClaims, payload []byte) {
	c.Issuer = w.Iss
	c.Subject = w.Sub
	c.Audience = w.Aud
	c.ExpiresAt = numericTime(w.Exp)
	c.IssuedAt = numericTime(w.Iat)
	c.NotBefore = numericTime(w.Nbf)
	c.AuthorizedParty = w.Azp
	if w.Scope != "" {
		c.Scope = strings.Fields(w.Scope)
	}
	c.Permissions = w.Permissions
	if len(w.Gty) > 0 {
		c.GrantType = w.Gty[0]
	}
	c.payload = payload
}
