package harness

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenClientSpreadsOverEveryURL: with several URLs, requests go to
// each server in turn.
func TestTokenClientSpreadsOverEveryURL(t *testing.T) {
	t.Parallel()
	for _, conn := range []bool{false, true} {
		var hits, conns [3]atomic.Int64
		var urls []string
		for i := range hits {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits[i].Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"x"}`))
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns[i].Add(1)
				}
			}
			srv.Start()
			t.Cleanup(srv.Close)
			urls = append(urls, srv.URL)
		}
		c := &TokenClient{HTTP: http.DefaultClient, URL: urls[0], URLs: urls}
		token := c.Token
		if conn {
			tc := c.Conn()
			defer tc.Close()
			token = tc.Token
		}
		for range 9 {
			if res, err := token(context.Background(), url.Values{}); err != nil || res.Status != 200 {
				t.Fatalf("%+v %v", res, err)
			}
		}
		for i := range hits {
			if n := hits[i].Load(); n != 3 {
				t.Errorf("conn %v: server %d got %d of 9 requests, want 3", conn, i, n)
			}
			if n := conns[i].Load(); conn && n != 1 {
				t.Errorf("a worker's connection: server %d was connected to %d times, want once", i, n)
			}
		}
	}
}

// TestTokenConnDialsAgainAfterTheServerCloses: a worker's connection that
// the server answers with Connection: close, or drops while idle, is
// dialled again for the next request, and the answer is read whole.
func TestTokenConnDialsAgainAfterTheServerCloses(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		r.ParseForm()
		if n.Add(1)%2 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Retry-After", "3")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"temporarily_unavailable","refresh_token":"` + r.PostForm.Get("n") + `"}`))
	}))
	defer srv.Close()
	tc := (&TokenClient{URL: srv.URL}).Conn()
	defer tc.Close()
	for i := range 6 {
		want := strconv.Itoa(i)
		res, err := tc.Token(context.Background(), url.Values{"n": {want}})
		if err != nil || res.Status != 503 || res.Code != "temporarily_unavailable" || res.RetryAfter != 3*time.Second || res.RefreshToken != want {
			t.Fatalf("request %d: %+v %v", i, res, err)
		}
	}
	srv.CloseClientConnections()
	if res, err := tc.Token(context.Background(), url.Values{}); err != nil {
		t.Fatal(err)
	} else if res.Status == 503 {
		return // dialled again at once
	} else if res.Transport == "" {
		t.Fatalf("after the server dropped the connection: %+v", res)
	}
	// The drop showed on the stale connection; the next request dials anew.
	if res, err := tc.Token(context.Background(), url.Values{}); err != nil || res.Status != 503 {
		t.Fatalf("after the drop: %+v %v", res, err)
	}
}

// TestTokenConnReadsPastAnOversizedAnswer: an answer longer than the 1 MiB
// a Result reads is still drained, so the connection's next answer is read
// from its start.
func TestTokenConnReadsPastAnOversizedAnswer(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1) == 1 {
			w.Write([]byte(`{"access_token":"` + strings.Repeat("a", 2<<20) + `"}`))
			return
		}
		w.Write([]byte(`{"access_token":"x","refresh_token":"second"}`))
	}))
	defer srv.Close()
	tc := (&TokenClient{URL: srv.URL}).Conn()
	defer tc.Close()
	if res, err := tc.Token(context.Background(), url.Values{}); err != nil || res.Status != 200 {
		t.Fatalf("oversized answer: %+v %v", res, err)
	}
	res, err := tc.Token(context.Background(), url.Values{})
	if err != nil || !res.OK() || res.RefreshToken != "second" {
		t.Fatalf("the answer after an oversized one: %+v %v", res, err)
	}
}
