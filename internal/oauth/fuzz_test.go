package oauth

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/store"
)

func encodeStd(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// FuzzParseBody: no input may panic, and whatever parses must be
// well-formed parameters.
func FuzzParseBody(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/x-www-form-urlencoded", "grant_type=password&username=a&password=b"},
		{"application/json", `{"grant_type":"refresh_token","refresh_token":"v1.x"}`},
		{"application/json", `{"scope":["a","b"],"x":null}`},
		{"application/json; charset=utf-8", `{"a":"\u0000"}`},
		{"", "a=%41"},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		params, err := ParseBody(ct, body)
		if err != nil {
			return
		}
		if len(params) > maxParams {
			t.Fatalf("%d params accepted", len(params))
		}
		FromParams(params)
	})
}

// FuzzClientAssertion: any string given as a client assertion is refused
// without a panic (the client has a real credential, so only a forgery
// could pass, and the fuzzer cannot forge RS256).
func FuzzClientAssertion(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJjIiwic3ViIjoiYyJ9.c2ln")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJjIn0.")
	f.Add("a.b.c")
	f.Add("")
	a := &ClientAuthenticator{Audience: "https://t/", Now: time.Now}
	client := &store.Client{ClientID: "c", Credentials: []store.ClientCredential{{ID: "cred_1", KID: "k", Alg: "RS256", PEM: testPublicPEM}}}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := a.checkAssertion(client, raw); err == nil {
			t.Fatalf("accepted %q", raw)
		}
		unverifiedSubject(raw)
	})
}

const testPublicPEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo
4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u
+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh
kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ
0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg
cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc
mwIDAQAB
-----END PUBLIC KEY-----`

// FuzzAuthorizationHeader: any Authorization header is refused, ignored
// (another scheme) or read into client credentials or a bearer token of
// valid text, never a panic.
func FuzzAuthorizationHeader(f *testing.F) {
	for _, h := range []string{"Basic " + encodeStd("a:b"), "Basic " + encodeStd("a%3Ab:c%00"), "Basic " + encodeStd("\xff:x"),
		"Basic", "Basic !!!", "basic " + encodeStd(":"), "Bearer abc", "Bearer  ", "Bearer " + strings.Repeat("x", 9000), "Digest x", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := &http.Request{Header: http.Header{"Authorization": {h}}}
		basic, err := BasicAuth(r)
		switch {
		case err != nil:
			if err.Status != http.StatusBadRequest {
				t.Fatalf("%q: status %d", h, err.Status)
			}
		case basic != nil:
			if input.Text(basic.ClientID) != nil || input.Text(basic.ClientSecret) != nil {
				t.Fatalf("%q: credentials %q, %q are not valid text", h, basic.ClientID, basic.ClientSecret)
			}
		}
		if tok, ok := bearer(r); ok && (tok == "" || len(tok) > 8192 || strings.TrimSpace(tok) != tok) {
			t.Fatalf("%q: bearer token %q", h, tok)
		}
	})
}
