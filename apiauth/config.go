package apiauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Defaults for the zero values of Config.
const (
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultCacheTTL is how long a fetched JWKS is trusted before it is
	// fetched again, so that a key the issuer withdraws stops being accepted.
	DefaultCacheTTL = 5 * time.Minute
	// DefaultMinRefreshInterval bounds how often a token with an unknown kid
	// can make the validator fetch the JWKS again.
	DefaultMinRefreshInterval = time.Minute
	// DefaultRealm is the realm of the WWW-Authenticate challenge.
	DefaultRealm = "api"
	// DefaultFetchTimeout bounds one discovery + JWKS fetch.
	DefaultFetchTimeout = 10 * time.Second
)

// minHS256SecretLen is RFC 7518 §3.2: an HS256 key is at least as long as
// the hash output.
const minHS256SecretLen = 32

// Config says which tokens a Validator accepts. Issuer and Audience are
// required; everything else has a default.
type Config struct {
	// Issuer is the expected iss claim, compared exactly, e.g.
	// "https://auth.example.com/" (gatehouse and Auth0 end it with a slash).
	// The discovery document is read from Issuer + ".well-known/openid-configuration"
	// (a "/" is inserted when Issuer has none) and its issuer must equal Issuer.
	Issuer string
	// Audience is this API's identifier; the token's aud (a string or an
	// array) must contain it.
	Audience string

	// JWKSURI, when set, is used instead of discovering the JWKS location.
	JWKSURI string
	// HTTPClient fetches discovery and JWKS; default: a client with
	// DefaultFetchTimeout.
	HTTPClient *http.Client
	// FetchTimeout bounds one discovery + JWKS fetch; default DefaultFetchTimeout.
	FetchTimeout time.Duration

	// HS256Secret, when set, makes HS256 tokens acceptable, verified with
	// this shared secret (the API's signing secret; at least 32 bytes).
	// Without it HS256 tokens are refused outright.
	HS256Secret []byte

	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// DefaultLeeway; a negative value means none.
	Leeway time.Duration
	// CacheTTL is the longest a fetched JWKS is used before it is fetched
	// again. A shorter Cache-Control max-age from the issuer wins. Zero
	// means DefaultCacheTTL.
	CacheTTL time.Duration
	// MinRefreshInterval is the least time between two JWKS fetches caused by
	// tokens (unknown kid, expired cache). It also floors the cache lifetime.
	// Zero means DefaultMinRefreshInterval.
	MinRefreshInterval time.Duration

	// Realm is the realm of the WWW-Authenticate challenge; default "api".
	Realm string
	// ErrorHandler, when set, answers refused requests instead of Error.Write.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, e *Error)

	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// withDefaults validates c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	if c.Issuer == "" {
		return c, errors.New("apiauth: Config.Issuer is required")
	}
	if err := checkHTTPURL(c.Issuer); err != nil {
		return c, fmt.Errorf("apiauth: Config.Issuer: %w", err)
	}
	if c.Audience == "" {
		return c, errors.New("apiauth: Config.Audience is required")
	}
	if c.JWKSURI != "" {
		if err := checkHTTPURL(c.JWKSURI); err != nil {
			return c, fmt.Errorf("apiauth: Config.JWKSURI: %w", err)
		}
	}
	if c.HS256Secret != nil && len(c.HS256Secret) < minHS256SecretLen {
		return c, fmt.Errorf("apiauth: Config.HS256Secret must be at least %d bytes", minHS256SecretLen)
	}
	switch {
	case c.Leeway == 0:
		c.Leeway = DefaultLeeway
	case c.Leeway < 0:
		c.Leeway = 0
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = DefaultFetchTimeout
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.MinRefreshInterval <= 0 {
		c.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if c.CacheTTL < c.MinRefreshInterval {
		c.CacheTTL = c.MinRefreshInterval
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.FetchTimeout, CheckRedirect: noDowngrade}
	}
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// noDowngrade follows redirects as usual but never from https to http, so
// a redirect cannot move the key fetch off TLS.
func noDowngrade(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing redirect from https to %s", req.URL.Scheme)
	}
	return nil
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
