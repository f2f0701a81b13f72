// Command api is the seed's sample API: a public route, and routes that
// accept only gatehouse (or Auth0) access tokens, one of them only with the
// read:sample scope. It validates tokens with the apiauth package.
//
//	GATEHOUSE_ISSUER=http://127.0.0.1:8080/ API_AUDIENCE=https://api.example.com go run ./examples/api
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/gatehouse/gatehouse/apiauth"
)

func main() {
	issuer := env("GATEHOUSE_ISSUER", "http://127.0.0.1:8080/")
	audience := env("API_AUDIENCE", "https://api.example.com")
	addr := env("API_ADDR", "127.0.0.1:3010")
	v, err := apiauth.New(context.Background(), apiauth.Config{Issuer: issuer, Audience: audience})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("sample API on http://%s (issuer %s, audience %s)", addr, issuer, audience)
	log.Fatal(http.ListenAndServe(addr, newHandler(v)))
}

// newHandler is the route table. Only /api/private* pass through the
// validator; the public route needs no token.
func newHandler(v *apiauth.Validator) http.Handler {
	private := http.NewServeMux()
	private.HandleFunc("GET /api/private", func(w http.ResponseWriter, r *http.Request) {
		claims, _ := apiauth.ClaimsFrom(r.Context())
		reply(w, map[string]any{"message": "Hello from a private endpoint! You are authenticated.", "sub": claims.Subject})
	})
	private.Handle("GET /api/private-scoped", apiauth.RequireScope("read:sample")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			claims, _ := apiauth.ClaimsFrom(r.Context())
			reply(w, map[string]any{"message": "Hello from a private endpoint! You have the read:sample scope.", "sub": claims.Subject})
		})))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/public", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"message": "Hello from a public endpoint! You don't need to be authenticated to see this."})
	})
	mux.Handle("/api/private", v.Middleware(private))
	mux.Handle("/api/private-scoped", v.Middleware(private))
	return mux
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
