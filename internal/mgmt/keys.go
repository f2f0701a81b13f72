package mgmt

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
)

// signingKey is Auth0's signing key object. The list shows the tenant's
// RS256 keys, as Auth0 has no others; gatehouse's PS256 and ES256 keys (for
// APIs that chose those algorithms) are listed and rotated with ?alg=, and
// fetched and revoked by kid like any other.
type signingKey struct {
	KID          string `json:"kid"`
	Cert         string `json:"cert"`
	Fingerprint  string `json:"fingerprint"`
	Thumbprint   string `json:"thumbprint"`
	Current      bool   `json:"current,omitempty"`
	Next         bool   `json:"next,omitempty"`
	Previous     bool   `json:"previous,omitempty"`
	Revoked      bool   `json:"revoked,omitempty"`
	CurrentSince string `json:"current_since,omitempty"`
	CurrentUntil string `json:"current_until,omitempty"`
	RevokedAt    string `json:"revoked_at,omitempty"`
}

func keyView(k *store.SigningKey) signingKey {
	v := signingKey{
		KID: k.KID, Current: k.Current, Next: k.Next, Previous: k.Previous, Revoked: k.Revoked,
		// Auth0 sends PEM with CRLF line breaks.
		Cert:         strings.ReplaceAll(strings.TrimRight(k.CertPEM, "\n"), "\n", "\r\n") + "\r\n",
		CurrentSince: isoTimePtr(k.CurrentSince),
		CurrentUntil: isoTimePtr(k.CurrentUntil),
		RevokedAt:    isoTimePtr(k.RevokedAt),
	}
	if block, _ := pem.Decode([]byte(k.CertPEM)); block != nil {
		sum := sha1.Sum(block.Bytes)
		v.Thumbprint = hex.EncodeToString(sum[:])
		pairs := make([]string, len(sum))
		for i, b := range sum {
			pairs[i] = fmt.Sprintf("%02X", b)
		}
		v.Fingerprint = strings.Join(pairs, ":")
	}
	return v
}

// algParam reads the ?alg= extension: RS256 (the default), PS256 or ES256.
func algParam(r *http.Request) (jose.SignatureAlgorithm, error) {
	alg := jose.SignatureAlgorithm(r.URL.Query().Get("alg"))
	if alg == "" {
		return jose.RS256, nil
	}
	if !slices.Contains(keys.Algorithms, alg) {
		return "", invalidQuery("alg", "Must be one of RS256, PS256, ES256")
	}
	return alg, nil
}

// signingKeys returns the stored keys of alg, or of every algorithm when
// alg is empty.
func (h *handler) signingKeys(r *http.Request, alg jose.SignatureAlgorithm) ([]*store.SigningKey, error) {
	all, err := h.cfg.Store.ListSigningKeys(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var out []*store.SigningKey
	for _, k := range all {
		if alg == "" || k.Alg == string(alg) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (h *handler) listSigningKeys(w http.ResponseWriter, r *http.Request, _ Principal) error {
	alg, err := algParam(r)
	if err != nil {
		return err
	}
	ks, err := h.signingKeys(r, alg)
	if err != nil {
		return err
	}
	views := make([]signingKey, len(ks))
	for i, k := range ks {
		views[i] = keyView(k)
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (h *handler) getSigningKey(w http.ResponseWriter, r *http.Request, _ Principal) error {
	ks, err := h.signingKeys(r, "")
	if err != nil {
		return err
	}
	for _, k := range ks {
		if k.KID == r.PathValue("kid") {
			writeJSON(w, http.StatusOK, keyView(k))
			return nil
		}
	}
	return &apiError{Status: http.StatusNotFound, Code: "inexistent_signing_key", Message: "The signing key does not exist"}
}

func (h *handler) rotateSigningKey(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if h.cfg.Keys == nil {
		return errors.New("rotate signing key: no key manager")
	}
	alg, err := algParam(r)
	if err != nil {
		return err
	}
	k, err := h.cfg.Keys.RotateAlg(r.Context(), alg)
	if err != nil {
		return err
	}
	v := keyView(k)
	writeJSON(w, http.StatusCreated, map[string]string{"cert": v.Cert, "kid": v.KID})
	return nil
}

func (h *handler) revokeSigningKey(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if h.cfg.Keys == nil {
		return errors.New("revoke signing key: no key manager")
	}
	k, err := h.cfg.Keys.Revoke(r.Context(), r.PathValue("kid"))
	if errors.Is(err, store.ErrNotFound) {
		return &apiError{Status: http.StatusNotFound, Code: "inexistent_signing_key", Message: "The signing key does not exist"}
	}
	if errors.Is(err, keys.ErrNotRevocable) {
		return &apiError{Status: http.StatusBadRequest, Code: "invalid_signing_key", Message: "Only a previously used signing key can be revoked"}
	}
	if err != nil {
		return err
	}
	v := keyView(k)
	writeJSON(w, http.StatusOK, map[string]string{"cert": v.Cert, "kid": v.KID})
	return nil
}
