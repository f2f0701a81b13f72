package tenant

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// CredentialInput is a new private-key-JWT credential, or (inside
// client_authentication_methods) a reference {"id"} to an existing one.
type CredentialInput struct {
	ID                  Opt[string]    `json:"id"`
	CredentialType      Opt[string]    `json:"credential_type"`
	Name                Opt[string]    `json:"name"`
	PEM                 Opt[string]    `json:"pem"`
	Alg                 Opt[string]    `json:"alg"`
	ParseExpiryFromCert Opt[bool]      `json:"parse_expiry_from_cert"`
	ExpiresAt           Opt[time.Time] `json:"expires_at"`
}

func (b CredentialInput) onlyID() bool { return len(SetProperties(&b)) == 1 }

// RSA key sizes accepted for client assertions.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// newCredential validates a public key credential and gives it an id and a
// kid (the RFC 7638 thumbprint of the key, stable across re-uploads).
func newCredential(b CredentialInput, now time.Time) (store.ClientCredential, error) {
	switch {
	case b.ID.Set:
		return store.ClientCredential{}, invalidProp("id", "Additional properties not allowed: id")
	case !b.CredentialType.Set:
		return store.ClientCredential{}, invalidBody("Missing required property: credential_type")
	case b.CredentialType.V != "public_key":
		return store.ClientCredential{}, invalidProp("credential_type", "No enum match for: %s", b.CredentialType.V)
	case !b.PEM.Set:
		return store.ClientCredential{}, invalidBody("Missing required property: pem")
	}
	alg := "RS256"
	setIf(&alg, b.Alg)
	switch alg {
	case "RS256", "RS384", "PS256":
	default:
		return store.ClientCredential{}, invalidProp("alg", "No enum match for: %s", alg)
	}
	key, cert, err := parsePublicKeyPEM(b.PEM.V)
	if err != nil {
		return store.ClientCredential{}, invalidProp("pem", "%s", err.Error())
	}
	cred := store.ClientCredential{
		ID:             ids.Prefixed("cred", 22),
		Name:           b.Name.V,
		CredentialType: "public_key",
		KID:            JWKThumbprint(key),
		Alg:            alg,
		PEM:            b.PEM.V,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	switch {
	case b.ParseExpiryFromCert.V && b.ExpiresAt.Set:
		return store.ClientCredential{}, invalidBody("parse_expiry_from_cert and expires_at exclude each other")
	case b.ParseExpiryFromCert.V && cert == nil:
		return store.ClientCredential{}, invalidProp("parse_expiry_from_cert", "The pem is not a certificate")
	case b.ParseExpiryFromCert.V:
		exp := cert.NotAfter.UTC()
		cred.ExpiresAt = &exp
	case b.ExpiresAt.Set:
		exp := b.ExpiresAt.V.UTC()
		cred.ExpiresAt = &exp
	}
	if cred.ExpiresAt != nil && !cred.ExpiresAt.After(now) {
		return store.ClientCredential{}, invalidProp("expires_at", "The credential would already be expired")
	}
	return cred, nil
}

// parsePublicKeyPEM reads one PEM block holding an RSA public key (PKIX or
// PKCS#1) or a certificate of one.
func parsePublicKeyPEM(s string) (*rsa.PublicKey, *x509.Certificate, error) {
	block, rest := pem.Decode([]byte(s))
	if block == nil {
		return nil, nil, errors.New("not a PEM encoded key or certificate")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, nil, errors.New("more than one PEM block")
	}
	var (
		key  any
		cert *x509.Certificate
		err  error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, nil, fmt.Errorf("unsupported PEM block %q (want PUBLIC KEY or CERTIFICATE)", block.Type)
	}
	if err != nil {
		return nil, nil, errors.New("invalid public key or certificate")
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, nil, errors.New("the key is not an RSA key")
	}
	if bits := rsaKey.N.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, nil, fmt.Errorf("RSA keys must have %d to %d bits (got %d)", minRSABits, maxRSABits, bits)
	}
	return rsaKey, cert, nil
}

// JWKThumbprint is the RFC 7638 SHA-256 thumbprint of an RSA key, base64url.
func JWKThumbprint(k *rsa.PublicKey) string {
	b64 := base64.RawURLEncoding
	e := b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
	n := b64.EncodeToString(k.N.Bytes())
	// Members in lexicographic order, no whitespace (RFC 7638 §3).
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return b64.EncodeToString(sum[:])
}

func findCredential(c *store.Client, id string) (store.ClientCredential, bool) {
	i := slices.IndexFunc(c.Credentials, func(k store.ClientCredential) bool { return k.ID == id })
	if i < 0 {
		return store.ClientCredential{}, false
	}
	return c.Credentials[i], true
}

// AddClientCredential registers a public key for the client; like Auth0,
// it is used for client authentication only once
// client_authentication_methods references it.
func (s *Service) AddClientCredential(ctx context.Context, clientID string, in CredentialInput) (_ store.ClientCredential, err error) {
	defer s.audit(ctx, "Create a client credential", &err)
	cred, err := newCredential(in, s.now())
	if err != nil {
		return store.ClientCredential{}, err
	}
	_, err = s.Store.UpdateClient(ctx, clientID, func(c *store.Client) error {
		c.Credentials = append(c.Credentials, cred)
		return nil
	})
	if err != nil {
		return store.ClientCredential{}, notFound(err, errNoClient)
	}
	return cred, nil
}

// ClientCredential returns one of the client's credentials.
func (s *Service) ClientCredential(ctx context.Context, clientID, credID string) (store.ClientCredential, error) {
	c, err := s.GetClient(ctx, clientID)
	if err != nil {
		return store.ClientCredential{}, err
	}
	k, ok := findCredential(c, credID)
	if !ok {
		return store.ClientCredential{}, errNoCredential
	}
	return k, nil
}

// DeleteClientCredential removes a key and every reference to it. A client
// left with private_key_jwt and no credential cannot authenticate: it
// fails closed.
func (s *Service) DeleteClientCredential(ctx context.Context, clientID, credID string) (err error) {
	defer s.audit(ctx, "Delete a client credential", &err)
	_, err = s.Store.UpdateClient(ctx, clientID, func(c *store.Client) error {
		if _, ok := findCredential(c, credID); !ok {
			return errNoCredential
		}
		c.Credentials = slices.DeleteFunc(c.Credentials, func(k store.ClientCredential) bool { return k.ID == credID })
		if m := c.ClientAuthenticationMethods; m != nil && m.PrivateKeyJWT != nil {
			m.PrivateKeyJWT.Credentials = slices.DeleteFunc(m.PrivateKeyJWT.Credentials,
				func(ref store.CredentialRef) bool { return ref.ID == credID })
		}
		return nil
	})
	return notFound(err, errNoClient)
}
