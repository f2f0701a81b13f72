package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
)

// TestTokenClientSpreadsOverEveryURL: with several URLs, requests go to
// each server in turn.
func TestTokenClientSpreadsOverEveryURL(t *testing.T) {
	t.Parallel()
	var hits [3]atomic.Int64
	var urls []string
	for i := range hits {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"x"}`))
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	c := &TokenClient{HTTP: http.DefaultClient, URL: urls[0], URLs: urls}
	for range 9 {
		if res, err := c.Token(context.Background(), url.Values{}); err != nil || res.Status != 200 {
			t.Fatalf("%+v %v", res, err)
		}
	}
	for i := range hits {
		if n := hits[i].Load(); n != 3 {
			t.Errorf("server %d got %d of 9 requests, want 3", i, n)
		}
	}
}
