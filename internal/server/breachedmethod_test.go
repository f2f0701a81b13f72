package server_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestBreachedMethodEnhancedAsksTheRangeAPI: with a range API configured
// (a local server stands in for Pwned Passwords), the standard method
// looks in the offline filter only and never calls out; enhanced also
// asks the range API, which knows a password the shipped filter does not.
func TestBreachedMethodEnhancedAsksTheRangeAPI(t *testing.T) {
	t.Parallel()
	const password = "a fresh leak 7f3c9e" // not in the shipped filter
	sum := sha1.Sum([]byte(password))
	full := strings.ToUpper(hex.EncodeToString(sum[:]))
	var calls atomic.Int64
	rangeAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path != "/range/"+full[:5] {
			fmt.Fprintln(w, "0000000000000000000000000000000000A:0")
			return
		}
		fmt.Fprintf(w, "%s:12\r\n0000000000000000000000000000000000B:0\r\n", full[5:])
	}))
	t.Cleanup(rangeAPI.Close)

	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.BreachedRangeURL = rangeAPI.URL }))
	tn := e.SeedTenant()
	e.API("PATCH", "/connections/"+tn.ConnectionID, map[string]any{"options": map[string]any{"password_policy": "none"}}, 200)
	e.API("POST", "/users", map[string]any{"connection": tn.Connection, "email": "fresh@example.com", "password": password}, 201)
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"enabled": true, "shields": []string{"block"}}, 200)

	expectLogin(t, e, tn, "fresh@example.com", password, 200, "")
	if n := calls.Load(); n != 0 {
		t.Fatalf("the standard method called the range API %d times", n)
	}
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"method": "enhanced"}, 200)
	expectLogin(t, e, tn, "fresh@example.com", password, 401, "password_leaked")
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")
	if n := calls.Load(); n != 2 {
		t.Fatalf("the enhanced method called the range API %d times for two logins", n)
	}
	// A range API that cannot answer never refuses a password.
	rangeAPI.Close()
	expectLogin(t, e, tn, tn.Username, tn.Password, 200, "")
}
