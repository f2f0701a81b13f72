package oauth

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Limits on client assertions (Auth0's private_key_jwt rules).
const (
	maxAssertionBytes = 2048
	maxAssertionLife  = 5 * time.Minute
	assertionSkew     = 10 * time.Second
	maxJTI            = 64
	maxClientIDLen    = 64
)

// assertionAlgs are the algorithms a credential may declare.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.PS256}

type assertionClaims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	ID        string           `json:"jti"`
}

// verifyAssertion checks a private_key_jwt client assertion for client: the
// signature by one of its registered credentials with that credential's
// algorithm, iss = sub = client_id, aud = issuer, a short unexpired life and
// a jti never seen before.
func (a *ClientAuthenticator) verifyAssertion(ctx context.Context, client *store.Client, raw string) error {
	claims, err := a.checkAssertion(client, raw)
	if err != nil {
		return ErrInvalidAssertion.WithCause(err)
	}
	err = a.Nonces.UseNonce(ctx, "jti:"+client.ClientID+":"+claims.ID, claims.Expiry.Time())
	if errors.Is(err, store.ErrConflict) {
		return ErrInvalidAssertion.WithCause(errors.New("replayed jti"))
	}
	if err != nil {
		return ErrServer.WithCause(err)
	}
	return nil
}

// checkAssertion is verifyAssertion without the replay check.
func (a *ClientAuthenticator) checkAssertion(client *store.Client, raw string) (*assertionClaims, error) {
	if len(raw) > maxAssertionBytes {
		return nil, errors.New("assertion too large")
	}
	tok, err := jwt.ParseSigned(raw, assertionAlgs)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	hdr := tok.Headers[0]
	var claims assertionClaims
	verified := false
	for _, cred := range client.Credentials {
		if hdr.KeyID != "" && hdr.KeyID != cred.KID && hdr.KeyID != cred.ID {
			continue
		}
		alg := cred.Alg
		if alg == "" {
			alg = string(jose.RS256)
		}
		if hdr.Algorithm != alg || (cred.ExpiresAt != nil && !a.Now().Before(*cred.ExpiresAt)) {
			continue
		}
		pub, err := credentialKey(cred.PEM)
		if err != nil {
			continue
		}
		if tok.Claims(pub, &claims) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, errors.New("no registered credential verifies the signature")
	}
	now := a.Now()
	switch {
	case claims.Issuer != client.ClientID || claims.Subject != client.ClientID:
		return nil, errors.New("iss and sub must be the client_id")
	case len(claims.Issuer) > maxClientIDLen:
		return nil, errors.New("iss too long")
	case len(claims.Audience) != 1 || claims.Audience[0] != a.Audience:
		return nil, fmt.Errorf("aud must be %s", a.Audience)
	case claims.Expiry == nil:
		return nil, errors.New("exp missing")
	case !now.Before(claims.Expiry.Time()):
		return nil, errors.New("expired")
	case claims.ID == "" || len(claims.ID) > maxJTI:
		return nil, errors.New("jti missing or too long")
	case input.Text(claims.ID) != nil:
		return nil, errors.New("jti is not valid text")
	}
	start := now
	if claims.IssuedAt != nil {
		if claims.IssuedAt.Time().After(now.Add(assertionSkew)) {
			return nil, errors.New("iat in the future")
		}
		start = claims.IssuedAt.Time()
	}
	if claims.Expiry.Time().Sub(start) > maxAssertionLife {
		return nil, errors.New("lifetime over 5 minutes")
	}
	if claims.NotBefore != nil && claims.NotBefore.Time().After(now.Add(assertionSkew)) {
		return nil, errors.New("not yet valid")
	}
	return &claims, nil
}

// credentialKey parses a credential's PEM: a PKIX public key or a certificate.
func credentialKey(p string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	}
	if err != nil {
		return nil, err
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return rsaPub, nil
}

// unverifiedSubject reads sub from an assertion without verifying it, only
// to find which client's keys to verify it with.
func unverifiedSubject(raw string) string {
	if len(raw) > maxAssertionBytes {
		return ""
	}
	tok, err := jwt.ParseSigned(raw, assertionAlgs)
	if err != nil {
		return ""
	}
	var c struct {
		Subject string `json:"sub"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil || len(c.Subject) > maxClientIDLen {
		return ""
	}
	return c.Subject
}
