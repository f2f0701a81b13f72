package breached

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// rangeServer answers like the Pwned Passwords range API for the given
// leaked passwords, with padding lines, and records the prefixes asked.
func rangeServer(t *testing.T, leaked ...string) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	byPrefix := map[string][]string{}
	for _, p := range leaked {
		sum := sha1.Sum([]byte(p))
		h := strings.ToUpper(hex.EncodeToString(sum[:]))
		byPrefix[h[:5]] = append(byPrefix[h[:5]], h[5:]+":42")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		asked = append(asked, prefix)
		mu.Unlock()
		for _, l := range byPrefix[prefix] {
			fmt.Fprintf(w, "%s\r\n", l)
		}
		fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("0", 35))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

func TestRangeAPI(t *testing.T) {
	t.Parallel()
	srv, asked := rangeServer(t, "hunter2")
	api := &RangeAPI{BaseURL: srv.URL}
	ctx := context.Background()
	if leaked, err := api.Leaked(ctx, "hunter2"); err != nil || !leaked {
		t.Fatalf("hunter2: %v %v", leaked, err)
	}
	if leaked, err := api.Leaked(ctx, "a fine long passphrase"); err != nil || leaked {
		t.Fatalf("good password: %v %v", leaked, err)
	}
	for _, p := range asked() {
		if len(p) != 5 {
			t.Fatalf("asked %q: more than five hex digits left the machine", p)
		}
	}
	srv.Close()
	if _, err := api.Leaked(ctx, "hunter2"); err == nil {
		t.Fatal("no error with the service down")
	}
}

func TestAny(t *testing.T) {
	t.Parallel()
	srv, _ := rangeServer(t, "only-online")
	f := build(t, "only-offline\n", BuildOptions{})
	down := &RangeAPI{BaseURL: "http://127.0.0.1:1"}
	ctx := context.Background()
	for _, tc := range []struct {
		checkers Any
		password string
		want     bool
	}{
		{Any{f, &RangeAPI{BaseURL: srv.URL}}, "only-offline", true},
		{Any{f, &RangeAPI{BaseURL: srv.URL}}, "only-online", true},
		{Any{f, &RangeAPI{BaseURL: srv.URL}}, "neither", false},
		{Any{down, f}, "only-offline", true},
	} {
		if got, err := tc.checkers.Leaked(ctx, tc.password); err != nil || got != tc.want {
			t.Errorf("%q: %v %v, want %v", tc.password, got, err, tc.want)
		}
	}
	if _, err := (Any{down}).Leaked(ctx, "x"); err == nil {
		t.Error("no error when no checker answered")
	}
}
