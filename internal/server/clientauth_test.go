package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func rsaKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

type assertion struct {
	key      any
	alg      jose.SignatureAlgorithm
	iss, sub string
	aud      any
	life     time.Duration
	jti      string
	noExp    bool
}

func (a assertion) sign(t *testing.T) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: a.alg, Key: a.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := map[string]any{"iss": a.iss, "sub": a.sub, "aud": a.aud, "iat": now.Unix(), "jti": a.jti}
	if !a.noExp {
		claims["exp"] = now.Add(a.life).Unix()
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClientAuthentication covers every token_endpoint_auth_method, each
// in both body encodings.
func TestClientAuthentication(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	key, pub := rsaKey(t)
	otherKey, _ := rsaKey(t)

	pkjwt := e.API("POST", "/clients", map[string]any{
		"name": "Private key app", "app_type": "regular_web", "grant_types": []string{"password"},
		"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{
			"credentials": []map[string]any{{"credential_type": "public_key", "name": "k1", "pem": pub, "alg": "RS256"}},
		}},
	}, 201)
	pkID := pkjwt["client_id"].(string)
	if pkjwt["token_endpoint_auth_method"] != nil {
		t.Errorf("token_endpoint_auth_method = %v, want null", pkjwt["token_endpoint_auth_method"])
	}
	native := e.API("POST", "/clients", map[string]any{
		"name": "Native app", "app_type": "native", "grant_types": []string{"password", "refresh_token"},
		"token_endpoint_auth_method": "none",
	}, 201)
	nativeID := native["client_id"].(string)
	basic := e.API("POST", "/clients", map[string]any{
		"name": "Basic app", "app_type": "regular_web", "grant_types": []string{"password"},
		"token_endpoint_auth_method": "client_secret_basic",
	}, 201)
	basicID, basicSecret := basic["client_id"].(string), basic["client_secret"].(string)
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{
		"enabled_clients": []string{tn.ClientID, pkID, nativeID, basicID},
	}, 200)

	good := assertion{key: key, alg: jose.RS256, iss: pkID, sub: pkID, aud: e.Issuer, life: 2 * time.Minute}
	with := func(mod func(*assertion)) assertion { a := good; a.jti = randomJTI(); mod(&a); return a }
	replayed := with(func(*assertion) {}).sign(t)

	user := map[string]string{"grant_type": "password", "username": tn.Username, "password": tn.Password}
	cases := []struct {
		name   string
		params map[string]string
		basic  [2]string
		want   int
		code   string
	}{
		{"secret in body", map[string]string{"client_id": tn.ClientID, "client_secret": tn.ClientSecret}, [2]string{}, 200, ""},
		{"wrong secret", map[string]string{"client_id": tn.ClientID, "client_secret": "nope"}, [2]string{}, 401, "access_denied"},
		{"missing secret", map[string]string{"client_id": tn.ClientID}, [2]string{}, 401, "access_denied"},
		{"unknown client", map[string]string{"client_id": "nobody", "client_secret": "x"}, [2]string{}, 401, "access_denied"},
		{"secret post client using basic", nil, [2]string{tn.ClientID, tn.ClientSecret}, 401, "access_denied"},
		{"basic", nil, [2]string{basicID, basicSecret}, 200, ""},
		{"basic wrong secret", nil, [2]string{basicID, "nope"}, 401, "access_denied"},
		{"basic and body secret at once", map[string]string{"client_secret": basicSecret}, [2]string{basicID, basicSecret}, 400, "invalid_request"},
		{"public client", map[string]string{"client_id": nativeID}, [2]string{}, 200, ""},
		{"public client sending a secret", map[string]string{"client_id": nativeID, "client_secret": "x"}, [2]string{}, 401, "access_denied"},
		{"private key jwt", map[string]string{"client_id": pkID, "client_assertion": replayed, "client_assertion_type": assertionType}, [2]string{}, 200, ""},
		{"replayed jti", map[string]string{"client_id": pkID, "client_assertion": replayed, "client_assertion_type": assertionType}, [2]string{}, 401, "invalid_client"},
		{"assertion without client_id", map[string]string{"client_assertion": with(func(*assertion) {}).sign(t), "client_assertion_type": assertionType}, [2]string{}, 200, ""},
		{"wrong audience", pk(pkID, with(func(a *assertion) { a.aud = e.Issuer + "oauth/token" }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"one-element audience array", pk(pkID, with(func(a *assertion) { a.aud = []string{e.Issuer} }).sign(t)), [2]string{}, 200, ""},
		{"lifetime over 5 minutes", pk(pkID, with(func(a *assertion) { a.life = 10 * time.Minute }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"expired", pk(pkID, with(func(a *assertion) { a.life = -time.Minute }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"no exp", pk(pkID, with(func(a *assertion) { a.noExp = true }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"no jti", pk(pkID, with(func(a *assertion) { a.jti = "" }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"iss is not the client", pk(pkID, with(func(a *assertion) { a.iss = tn.ClientID }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"signed by another key", pk(pkID, with(func(a *assertion) { a.key = otherKey }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"PS256 with an RS256 credential", pk(pkID, with(func(a *assertion) { a.alg = jose.PS256 }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"HS256 keyed with the public key", pk(pkID, with(func(a *assertion) { a.alg = jose.HS256; a.key = []byte(pub) }).sign(t)), [2]string{}, 401, "invalid_client"},
		{"wrong assertion type", map[string]string{"client_id": pkID, "client_assertion": "x", "client_assertion_type": "jwt"}, [2]string{}, 400, "invalid_request"},
		{"secret for a private key client", map[string]string{"client_id": pkID, "client_secret": "x"}, [2]string{}, 401, "access_denied"},
	}
	for _, enc := range []string{"form", "json"} {
		for _, c := range cases {
			t.Run(enc+"/"+c.name, func(t *testing.T) {
				params := map[string]string{}
				for k, v := range user {
					params[k] = v
				}
				for k, v := range c.params {
					params[k] = v
				}
				if enc == "json" && c.want == 200 && c.params["client_assertion"] != "" {
					// Single-use assertions were spent by the form run.
					params["client_assertion"] = with(func(*assertion) {}).sign(t)
				}
				status, body := tokenRequest(e, enc, params, c.basic)
				if status != c.want || (c.code != "" && body["error"] != c.code) {
					t.Fatalf("%d %v, want %d %s", status, body, c.want, c.code)
				}
			})
		}
	}
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func pk(clientID, assertion string) map[string]string {
	return map[string]string{"client_id": clientID, "client_assertion": assertion, "client_assertion_type": assertionType}
}

func randomJTI() string { return rand.Text() }

// tokenRequest posts params to /oauth/token as a form or as JSON, with
// optional Basic credentials.
func tokenRequest(e *testenv.Env, enc string, params map[string]string, basic [2]string) (int, map[string]any) {
	var req *http.Request
	if enc == "json" {
		req = testenv.JSONRequest(e.URL+"/oauth/token", params)
	} else {
		v := url.Values{}
		for k, val := range params {
			v.Set(k, val)
		}
		req, _ = http.NewRequest("POST", e.URL+"/oauth/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if basic[0] != "" {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	status, body, _ := e.Do(req)
	return status, body
}
