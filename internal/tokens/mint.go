package tokens

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Lifetimes Auth0 applies when nothing else is configured.
const (
	DefaultAccessTokenLifetime = 86400
	DefaultIDTokenLifetime     = 36000
)

// Minter mints access and ID tokens for one issuer.
type Minter struct {
	Issuer string // with trailing slash
	Keys   *keys.Manager
}

// UserinfoAudience is the audience of tokens /userinfo accepts.
func (m *Minter) UserinfoAudience() string { return m.Issuer + "userinfo" }

// AccessToken describes an access token to mint.
type AccessToken struct {
	Subject     string                // user_id, or <client_id>@clients
	ClientID    string                // azp
	GrantType   string                // gty
	API         *store.ResourceServer // nil: a token only /userinfo accepts
	Scopes      []string
	Permissions []string
	Extra       map[string]any
	IssuedAt    time.Time
}

// Unsigned is a token whose claims are encoded and whose key is chosen:
// everything that could refuse it has been checked, and only the signature,
// most of a token's cost, is left. The token endpoint prepares its tokens
// before its durable write and signs them while the write waits on the disk.
type Unsigned struct {
	signer  jose.Signer
	payload []byte
}

// Sign signs the token. With a valid key it cannot fail but for a broken
// random source.
func (u Unsigned) Sign() (string, error) { return signJWT(u.signer, u.payload) }

// AccessToken signs at and returns it with its lifetime in seconds.
func (m *Minter) AccessToken(at AccessToken) (string, int, error) {
	u, lifetime, err := m.PrepareAccessToken(at)
	if err != nil {
		return "", 0, err
	}
	tok, err := u.Sign()
	return tok, lifetime, err
}

// PrepareAccessToken is AccessToken up to the signature.
func (m *Minter) PrepareAccessToken(at AccessToken) (Unsigned, int, error) {
	lifetime := DefaultAccessTokenLifetime
	aud := Audience{m.UserinfoAudience()}
	alg := "RS256"
	if at.API != nil {
		if at.API.TokenLifetime > 0 {
			lifetime = at.API.TokenLifetime
		}
		alg = at.API.SigningAlg
		aud = Audience{at.API.Identifier}
		if slices.Contains(at.Scopes, "openid") && alg != "HS256" {
			aud = append(aud, m.UserinfoAudience())
		}
	}
	c := Claims{
		Issuer:          m.Issuer,
		Subject:         at.Subject,
		Audience:        aud,
		IssuedAt:        numericDate(at.IssuedAt),
		ExpiresAt:       numericDate(at.IssuedAt) + int64(lifetime),
		AuthorizedParty: at.ClientID,
		Scope:           strings.Join(at.Scopes, " "),
		GrantType:       at.GrantType,
		Permissions:     at.Permissions,
	}
	payload, err := encodeClaims(c, at.Extra)
	if err != nil {
		return Unsigned{}, 0, err
	}
	signer, err := m.signer(alg, func() ([]byte, error) { return []byte(at.API.SigningSecret), nil })
	if err != nil {
		return Unsigned{}, 0, err
	}
	return Unsigned{signer: signer, payload: payload}, lifetime, nil
}

// IDToken describes an ID token to mint.
type IDToken struct {
	Client   *store.Client
	User     *store.User
	Scopes   []string
	Extra    map[string]any
	IssuedAt time.Time
}

// IDToken signs an ID token: aud is the client_id, profile claims follow the
// granted OIDC scopes, the algorithm follows the client's jwt_configuration.
func (m *Minter) IDToken(it IDToken) (string, error) {
	u, err := m.PrepareIDToken(it)
	if err != nil {
		return "", err
	}
	return u.Sign()
}

// PrepareIDToken is IDToken up to the signature.
func (m *Minter) PrepareIDToken(it IDToken) (Unsigned, error) {
	lifetime := it.Client.JWTConfiguration.LifetimeInSeconds
	if lifetime <= 0 {
		lifetime = DefaultIDTokenLifetime
	}
	claims := ProfileClaims(it.User, it.Scopes)
	for k, v := range it.Extra {
		if _, taken := claims[k]; !taken && !registered[k] {
			claims[k] = v
		}
	}
	iat := numericDate(it.IssuedAt)
	claims["iss"] = m.Issuer
	claims["sub"] = it.User.UserID
	claims["aud"] = it.Client.ClientID
	claims["iat"] = iat
	claims["exp"] = iat + int64(lifetime)
	payload, err := encodeClaims(claims, nil)
	if err != nil {
		return Unsigned{}, err
	}
	alg := it.Client.JWTConfiguration.Alg
	if alg == "" {
		alg = "RS256"
	}
	signer, err := m.signer(alg, func() ([]byte, error) {
		return ClientSecretKey(it.Client.ClientSecret, it.Client.JWTConfiguration.SecretEncoded)
	})
	if err != nil {
		return Unsigned{}, err
	}
	return Unsigned{signer: signer, payload: payload}, nil
}

// signer picks the key for alg: a shared secret (from secret) for HS256,
// else the tenant's current key for that algorithm.
func (m *Minter) signer(alg string, secret func() ([]byte, error)) (jose.Signer, error) {
	switch alg {
	case "":
		alg = "RS256"
	case "HS256":
		key, err := secret()
		if err != nil {
			return nil, err
		}
		return hmacSigner(key)
	}
	k := m.Keys.CurrentFor(jose.SignatureAlgorithm(alg))
	if k == nil {
		return nil, fmt.Errorf("tokens: signing algorithm %q is not supported", alg)
	}
	return k.Signer(), nil
}

// registered claims are never set from custom claims.
var registered = map[string]bool{
	"iss": true, "sub": true, "aud": true, "iat": true, "exp": true, "nbf": true, "jti": true,
	"azp": true, "scope": true, "gty": true, "permissions": true, "nonce": true, "auth_time": true,
}

// timeFormat is Auth0's ISO-8601 with milliseconds, used for updated_at.
const timeFormat = "2006-01-02T15:04:05.000Z"

// ProfileClaims returns the OIDC claims of u that the scopes release, as
// the ID token and /userinfo show them.
func ProfileClaims(u *store.User, scopes []string) map[string]any {
	c := make(map[string]any, 12)
	put := func(k, v string) {
		if v != "" {
			c[k] = v
		}
	}
	if slices.Contains(scopes, "profile") {
		put("name", u.Name)
		put("nickname", u.Nickname)
		put("given_name", u.GivenName)
		put("family_name", u.FamilyName)
		put("picture", u.Picture)
		if !u.UpdatedAt.IsZero() {
			c["updated_at"] = u.UpdatedAt.UTC().Format(timeFormat)
		}
	}
	if slices.Contains(scopes, "email") && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if slices.Contains(scopes, "phone") && u.PhoneNumber != "" {
		c["phone_number"] = u.PhoneNumber
		c["phone_number_verified"] = u.PhoneVerified
	}
	return c
}
