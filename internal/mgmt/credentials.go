package mgmt

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// credentialBody is a new private-key-JWT credential, or (inside
// client_authentication_methods) a reference {"id"} to an existing one.
type credentialBody struct {
	ID                  opt[string]    `json:"id"`
	CredentialType      opt[string]    `json:"credential_type"`
	Name                opt[string]    `json:"name"`
	PEM                 opt[string]    `json:"pem"`
	Alg                 opt[string]    `json:"alg"`
	ParseExpiryFromCert opt[bool]      `json:"parse_expiry_from_cert"`
	ExpiresAt           opt[time.Time] `json:"expires_at"`
}

func (b credentialBody) onlyID() bool { return len(setProperties(&b)) == 1 }

// RSA key sizes accepted for client assertions.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// credentialView is a credential as the API shows it: never its PEM.
type credentialView struct {
	ID             string `json:"id"`
	Name           string `json:"name,omitempty"`
	CredentialType string `json:"credential_type"`
	KID            string `json:"kid"`
	Alg            string `json:"alg"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
	ExpiresAt      string `json:"expires_at,omitempty"`
}

func viewCredential(c store.ClientCredential) credentialView {
	return credentialView{
		ID: c.ID, Name: c.Name, CredentialType: c.CredentialType, KID: c.KID, Alg: c.Alg,
		CreatedAt: isoTime(c.CreatedAt), UpdatedAt: isoTime(c.UpdatedAt), ExpiresAt: isoTimePtr(c.ExpiresAt),
	}
}

// newCredential validates a public key credential and gives it an id and a
// kid (the RFC 7638 thumbprint of the key, stable across re-uploads).
func newCredential(b credentialBody, now time.Time) (store.ClientCredential, error) {
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
		KID:            jwkThumbprint(key),
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

// jwkThumbprint is the RFC 7638 SHA-256 thumbprint of an RSA key, base64url.
func jwkThumbprint(k *rsa.PublicKey) string {
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

func credentialNotFound() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: "inexistent_credential", Message: "The credential does not exist"}
}

func (h *handler) listCredentials(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.cfg.Store.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	out := make([]credentialView, 0, len(c.Credentials))
	for _, k := range c.Credentials {
		out = append(out, viewCredential(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getCredential(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.cfg.Store.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	k, ok := findCredential(c, r.PathValue("cred"))
	if !ok {
		return credentialNotFound()
	}
	writeJSON(w, http.StatusOK, viewCredential(k))
	return nil
}

// createCredential registers a key; like Auth0, it is used for client
// authentication only once client_authentication_methods references it.
func (h *handler) createCredential(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b credentialBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	cred, err := newCredential(b, h.now())
	if err != nil {
		return err
	}
	_, err = h.cfg.Store.UpdateClient(r.Context(), r.PathValue("id"), func(c *store.Client) error {
		c.Credentials = append(c.Credentials, cred)
		return nil
	})
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	writeJSON(w, http.StatusCreated, viewCredential(cred))
	return nil
}

// deleteCredential removes a key and every reference to it. A client left
// with private_key_jwt and no credential cannot authenticate: it fails closed.
func (h *handler) deleteCredential(w http.ResponseWriter, r *http.Request, p Principal) error {
	id := r.PathValue("cred")
	_, err := h.cfg.Store.UpdateClient(r.Context(), r.PathValue("id"), func(c *store.Client) error {
		if _, ok := findCredential(c, id); !ok {
			return credentialNotFound()
		}
		c.Credentials = slices.DeleteFunc(c.Credentials, func(k store.ClientCredential) bool { return k.ID == id })
		if m := c.ClientAuthenticationMethods; m != nil && m.PrivateKeyJWT != nil {
			m.PrivateKeyJWT.Credentials = slices.DeleteFunc(m.PrivateKeyJWT.Credentials,
				func(ref store.CredentialRef) bool { return ref.ID == id })
		}
		return nil
	})
	if err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	noContent(w)
	return nil
}
