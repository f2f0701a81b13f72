package keys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, 32))
	st, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func jwks(t *testing.T, m *keys.Manager) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(m.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	return set
}

func TestInitOnceAcrossNodes(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	nodes := make([]*keys.Manager, 4)
	var wg sync.WaitGroup
	for i := range nodes {
		nodes[i] = keys.NewManager(st, "auth.example.com", time.Now)
		wg.Add(1)
		go func(m *keys.Manager) {
			defer wg.Done()
			if err := m.Init(ctx); err != nil {
				t.Error(err)
			}
		}(nodes[i])
	}
	wg.Wait()
	stored, _ := st.ListSigningKeys(ctx)
	if len(stored) != 4 {
		t.Fatalf("%d keys stored after concurrent init, want 4 (RS256 current and next, PS256, ES256)", len(stored))
	}
	for _, m := range nodes[1:] {
		if m.Current().KID != nodes[0].Current().KID {
			t.Fatal("nodes disagree on the current key")
		}
	}
	set := jwks(t, nodes[0])
	if len(set.Keys) != 4 {
		t.Fatalf("JWKS has %d keys", len(set.Keys))
	}
	algs := map[string]int{}
	for _, k := range set.Keys {
		algs[k.Algorithm]++
		if k.Use != "sig" || len(k.Certificates) != 1 || len(k.CertificateThumbprintSHA1) != 20 || !k.IsPublic() {
			t.Errorf("JWK %s: alg %s use %s certs %d public %v", k.KeyID, k.Algorithm, k.Use, len(k.Certificates), k.IsPublic())
		}
		if k.Certificates[0].Subject.CommonName != "auth.example.com" {
			t.Errorf("certificate CN = %s", k.Certificates[0].Subject.CommonName)
		}
	}
	if algs["RS256"] != 2 || algs["PS256"] != 1 || algs["ES256"] != 1 {
		t.Fatalf("JWKS algorithms = %v; every key must be pinned to one", algs)
	}
	for _, alg := range keys.Algorithms {
		if k := nodes[0].CurrentFor(alg); k == nil || k.Alg != alg {
			t.Errorf("no current %s key", alg)
		}
	}
}

func TestRotateKeepsPreviousKeyPublished(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a := keys.NewManager(st, "auth.example.com", time.Now)
	b := keys.NewManager(st, "auth.example.com", time.Now)
	if err := a.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Init(ctx); err != nil {
		t.Fatal(err)
	}
	old := a.Current().KID
	promoted, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.Current().KID != promoted.KID || promoted.KID == old {
		t.Fatal("rotation did not promote the next key")
	}
	if _, ok := a.Lookup(old); !ok {
		t.Fatal("the previous key left the key set at rotation")
	}
	if len(jwks(t, a).Keys) != 5 {
		t.Fatalf("JWKS after rotation has %d keys, want RS256 previous, current and next, PS256, ES256", len(jwks(t, a).Keys))
	}
	// Another node sees the rotation after Reload.
	if b.Current().KID != old {
		t.Fatal("node b changed before reload")
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if b.Current().KID != promoted.KID {
		t.Fatal("node b did not pick up the rotation")
	}
	// A second rotation drops the oldest key's previous flag but keeps it
	// listed until it is revoked.
	if _, err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	stored, _ := st.ListSigningKeys(ctx)
	flags := map[string]int{}
	for _, k := range stored {
		if k.Alg != "RS256" {
			continue
		}
		switch {
		case k.Current:
			flags["current"]++
		case k.Next:
			flags["next"]++
		case k.Previous:
			flags["previous"]++
		}
	}
	if flags["current"] != 1 || flags["next"] != 1 || flags["previous"] != 1 {
		t.Fatalf("flags after two rotations: %v", flags)
	}
}

func TestPrivateKeysAreSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	sealer, _ := seal.New(bytes.Repeat([]byte{1}, 32))
	path := filepath.Join(dir, "k.db")
	st, err := sqlstore.Open(context.Background(), path, sealer)
	if err != nil {
		t.Fatal(err)
	}
	m := keys.NewManager(st, "h", time.Now)
	if err := m.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	other, _ := seal.New(bytes.Repeat([]byte{2}, 32))
	st2, err := sqlstore.Open(context.Background(), path, other)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if err := keys.NewManager(st2, "h", time.Now).Init(context.Background()); err == nil {
		t.Fatal("keys loaded under the wrong master secret")
	}
}
