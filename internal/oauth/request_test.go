package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseBody(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		want              map[string]string
		wantErr           bool
	}{
		{"form", "application/x-www-form-urlencoded", "grant_type=password&username=a%40b.c", map[string]string{"grant_type": "password", "username": "a@b.c"}, false},
		{"form with charset", "application/x-www-form-urlencoded; charset=UTF-8", "a=1", map[string]string{"a": "1"}, false},
		{"no content type is form", "", "a=1", map[string]string{"a": "1"}, false},
		{"json", "application/json", `{"grant_type":"password","scope":"openid"}`, map[string]string{"grant_type": "password", "scope": "openid"}, false},
		{"json array joins", "application/json; charset=utf-8", `{"scope":["openid","email"]}`, map[string]string{"scope": "openid email"}, false},
		{"json null is absent", "application/json", `{"audience":null}`, map[string]string{}, false},
		{"json number", "application/json", `{"client_id":5}`, nil, true},
		{"json object value", "application/json", `{"client_id":{"a":1}}`, nil, true},
		{"json not an object", "application/json", `["a"]`, nil, true},
		{"json null body", "application/json", `null`, nil, true},
		{"json trailing data", "application/json", `{"a":"b"} {"c":"d"}`, nil, true},
		{"json broken", "application/json", `{"a":`, nil, true},
		{"repeated form parameter", "application/x-www-form-urlencoded", "a=1&a=2", nil, true},
		{"bad escape", "application/x-www-form-urlencoded", "a=%zz", nil, true},
		{"xml", "application/xml", "<a/>", nil, true},
		{"garbage content type", ";;;", "a=1", nil, true},
		{"invalid utf-8", "application/x-www-form-urlencoded", "a=\xff", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseBody(c.ctype, []byte(c.body))
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, c.wantErr)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if !c.wantErr && len(got) != len(c.want) {
				t.Errorf("got %d params, want %d", len(got), len(c.want))
			}
		})
	}
}

func TestParseRequestLimitsAndBasic(t *testing.T) {
	big := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("a="+strings.Repeat("x", MaxBodyBytes)))
	big.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := ParseRequest(big); err == nil || err.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %v", err)
	}
	cases := []struct {
		header  string
		id      string
		wantErr bool
	}{
		{"Basic " + b64("my%20id:s%3Acret"), "my id", false},
		{"Basic !!!", "", true},
		{"Basic " + b64("no-colon"), "", true},
		{"Basic", "", true},
		{"Bearer abc", "", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=password"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Authorization", c.header)
		req, err := ParseRequest(r)
		if (err != nil) != c.wantErr {
			t.Errorf("%q: err = %v", c.header, err)
			continue
		}
		if err == nil && c.id != "" && (req.Basic == nil || req.Basic.ClientID != c.id || req.Basic.ClientSecret != "s:cret") {
			t.Errorf("%q: basic = %+v", c.header, req.Basic)
		}
	}
}

func b64(s string) string { return encodeStd(s) }
