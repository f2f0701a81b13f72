package apiauth

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

func TestRedirectsNeverLeaveTLS(t *testing.T) {
	req := func(u string) *http.Request {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: parsed}
	}
	tests := []struct {
		name     string
		from, to string
		ok       bool
	}{
		{"https to https", "https://a.example/jwks", "https://b.example/jwks", true},
		{"https to http", "https://a.example/jwks", "http://b.example/jwks", false},
		{"http to http (a local issuer)", "http://127.0.0.1/jwks", "http://127.0.0.1/keys", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := noDowngrade(req(tc.to), []*http.Request{req(tc.from)})
			if (err == nil) != tc.ok {
				t.Errorf("noDowngrade = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestCacheMaxAge(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"public, max-age=300", 300 * time.Second, true},
		{`MAX-AGE="60", public`, time.Minute, true},
		{"max-age=abc", 0, false},
		{"max-age=-5", 0, false},
		{"no-cache", 0, true},
		{"private, no-store, max-age=300", 0, true},
		{"max-age=99999999999999", 365 * 24 * time.Hour, true},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Cache-Control", tc.header)
		}
		got, ok := cacheMaxAge(h)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cacheMaxAge(%q) = %v, %v; want %v, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
}
