package mgmt_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestTextThatStoresDifferAboutIsRefused sends NUL bytes, invalid UTF-8 and
// duplicate JSON keys to the Management API on both stores: PostgreSQL
// refuses such text where SQLite keeps it, and encoding/json would rewrite
// it, so the API refuses it first, in its own error shape, without an
// ERROR log line and without storing anything.
func TestTextThatStoresDifferAboutIsRefused(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			logged := &testenv.ErrorLog{}
			opts := []testenv.Option{testenv.WithLogger(slog.New(logged))}
			if backend == "postgres" {
				opts = append(opts, testenv.WithPostgres())
			}
			e := testenv.Start(t, opts...)
			tn := e.SeedTenant()
			probes := []struct {
				method, path, body string
				code               string
			}{
				{"GET", "/api/v2/clients/abc%00", "", "invalid_uri"},
				{"GET", "/api/v2/clients/%FF%FE", "", "invalid_uri"},
				{"PATCH", "/api/v2/clients/abc%00", `{"name":"x"}`, "invalid_uri"},
				{"DELETE", "/api/v2/clients/%FF", "", "invalid_uri"},
				{"GET", "/api/v2/clients/" + tn.ClientID + "/credentials/cred%00", "", "invalid_uri"},
				{"GET", "/api/v2/users/auth0%7C%00", "", "invalid_uri"},
				{"PATCH", "/api/v2/users/auth0%7C%FF", `{"name":"x"}`, "invalid_uri"},
				{"DELETE", "/api/v2/users/%00", "", "invalid_uri"},
				{"GET", "/api/v2/connections/con_%00", "", "invalid_uri"},
				{"GET", "/api/v2/connections/con_%FF/clients", "", "invalid_uri"},
				{"GET", "/api/v2/resource-servers/%FF%FE", "", "invalid_uri"},
				{"GET", "/api/v2/client-grants/cgr_%00", "", "invalid_uri"},
				{"GET", "/api/v2/keys/signing/%FF", "", "invalid_uri"},
				{"GET", "/api/v2/users?q=email:%22a%00b@example.com%22", "", "invalid_query_string"},
				{"GET", "/api/v2/users?q=user_id:%22auth0%7C%FF%22", "", "invalid_query_string"},
				{"GET", "/api/v2/users?connection=%FF%FE", "", "invalid_query_string"},
				{"GET", "/api/v2/users?connection=a%00", "", "invalid_query_string"},
				{"GET", "/api/v2/users-by-email?email=a%00@example.com", "", "invalid_query_string"},
				{"GET", "/api/v2/users-by-email?email=%FF%FE@example.com", "", "invalid_query_string"},
				{"GET", "/api/v2/client-grants?client_id=%00", "", "invalid_query_string"},
				{"GET", "/api/v2/client-grants?audience=%FF", "", "invalid_query_string"},
				{"GET", "/api/v2/connections?strategy=auth0%00", "", "invalid_query_string"},
				{"GET", "/api/v2/connections?name=%FF", "", "invalid_query_string"},
				{"GET", "/api/v2/clients?fields=name%00", "", "invalid_query_string"},
				{"GET", "/api/v2/clients?%FF=1", "", "invalid_query_string"},
				{"DELETE", "/api/v2/connections/" + tn.ConnectionID + "/users?email=a%00@example.com", "", "invalid_query_string"},
				{"POST", "/api/v2/users", `{"connection":"` + tn.Connection + `","email":"` + "\xff\xfe" + `@example.com","password":"Secret-Passw0rd!"}`, "invalid_body"},
				{"POST", "/api/v2/users", `{"connection":"` + tn.Connection + `","email":"b\u0000@example.com","password":"Secret-Passw0rd!"}`, "invalid_body"},
				{"POST", "/api/v2/users", `{"connection":"` + tn.Connection + `","email":"c@example.com","email":"d@example.com","password":"Secret-Passw0rd!"}`, "invalid_body"},
				{"POST", "/api/v2/clients", `{"name":"one","name":"two"}`, "invalid_body"},
				{"POST", "/api/v2/clients", `{"name":"x","client_metadata":{"k":"` + "\xff" + `"}}`, "invalid_body"},
				{"PATCH", "/api/v2/tenants/settings", `{"flags":{"enable_sso":true,"enable_sso":false}}`, "invalid_body"},
				{"PATCH", "/api/v2/users/" + tn.UserID, `{"name":"` + "\xc3\x28" + `"}`, "invalid_body"},
			}
			for _, p := range probes {
				var body io.Reader
				if p.body != "" {
					body = strings.NewReader(p.body)
				}
				req, err := http.NewRequest(p.method, e.URL+p.path, body)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+e.Mgmt)
				if body != nil {
					req.Header.Set("Content-Type", "application/json")
				}
				status, got, _ := e.Do(req)
				if status != http.StatusBadRequest || got["statusCode"] != float64(400) || got["error"] != "Bad Request" ||
					got["errorCode"] != p.code {
					t.Errorf("%s %s %q: %d %v, want 400 %s", p.method, p.path, p.body, status, got, p.code)
				}
				if lines := logged.Take(); len(lines) > 0 {
					t.Errorf("%s %s: logged %q", p.method, p.path, lines)
				}
			}
			// Nothing was stored: the seed's user is the only one, unrenamed,
			// and the seed's application the only one named by a probe.
			users := e.API("GET", "/users", nil, 200)["list"].([]any)
			if len(users) != 1 || users[0].(map[string]any)["name"] != tn.Username {
				b, _ := json.Marshal(users)
				t.Errorf("users after the probes: %s", b)
			}
			for _, c := range e.API("GET", "/clients", nil, 200)["list"].([]any) {
				if name := c.(map[string]any)["name"]; name == "one" || name == "two" || name == "x" {
					t.Errorf("client %v was created", name)
				}
			}
		})
	}
}
