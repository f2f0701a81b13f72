package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/server"
)

// bootstrapCredentials runs gatehouse bootstrap and returns the printed
// client_id, client_secret and audience.
func bootstrapCredentials(t *testing.T, args ...string) (id, secret, audience string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append([]string{"bootstrap"}, args...), noEnv, &out, &errOut); err != nil {
		t.Fatalf("bootstrap %v: %v\n%s", args, err, errOut.String())
	}
	field := func(name string) string {
		m := regexp.MustCompile(name + `:\s+(\S+)`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("bootstrap output lacks %s:\n%s", name, out.String())
		}
		return m[1]
	}
	return field("client_id"), field("client_secret"), field("audience")
}

// managementToken asks base for a client-credentials token for audience.
func managementToken(t *testing.T, base, id, secret, audience string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "audience": {audience}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.AccessToken
}

// managementAPIs lists the names and identifiers of the Management APIs
// stored in db.
func managementAPIs(t *testing.T, db string) []string {
	t.Helper()
	cfg, err := config.Parse([]string{"--database", db}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st, err := server.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	state, err := readManagementState(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return state.order
}

// TestBootstrapUsesTheServersIssuer: bootstrap run without --addr against a
// database that gatehouse serves on another address makes credentials for
// the Management API that server serves, and no second Management API.
func TestBootstrapUsesTheServersIssuer(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	addr := freeAddr(t)
	serveUntilHealthy(t, []string{"--database", db, "--addr", addr}, noEnv, nil)

	id, secret, audience := bootstrapCredentials(t, "--database", db)
	if want := "http://" + addr + "/api/v2/"; audience != want {
		t.Errorf("audience = %s, want %s", audience, want)
	}
	if apis := managementAPIs(t, db); len(apis) != 1 {
		t.Errorf("Management APIs after bootstrap: %v, want one", apis)
	}
	serveUntilHealthy(t, []string{"--database", db, "--addr", addr}, noEnv, func(base string) {
		status, token := managementToken(t, base, id, secret, audience)
		if status != 200 {
			t.Fatalf("management token: %d", status)
		}
		req, _ := http.NewRequest("GET", base+"/api/v2/clients", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET /api/v2/clients with the bootstrap token: %d", resp.StatusCode)
		}
	})

	// An explicit issuer the database was never served as is refused, not
	// turned into a second Management API.
	var errOut bytes.Buffer
	err := run(context.Background(), []string{"bootstrap", "--database", db, "--issuer", "https://other.example.com/"}, noEnv, io.Discard, &errOut)
	if err == nil || !strings.Contains(err.Error(), "https://other.example.com/") || !strings.Contains(err.Error(), "http://"+addr+"/") {
		t.Errorf("bootstrap with another --issuer: %v", err)
	}
	if apis := managementAPIs(t, db); len(apis) != 1 {
		t.Errorf("Management APIs after a refused bootstrap: %v, want one", apis)
	}
}

// TestBootstrapRefusesToCreateADatabase: bootstrap run where no database
// file is (another directory, a typo) says so and creates nothing, unless
// asked to with --create.
func TestBootstrapRefusesToCreateADatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	err := run(context.Background(), []string{"bootstrap", "--database", db}, noEnv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "--create") {
		t.Errorf("bootstrap on a missing database: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bootstrap on a missing database created %v", entries)
	}
	bootstrapCredentials(t, "--database", db, "--create")
	if _, err := os.Stat(db); err != nil {
		t.Errorf("bootstrap --create: %v", err)
	}
}

// TestManagementNotices: the "no management credentials" notice appears
// only while no application may call the Management API, and a changed
// issuer is reported with the old and new issuer and what to do.
func TestManagementNotices(t *testing.T) {
	t.Parallel()
	const notice = "No management credentials configured"
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	addr := freeAddr(t)
	if log := serveUntilHealthy(t, []string{"--database", db, "--addr", addr}, noEnv, nil); !strings.Contains(log, notice) {
		t.Errorf("first start without credentials lacks the notice:\n%s", log)
	}
	bootstrapCredentials(t, "--database", db)
	if log := serveUntilHealthy(t, []string{"--database", db, "--addr", addr}, noEnv, nil); strings.Contains(log, notice) {
		t.Errorf("start with a management application still says %q:\n%s", notice, log)
	}

	newIssuer := "http://localhost:" + addr[strings.LastIndex(addr, ":")+1:] + "/"
	log := serveUntilHealthy(t, []string{"--database", db, "--addr", addr, "--issuer", newIssuer}, noEnv, nil)
	for _, want := range []string{"issuer changed", "http://" + addr + "/", newIssuer, "--issuer http://" + addr + "/", "gatehouse bootstrap --issuer " + newIssuer} {
		if !strings.Contains(log, want) {
			t.Errorf("start with a changed issuer: log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, notice) {
		t.Errorf("start with a changed issuer says %q instead of what happened:\n%s", notice, log)
	}
}
