package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestOversizedBodyGets413 sends 10 MB bodies to the Authentication and
// Management APIs with a real client, with and without Expect:
// 100-continue, and expects every one answered 413 in the API's JSON shape
// rather than a reset connection.
func TestOversizedBodyGets413(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	body := bytes.Repeat([]byte("a"), 10<<20)
	cases := []struct {
		name, path, contentType, wantField, wantCode string
	}{
		{"token", "/oauth/token", "application/x-www-form-urlencoded", "error", "invalid_request"},
		{"revoke", "/oauth/revoke", "application/json", "error", "invalid_request"},
		{"management", "/api/v2/clients", "application/json", "errorCode", "payload_too_large"},
	}
	for _, c := range cases {
		for _, expect := range []bool{true, false} {
			// A fresh transport per case: a reset on one must not hide behind a
			// reused connection. ExpectContinueTimeout is long so the client
			// really waits for the server's word before sending the body.
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
			for i := range 3 {
				req, _ := http.NewRequest("POST", e.URL+c.path, bytes.NewReader(body))
				req.Header.Set("Content-Type", c.contentType)
				req.Header.Set("Authorization", "Bearer "+e.Mgmt)
				if expect {
					req.Header.Set("Expect", "100-continue")
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s (expect %v, try %d): %v", c.name, expect, i, err)
				}
				var got map[string]any
				err = json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge || err != nil || got[c.wantField] != c.wantCode ||
					!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("%s (expect %v, try %d): %d %v %v", c.name, expect, i, resp.StatusCode, got, err)
				}
			}
			client.CloseIdleConnections()
		}
	}
}

// TestChunkedOversizedBodyGets413 sends bodies without a Content-Length
// (chunked transfer encoding, as a streaming client does) past each API's
// limit, and expects 413 in the endpoint's JSON error shape, not a reset
// or a parse error, on a connection that is then closed.
func TestChunkedOversizedBodyGets413(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	cases := []struct {
		name, path, contentType, wantField, wantCode string
		size                                         int
	}{
		{"token", "/oauth/token", "application/x-www-form-urlencoded", "error", "invalid_request", 10 << 20},
		{"token just over", "/oauth/token", "application/x-www-form-urlencoded", "error", "invalid_request", 64<<10 + 1},
		{"revoke", "/oauth/revoke", "application/json", "error", "invalid_request", 1 << 20},
		{"userinfo", "/userinfo", "application/x-www-form-urlencoded", "error", "invalid_request", 1 << 20},
		{"mfa associate", "/mfa/associate", "application/json", "error", "invalid_request", 1 << 20},
		{"management", "/api/v2/clients", "application/json", "errorCode", "payload_too_large", 10 << 20},
		{"management just over", "/api/v2/clients", "application/json", "errorCode", "payload_too_large", 1<<20 + 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			// A reader of unknown length: the client sends it chunked.
			body := io.MultiReader(strings.NewReader(`{"a":"`), io.LimitReader(repeatReader('a'), int64(c.size)))
			req, _ := http.NewRequest("POST", e.URL+c.path, body)
			req.Header.Set("Content-Type", c.contentType)
			req.Header.Set("Authorization", "Bearer "+e.Mgmt)
			if req.ContentLength != 0 {
				t.Fatal("the request would not be sent chunked")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%v", err)
			}
			defer resp.Body.Close()
			var got map[string]any
			err = json.NewDecoder(resp.Body).Decode(&got)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || err != nil || got[c.wantField] != c.wantCode ||
				!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("%d %v %v", resp.StatusCode, got, err)
			}
		})
	}
}

// repeatReader reads as an endless run of one byte.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
