package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/gatehouse/gatehouse/internal/oauth"
)

// The server refuses some requests before any endpoint's handler sees
// them: a body over the limit or unreadable, a method the path does not
// take, a path with dot or empty segments. Each is answered in the error
// shape of the API the path belongs to, as the endpoint itself would.

// mgmtShaped reports whether path answers in the Management API's shape:
// the API itself, and the export files it links to.
func mgmtShaped(path string) bool {
	return strings.HasPrefix(path, "/api/v2/") || strings.HasPrefix(path, "/jobs/files/")
}

// writeEdgeError answers status in the shape of path's API: the Management
// API's {statusCode, error, message, errorCode}, the /dbconnections
// endpoints' {name, code, description, statusCode}, or the Authentication
// API's {error, error_description}.
func writeEdgeError(w http.ResponseWriter, path string, status int, code, message string) {
	var body any
	switch {
	case mgmtShaped(path):
		body = map[string]any{"statusCode": status, "error": http.StatusText(status), "message": message, "errorCode": code}
	case strings.HasPrefix(path, "/dbconnections/"):
		// Auth0 names the error after its status: BadRequestError, ...
		name := strings.ReplaceAll(http.StatusText(status), " ", "") + "Error"
		body = map[string]any{"name": name, "code": code, "description": message, "statusCode": status}
	default:
		oauth.WriteError(w, oauth.Errorf(status, code, "%s", message))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// writeBadBody answers 400 for a body that could not be read.
func writeBadBody(w http.ResponseWriter, path string) {
	code := "invalid_request"
	if mgmtShaped(path) {
		code = "invalid_body"
	}
	writeEdgeError(w, path, http.StatusBadRequest, code, "The request body could not be read")
}

// writeTooLarge answers 413 in the error shape of the API path belongs to.
func writeTooLarge(w http.ResponseWriter, path string, limit int64) {
	if mgmtShaped(path) {
		writeEdgeError(w, path, http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("Payload content length greater than maximum allowed: %d", limit))
		return
	}
	writeEdgeError(w, path, http.StatusRequestEntityTooLarge, oauth.ErrBodyTooLarge.Code, oauth.ErrBodyTooLarge.Description)
}

// methodNotAllowed answers a method the path does not take with 405 and
// the methods it does take.
func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		code := "invalid_request"
		if mgmtShaped(r.URL.Path) {
			code = "method_not_allowed"
		}
		writeEdgeError(w, r.URL.Path, http.StatusMethodNotAllowed, code, "Method "+r.Method+" is not allowed here")
	}
}

// refuseDotSegments answers 400 for a path with dot or empty segments
// ("/api/v2/users/..", "//oauth/token"), which ServeMux would otherwise
// redirect to the path they resolve to, sending a client that follows
// (with its method and its body) to another endpoint than the one it
// named. Clients resolve such segments before sending.
func refuseDotSegments(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As ServeMux does, the escaped path is judged: an id with an
		// escaped slash ("https:%2F%2Fapi.example.com%2F") is one segment.
		raw := r.URL.EscapedPath()
		clean := path.Clean(raw)
		if strings.HasSuffix(raw, "/") && clean != "/" {
			clean += "/"
		}
		if raw == "" || clean == raw {
			next.ServeHTTP(w, r)
			return
		}
		p := r.URL.Path
		if mgmtShaped(p) {
			writeEdgeError(w, p, http.StatusBadRequest, "invalid_uri", "Path validation error: 'Empty and dot segments are not allowed'.")
			return
		}
		writeEdgeError(w, p, http.StatusBadRequest, "invalid_request", "The request path has empty or dot segments")
	})
}
