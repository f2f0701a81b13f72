package server

import (
	"bytes"
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

// importPath takes a users file, up to the import limit.
const importPath = "/api/v2/jobs/users-imports"

// bodyLimit is the largest request body path accepts; importMax is the
// users-import upload's.
func bodyLimit(path string, importMax int64) int64 {
	if path == importPath {
		return importMax + 64<<10 // the form's own fields and boundaries
	}
	if strings.HasPrefix(path, "/api/v2/") {
		return mgmtMaxBodyBytes
	}
	return oauth.MaxBodyBytes
}

// limitBodies answers 413 for a body over the route's limit, in the
// route's JSON error shape, whichever check the handler would make first.
//
// A declared length over the limit is refused before reading: a client
// that sent Expect: 100-continue then never sends the body (no 100 Continue
// goes out); one that sends it at once has it read and discarded, up to
// maxDrainBytes, after the 413 is on the wire. Either way the client reads
// the 413 instead of a reset connection, which is what closing on an unread
// body produces.
//
// A body without a declared length (chunked) is read here up to one byte
// past the limit before the handler runs: within it, the handler gets it
// from memory; past it, the answer is the same 413, and the rest is drained
// the same way. Without this, a handler that checks a bearer token before
// reading would answer 401 to what is really too large, or a parser would
// report the cut body as malformed.
//
// The users-import upload is the exception: a chunked one goes to its
// handler unread, which streams it to disk under the same limit (held in
// memory here, it could be tens of megabytes).
func limitBodies(next http.Handler, importMax int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := bodyLimit(r.URL.Path, importMax)
		if r.ContentLength == -1 && r.URL.Path != importPath {
			body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
			if err != nil {
				// The client stopped sending or sent broken chunks.
				w.Header().Set("Connection", "close")
				writeBadBody(w, r.URL.Path)
				return
			}
			if int64(len(body)) <= limit {
				r.Body = io.NopCloser(bytes.NewReader(body))
				next.ServeHTTP(w, r)
				return
			}
			tooLarge(w, r, limit, true, maxDrainBytes)
			return
		}
		if r.ContentLength <= limit {
			next.ServeHTTP(w, r)
			return
		}
		expecting := strings.EqualFold(r.Header.Get("Expect"), "100-continue")
		tooLarge(w, r, limit, !expecting && r.ContentLength <= maxDrainBytes, maxDrainBytes)
	})
}

// tooLarge writes the 413 and, when drain is set, reads and discards up to
// n more bytes of the body so the client sees the answer; when the body
// may be longer than that, the connection is closed after the answer.
func tooLarge(w http.ResponseWriter, r *http.Request, limit int64, drain bool, n int64) {
	if !drain || r.ContentLength == -1 {
		// A chunked body's length is unknown: past the drain, close.
		w.Header().Set("Connection", "close")
	}
	writeTooLarge(w, r.URL.Path, limit)
	if drain {
		http.NewResponseController(w).Flush()
		io.CopyN(io.Discard, r.Body, n)
	}
}
