// Package keys owns the tenant's token-signing keys: creating them on first
// start, keeping the current/next/previous set in memory, publishing the
// JWKS, and handing out signers. Private keys live in the store sealed under
// the master secret; only this package ever sees them in the clear.
package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/store"
)

// rsaBits is the modulus size of new RSA keys; Auth0 uses 2048.
const rsaBits = 2048

// Algorithms an API may have its access tokens signed with, besides HS256
// (which uses the API's own secret). RS256 is the tenant's main algorithm:
// it signs ID tokens and the Management API's tokens, and its keys rotate.
// PS256 and ES256 each have keys of their own, so every key is pinned to
// one algorithm in the JWKS; ES256 signs several times faster than RS256.
// Every algorithm's keys rotate and revoke the same way (RotateAlg).
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256}

// Key is a parsed signing key.
type Key struct {
	KID     string
	Alg     jose.SignatureAlgorithm
	Private crypto.Signer // *rsa.PrivateKey or *ecdsa.PrivateKey
	Cert    *x509.Certificate
	signer  jose.Signer
}

// Signer returns a JOSE signer for this key ("typ":"JWT", kid set).
func (k *Key) Signer() jose.Signer { return k.signer }

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.Private.Public() }

// Manager holds the key set loaded from the store.
type Manager struct {
	store   store.SigningKeys
	subject string // certificate CN: the tenant's host
	now     func() time.Time

	mu       sync.RWMutex
	current  map[jose.SignatureAlgorithm]*Key
	byKID    map[string]*Key // every non-revoked key
	jwks     []byte
	reloadMu sync.Mutex
}

// NewManager returns a manager; call Init before use.
func NewManager(s store.SigningKeys, subject string, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{store: s, subject: subject, now: now}
}

// Init creates what the store lacks (safely, when several nodes start at
// once): the first current and next RS256 keys, and a current key for each
// other algorithm. Then it loads the set.
func (m *Manager) Init(ctx context.Context) error {
	if err := m.Reload(ctx); err == nil && len(m.current) == len(Algorithms) {
		return nil // the usual start: nothing to create, one read
	}
	err := m.store.ReplaceSigningKeys(ctx, func(ks []*store.SigningKey) ([]*store.SigningKey, error) {
		now := m.now().UTC()
		have := map[string]bool{}
		for _, k := range ks {
			if k.Current {
				have[k.Alg] = true
			}
		}
		for _, alg := range Algorithms {
			if have[string(alg)] {
				continue
			}
			cur, err := m.generate(alg, now)
			if err != nil {
				return nil, err
			}
			cur.Current, cur.CurrentSince = true, &now
			ks = append(ks, cur)
			if alg == jose.RS256 {
				next, err := m.generate(alg, now)
				if err != nil {
					return nil, err
				}
				next.Next = true
				ks = append(ks, next)
			}
		}
		return ks, nil
	})
	if err != nil {
		return fmt.Errorf("keys: init: %w", err)
	}
	return m.Reload(ctx)
}

// Reload reads the key set from the store, so a rotation made by another
// node is picked up.
func (m *Manager) Reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	stored, err := m.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("keys: load: %w", err)
	}
	m.mu.RLock()
	old := m.byKID
	m.mu.RUnlock()

	byKID := make(map[string]*Key, len(stored))
	current := map[jose.SignatureAlgorithm]*Key{}
	var published []jose.JSONWebKey
	for _, sk := range stored {
		if sk.Revoked {
			continue
		}
		k, ok := old[sk.KID]
		if !ok {
			if k, err = parse(sk); err != nil {
				return err
			}
		}
		byKID[k.KID] = k
		if sk.Current {
			current[k.Alg] = k
		}
		published = append(published, jwkOf(k))
	}
	if current[jose.RS256] == nil {
		return errors.New("keys: the store holds no current RS256 signing key")
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: published})
	if err != nil {
		return fmt.Errorf("keys: encode jwks: %w", err)
	}
	m.mu.Lock()
	m.current, m.byKID, m.jwks = current, byKID, jwks
	m.mu.Unlock()
	return nil
}

// Current returns the RS256 key that signs new tokens.
func (m *Manager) Current() *Key { return m.CurrentFor(jose.RS256) }

// CurrentFor returns the key that signs new tokens with alg, or nil.
func (m *Manager) CurrentFor(alg jose.SignatureAlgorithm) *Key {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.current[alg]
}

// Lookup returns a non-revoked key by kid.
func (m *Manager) Lookup(kid string) (*Key, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	k, ok := m.byKID[kid]
	return k, ok
}

// JWKS returns the published key set document.
func (m *Manager) JWKS() []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.jwks
}

// Rotate rotates the RS256 keys (see RotateAlg).
func (m *Manager) Rotate(ctx context.Context) (*store.SigningKey, error) {
	return m.RotateAlg(ctx, jose.RS256)
}

// ErrUnknownAlgorithm is returned for an algorithm with no keys here.
var ErrUnknownAlgorithm = errors.New("keys: not a signing algorithm of this tenant")

// RotateAlg rotates the keys of alg (RS256, PS256 or ES256): the next key
// becomes current, the current key previous (still published, so tokens it
// signed keep verifying), the old previous key loses its flag (it stays in
// the JWKS until revoked), and a new next key is made and published, so
// consumers that cache the JWKS know it before it signs. A set without a
// next key (the PS256 and ES256 keys a first start makes) has a fresh one
// made current at once.
func (m *Manager) RotateAlg(ctx context.Context, alg jose.SignatureAlgorithm) (*store.SigningKey, error) {
	if !slices.Contains(Algorithms, alg) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, alg)
	}
	var promoted *store.SigningKey
	err := m.store.ReplaceSigningKeys(ctx, func(ks []*store.SigningKey) ([]*store.SigningKey, error) {
		promoted = nil
		now := m.now().UTC()
		fresh, err := m.generate(alg, now)
		if err != nil {
			return nil, err
		}
		fresh.Next = true
		for _, k := range ks {
			if k.Alg != string(alg) {
				continue
			}
			switch {
			case k.Current:
				k.Current, k.Previous, k.CurrentUntil = false, true, &now
			case k.Next:
				k.Next, k.Current, k.CurrentSince = false, true, &now
				promoted = k
			case k.Previous:
				k.Previous = false
			}
		}
		if promoted == nil {
			if promoted, err = m.generate(alg, now); err != nil {
				return nil, err
			}
			promoted.Current, promoted.CurrentSince = true, &now
			ks = append(ks, promoted)
		}
		return append(ks, fresh), nil
	})
	if err != nil {
		return nil, fmt.Errorf("keys: rotate %s: %w", alg, err)
	}
	return promoted, m.Reload(ctx)
}

// ErrNotRevocable is returned by Revoke for a key that is not a previous
// key: the current and next keys sign (or will sign) tokens.
var ErrNotRevocable = errors.New("keys: only a previously used signing key can be revoked")

// Revoke withdraws a previously used key, of any algorithm: it leaves the
// JWKS, so tokens it signed stop verifying, and it can never return. Any
// key that is neither current nor next qualifies, not only the one that
// carries the previous flag: a second rotation moves that flag on but
// leaves the older key published, and a published key must stay
// revocable (Auth0 lists every previously used key as revocable).
func (m *Manager) Revoke(ctx context.Context, kid string) (*store.SigningKey, error) {
	var revoked *store.SigningKey
	err := m.store.ReplaceSigningKeys(ctx, func(ks []*store.SigningKey) ([]*store.SigningKey, error) {
		for _, k := range ks {
			if k.KID != kid {
				continue
			}
			if k.Current || k.Next || k.Revoked {
				return nil, ErrNotRevocable
			}
			now := m.now().UTC()
			k.Previous, k.Revoked, k.RevokedAt = false, true, &now
			revoked = k
			return ks, nil
		}
		return nil, fmt.Errorf("keys: revoke %s: %w", kid, store.ErrNotFound)
	})
	if err != nil {
		return nil, err
	}
	return revoked, m.Reload(ctx)
}

// generate makes a new key for alg with a self-signed certificate.
func (m *Manager) generate(alg jose.SignatureAlgorithm, now time.Time) (*store.SigningKey, error) {
	var priv crypto.Signer
	var err error
	if alg == jose.ES256 {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	}
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: m.subject},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, fmt.Errorf("self-sign: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	kid, err := thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	return &store.SigningKey{
		KID:           kid,
		Alg:           string(alg),
		PrivateKeyDER: pkcs8,
		CertPEM:       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		CreatedAt:     now,
	}, nil
}

func thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

func parse(sk *store.SigningKey) (*Key, error) {
	alg := jose.SignatureAlgorithm(sk.Alg)
	pk, err := x509.ParsePKCS8PrivateKey(sk.PrivateKeyDER)
	if err != nil {
		return nil, fmt.Errorf("keys: parse key %s: %w", sk.KID, err)
	}
	var priv crypto.Signer
	switch k := pk.(type) {
	case *rsa.PrivateKey:
		if alg != jose.RS256 && alg != jose.PS256 {
			return nil, fmt.Errorf("keys: RSA key %s has alg %q", sk.KID, sk.Alg)
		}
		priv = k
	case *ecdsa.PrivateKey:
		if alg != jose.ES256 || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("keys: EC key %s has alg %q", sk.KID, sk.Alg)
		}
		priv = k
	default:
		return nil, fmt.Errorf("keys: key %s is of an unsupported type", sk.KID)
	}
	block, _ := pem.Decode([]byte(sk.CertPEM))
	if block == nil {
		return nil, fmt.Errorf("keys: key %s has no certificate", sk.KID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keys: parse certificate %s: %w", sk.KID, err)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: priv, KeyID: sk.KID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("keys: signer %s: %w", sk.KID, err)
	}
	return &Key{KID: sk.KID, Alg: alg, Private: priv, Cert: cert, signer: signer}, nil
}

func jwkOf(k *Key) jose.JSONWebKey {
	sha1sum := sha1.Sum(k.Cert.Raw)
	sha256sum := sha256.Sum256(k.Cert.Raw)
	return jose.JSONWebKey{
		Key:                         k.Public(),
		KeyID:                       k.KID,
		Algorithm:                   string(k.Alg),
		Use:                         "sig",
		Certificates:                []*x509.Certificate{k.Cert},
		CertificateThumbprintSHA1:   sha1sum[:],
		CertificateThumbprintSHA256: sha256sum[:],
	}
}
