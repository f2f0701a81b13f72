package mgmt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/tenant"
)

// The example key and thumbprint of RFC 7638 §3.1.
func TestJWKThumbprintMatchesRFC7638(t *testing.T) {
	t.Parallel()
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if got, want := tenant.JWKThumbprint(key), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Fatalf("thumbprint %s, want %s", got, want)
	}
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pkixPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func certPEM(t *testing.T, k *rsa.PrivateKey, notAfter time.Time) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestPrivateKeyJWTCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key := rsaKey(t, 2048)
	pemKey := pkixPEM(t, &key.PublicKey)

	created := e.do(t, "POST", "/api/v2/clients", map[string]any{
		"name": "m2m", "app_type": "non_interactive",
		"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{"credentials": []any{
			map[string]any{"credential_type": "public_key", "name": "k1", "pem": pemKey, "alg": "PS256"},
		}}},
	}, http.StatusCreated).obj(t)
	if v, ok := created["token_endpoint_auth_method"]; !ok || v != nil {
		t.Errorf("token_endpoint_auth_method = %v (present %v), want null", v, ok)
	}
	refs := created["client_authentication_methods"].(map[string]any)["private_key_jwt"].(map[string]any)["credentials"].([]any)
	if len(refs) != 1 {
		t.Fatalf("refs %v", refs)
	}
	credID := refs[0].(map[string]any)["id"].(string)
	if !strings.HasPrefix(credID, "cred_") || len(refs[0].(map[string]any)) != 1 {
		t.Errorf("reference %v", refs[0])
	}
	clientPath := "/api/v2/clients/" + str(t, created, "client_id")

	list := e.do(t, "GET", clientPath+"/credentials", nil, 200)
	if strings.Contains(string(list.body), "BEGIN PUBLIC KEY") || strings.Contains(string(list.body), `"pem"`) {
		t.Errorf("credential listing shows the PEM: %s", list.body)
	}
	creds := list.list(t)
	if len(creds) != 1 {
		t.Fatalf("credentials %v", creds)
	}
	c := creds[0].(map[string]any)
	if c["id"] != credID || c["alg"] != "PS256" || c["name"] != "k1" || c["credential_type"] != "public_key" ||
		c["kid"] != tenant.JWKThumbprint(&key.PublicKey) || c["created_at"] != "2024-05-06T07:08:09.123Z" {
		t.Errorf("credential %v", c)
	}
	stored, err := e.store.GetClient(t.Context(), str(t, created, "client_id"))
	if err != nil || len(stored.Credentials) != 1 || stored.Credentials[0].PEM != pemKey || stored.AuthMethod() != "private_key_jwt" {
		t.Fatalf("stored client %+v, %v", stored, err)
	}

	t.Run("register a second key and reference both", func(t *testing.T) {
		key2 := rsaKey(t, 3072)
		cert := certPEM(t, key2, testNow.Add(48*time.Hour))
		c2 := e.do(t, "POST", clientPath+"/credentials", map[string]any{"credential_type": "public_key", "pem": cert,
			"parse_expiry_from_cert": true}, http.StatusCreated).obj(t)
		if c2["alg"] != "RS256" || c2["expires_at"] != "2024-05-08T07:08:09.000Z" || c2["kid"] != tenant.JWKThumbprint(&key2.PublicKey) {
			t.Errorf("credential from certificate %v", c2)
		}
		e.do(t, "GET", clientPath+"/credentials/"+str(t, c2, "id"), nil, 200)
		u := e.do(t, "PATCH", clientPath, map[string]any{"client_authentication_methods": map[string]any{
			"private_key_jwt": map[string]any{"credentials": []any{map[string]any{"id": credID}, map[string]any{"id": c2["id"]}}}}}, 200).obj(t)
		jsonEqual(t, u["client_authentication_methods"], `{"private_key_jwt":{"credentials":[{"id":"`+credID+`"},{"id":"`+c2["id"].(string)+`"}]}}`)
	})
	t.Run("delete a credential drops its reference", func(t *testing.T) {
		e.do(t, "DELETE", clientPath+"/credentials/"+credID, nil, http.StatusNoContent)
		e.call(t, adminToken, "GET", clientPath+"/credentials/"+credID, nil).wantError(t, 404, "inexistent_credential", "")
		e.call(t, adminToken, "DELETE", clientPath+"/credentials/"+credID, nil).wantError(t, 404, "inexistent_credential", "")
		u := e.do(t, "GET", clientPath, nil, 200)
		if strings.Contains(string(u.body), credID) {
			t.Errorf("deleted credential still referenced: %s", u.body)
		}
	})
	t.Run("switch back to a client secret", func(t *testing.T) {
		e.call(t, adminToken, "PATCH", clientPath, map[string]any{"token_endpoint_auth_method": "client_secret_basic"}).
			wantError(t, 400, "invalid_body", "")
		u := e.do(t, "PATCH", clientPath, map[string]any{"token_endpoint_auth_method": "client_secret_basic",
			"client_authentication_methods": nil}, 200).obj(t)
		if _, ok := u["client_authentication_methods"]; ok || u["token_endpoint_auth_method"] != "client_secret_basic" {
			t.Errorf("client %v", u)
		}
	})
}

func TestInvalidCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := str(t, e.do(t, "POST", "/api/v2/clients", map[string]any{"name": "m2m"}, 201).obj(t), "client_id")
	path := "/api/v2/clients/" + id + "/credentials"
	good := pkixPEM(t, &rsaKey(t, 2048).PublicKey)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey(t, 2048))
	tests := []struct {
		name string
		body map[string]any
	}{
		{"not PEM", map[string]any{"credential_type": "public_key", "pem": "hello"}},
		{"garbage inside PEM", map[string]any{"credential_type": "public_key",
			"pem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}))}},
		{"RSA below 2048 bits", map[string]any{"credential_type": "public_key", "pem": pkixPEM(t, &rsaKey(t, 1024).PublicKey)}},
		{"EC key", map[string]any{"credential_type": "public_key", "pem": pkixPEM(t, &ec.PublicKey)}},
		{"private key", map[string]any{"credential_type": "public_key",
			"pem": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))}},
		{"two PEM blocks", map[string]any{"credential_type": "public_key", "pem": good + good}},
		{"unsupported alg", map[string]any{"credential_type": "public_key", "pem": good, "alg": "HS256"}},
		{"wrong credential type", map[string]any{"credential_type": "x509_cert", "pem": good}},
		{"missing pem", map[string]any{"credential_type": "public_key"}},
		{"expiry from a bare key", map[string]any{"credential_type": "public_key", "pem": good, "parse_expiry_from_cert": true}},
		{"already expired", map[string]any{"credential_type": "public_key", "pem": good, "expires_at": "2020-01-01T00:00:00Z"}},
		{"id on creation", map[string]any{"credential_type": "public_key", "pem": good, "id": "cred_x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "POST", path, tt.body).wantError(t, 400, "invalid_body", "")
		})
	}
	refTests := []struct {
		name string
		cam  any
	}{
		{"unknown credential reference", map[string]any{"private_key_jwt": map[string]any{"credentials": []any{map[string]any{"id": "cred_nope"}}}}},
		{"reference with extra fields", map[string]any{"private_key_jwt": map[string]any{"credentials": []any{map[string]any{"id": "cred_nope", "pem": good}}}}},
		{"no credentials", map[string]any{"private_key_jwt": map[string]any{"credentials": []any{}}}},
		{"credentials missing", map[string]any{"private_key_jwt": map[string]any{}}},
		{"bad new key inline", map[string]any{"private_key_jwt": map[string]any{"credentials": []any{
			map[string]any{"credential_type": "public_key", "pem": pkixPEM(t, &ec.PublicKey)}}}}},
	}
	for _, tt := range refTests {
		t.Run(tt.name, func(t *testing.T) {
			e.call(t, adminToken, "PATCH", "/api/v2/clients/"+id, map[string]any{"client_authentication_methods": tt.cam}).
				wantError(t, 400, "invalid_body", "")
		})
	}
	t.Run("both auth methods at once", func(t *testing.T) {
		e.call(t, adminToken, "PATCH", "/api/v2/clients/"+id, map[string]any{"token_endpoint_auth_method": "client_secret_post",
			"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{"credentials": []any{
				map[string]any{"credential_type": "public_key", "pem": good}}}}}).wantError(t, 400, "invalid_body", "")
	})
	if c, _ := e.store.GetClient(t.Context(), id); len(c.Credentials) != 0 {
		t.Errorf("refused requests stored credentials: %v", c.Credentials)
	}
	e.call(t, adminToken, "GET", "/api/v2/clients/nope/credentials", nil).wantError(t, 404, "inexistent_client", "")
}
