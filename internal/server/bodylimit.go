package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// mgmtMaxBodyBytes is the Management API's body limit (internal/mgmt
// enforces it while reading; here it only decides an early 413).
const mgmtMaxBodyBytes = 1 << 20

// maxDrainBytes bounds how much of an over-limit body is read and thrown
// away after the 413, so that a client still sending it sees the answer
// rather than a connection reset; past it the connection is closed.
const maxDrainBytes = 16 << 20

// bodyLimit is the largest request body path accepts.
func bodyLimit(path string) int64 {
	if strings.HasPrefix(path, "/api/v2/") {
		return mgmtMaxBodyBytes
	}
	return oauth.MaxBodyBytes
}

// limitBodies answers 413 before reading a body whose declared length is
// over the route's limit. A client that sent Expect: 100-continue then never
// sends the body (no 100 Continue goes out); one that sends it at once has
// it read and discarded, up to maxDrainBytes, after the 413 is on the wire.
// Either way the client reads the 413 instead of a reset connection, which
// is what closing on an unread body produces. Bodies without a declared
// length are cut at the limit by the handlers as they read.
func limitBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := bodyLimit(r.URL.Path)
		if r.ContentLength <= limit {
			next.ServeHTTP(w, r)
			return
		}
		expecting := strings.EqualFold(r.Header.Get("Expect"), "100-continue")
		drain := !expecting && r.ContentLength <= maxDrainBytes
		if !drain {
			w.Header().Set("Connection", "close")
		}
		writeTooLarge(w, r.URL.Path, limit)
		if drain {
			http.NewResponseController(w).Flush()
			io.CopyN(io.Discard, r.Body, maxDrainBytes)
		}
	})
}

// writeTooLarge answers 413 in the error shape of the API path belongs to.
func writeTooLarge(w http.ResponseWriter, path string, limit int64) {
	if !strings.HasPrefix(path, "/api/v2/") {
		oauth.WriteError(w, oauth.ErrBodyTooLarge)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	json.NewEncoder(w).Encode(map[string]any{
		"statusCode": http.StatusRequestEntityTooLarge,
		"error":      "Request Entity Too Large",
		"message":    fmt.Sprintf("Payload content length greater than maximum allowed: %d", limit),
		"errorCode":  "payload_too_large",
	})
}
