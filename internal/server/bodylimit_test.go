package server_test

import (
	"bytes"
	"encoding/json"
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
