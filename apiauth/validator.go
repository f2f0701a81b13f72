package apiauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// maxTokenSize bounds the work an oversized token can cause. Access tokens
// with many permissions run to a few KiB.
const maxTokenSize = 64 << 10

// asymmetricAlgs are accepted from the JWKS, each only with a key that
// declares it (or whose type defaults to it).
func asymmetricAlgs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512,
		jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512,
		jose.EdDSA,
	}
}

// Validator checks access tokens issued by one issuer for one audience. It
// is safe for concurrent use; make one per API and share it.
type Validator struct {
	issuer   string
	audience string
	leeway   time.Duration
	secret   []byte                    // HS256 shared secret; nil when HS256 is refused
	algs     []jose.SignatureAlgorithm // what the token header may say
	now      func() time.Time
	realm    string
	onError  func(http.ResponseWriter, *http.Request, *Error)
	keys     *keyCache
}

// New returns a Validator for cfg. It refuses an invalid Config, but not an
// unreachable issuer: it tries discovery and the JWKS once within ctx, and if
// that fails the keys are fetched again by the first request that needs them
// (which answers 503 while they cannot be had). An API therefore starts even
// when its issuer is down (New waits at most Config.FetchTimeout); call
// Refresh to fail fast instead.
func New(ctx context.Context, cfg Config) (*Validator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Validator{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		leeway:   cfg.Leeway,
		now:      cfg.Now,
		realm:    cfg.Realm,
		onError:  cfg.ErrorHandler,
		keys:     newKeyCache(cfg),
		algs:     asymmetricAlgs(),
	}
	if cfg.HS256Secret != nil {
		v.secret = slices.Clone(cfg.HS256Secret)
		v.algs = append(v.algs, jose.HS256)
	}
	if _, err := v.keys.refresh(ctx, v.now(), true); err != nil {
		// Let the first request try again at once rather than after a backoff.
		v.keys.mu.Lock()
		v.keys.nextAttempt = time.Time{}
		v.keys.mu.Unlock()
	}
	return v, nil
}

// Refresh fetches the discovery document and JWKS now, ignoring
// MinRefreshInterval (or joins a fetch in progress). Use it to fail fast at
// start-up, or from a readiness check.
func (v *Validator) Refresh(ctx context.Context) error {
	_, err := v.keys.refresh(ctx, v.now(), true)
	return err
}

// Validate checks a raw access token (without the "Bearer " prefix) and
// returns its claims. Errors match ErrInvalidToken when the token is refused,
// or ErrKeysUnavailable when the issuer's keys could not be fetched.
func (v *Validator) Validate(ctx context.Context, token string) (*Claims, error) {
	c := new(Claims)
	if err := v.validate(ctx, token, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (v *Validator) validate(ctx context.Context, token string, c *Claims) error {
	if len(token) > maxTokenSize {
		return ErrMalformedToken
	}
	// The allowed list is the first line of defence: "none" is never in it,
	// and HS256 only when a shared secret is configured.
	jws, err := jose.ParseSignedCompact(token, v.algs)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return fmt.Errorf("%w: %w", ErrUnsupportedAlgorithm, err)
		}
		return fmt.Errorf("%w: %w", ErrMalformedToken, err)
	}
	hdr := jws.Signatures[0].Header
	alg := jose.SignatureAlgorithm(hdr.Algorithm)
	now := v.now()

	// The second: the key decides the algorithm. HS256 is verified only with
	// the shared secret, and a JWKS key only under the algorithm it declares,
	// so an RSA public key can never serve as an HMAC secret.
	var key any
	if alg == jose.HS256 {
		if v.secret == nil { // unreachable: v.algs has no HS256 then
			return ErrUnsupportedAlgorithm
		}
		key = v.secret
	} else {
		k, err := v.keys.key(ctx, hdr.KeyID, now)
		if err != nil {
			return err
		}
		if k.alg != alg {
			return fmt.Errorf("%w: key %q is for %s, token says %s", ErrUnsupportedAlgorithm, truncate(hdr.KeyID), k.alg, truncate(string(alg)))
		}
		key = k.key
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSignature, err)
	}

	var w wireClaims
	if err := josejson.Unmarshal(payload, &w); err != nil {
		return fmt.Errorf("%w: claims: %w", ErrMalformedToken, err)
	}
	if err := v.check(&w, now); err != nil {
		return err
	}
	c.fill(&w, payload)
	return nil
}

// check applies the issuer, audience and time checks.
func (v *Validator) check(w *wireClaims, now time.Time) error {
	if w.Iss != v.issuer {
		return fmt.Errorf("%w: %q", ErrInvalidIssuer, w.Iss)
	}
	if !slices.Contains(w.Aud, v.audience) {
		return fmt.Errorf("%w: %q", ErrInvalidAudience, []string(w.Aud))
	}
	if w.Exp == 0 {
		return ErrMissingExpiry
	}
	if !now.Before(numericTime(w.Exp).Add(v.leeway)) {
		return ErrTokenExpired
	}
	if w.Nbf != 0 && now.Add(v.leeway).Before(numericTime(w.Nbf)) {
		return ErrTokenNotYetValid
	}
	if w.Iat != 0 && now.Add(v.leeway).Before(numericTime(w.Iat)) {
		return ErrTokenIssuedInFuture
	}
	return nil
}
