// Package apiauth lets an HTTP API accept access tokens issued by gatehouse
// (or Auth0): it verifies the JWT signature against the issuer's JWKS, checks
// iss, aud, exp, nbf and iat, puts the claims in the request context and
// answers refusals as RFC 6750 says.
//
//	v, err := apiauth.New(ctx, apiauth.Config{
//		Issuer:   "https://auth.example.com/",
//		Audience: "https://api.example.com",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.Handle("GET /samples", apiauth.RequireScope("read:samples")(listSamples))
//	http.ListenAndServe(":8080", v.Middleware(mux))
//
// and in a handler:
//
//	claims, _ := apiauth.ClaimsFrom(r.Context())
//	log.Print(claims.Subject)
//
// Keys. The JWKS is found through the issuer's discovery document
// ({Issuer}.well-known/openid-configuration, whose issuer must equal
// Config.Issuer) and cached. It is fetched again when the cache is older than
// Config.CacheTTL (5 minutes, or a shorter Cache-Control max-age), so a key
// the issuer withdraws stops being accepted within that time; and when a
// token names an unknown kid, at most once per Config.MinRefreshInterval
// (1 minute), so a flood of forged kids costs the issuer nothing. However
// many requests need keys at once, one fetch is made. When a refresh fails
// the last good keys stay in use. New does not fail when the issuer is
// unreachable: requests get 503 until the keys can be had (call Refresh to
// fail fast instead).
//
// Algorithms. "none" is never accepted. Each JWKS key is pinned to its
// declared alg, or RS256 for RSA keys without one (ES256/384/512 by curve for
// EC keys, EdDSA for Ed25519), and a token must use exactly that alg. HS256 is
// accepted only when Config.HS256Secret is set, and only verified with it, so
// a token "signed" with the RSA public key as an HMAC secret is refused.
// Symmetric keys in a JWKS are ignored.
//
// Time. exp is required; exp, nbf and iat are checked with Config.Leeway (30
// seconds) of tolerance, against Config.Now.
package apiauth
