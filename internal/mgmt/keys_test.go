package mgmt

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestSigningKeysRotateAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	list := func() []signingKey {
		r := e.call(t, adminToken, "GET", "/api/v2/keys/signing", nil)
		if r.status != http.StatusOK {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var ks []signingKey
		if err := json.Unmarshal(r.body, &ks); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	find := func(ks []signingKey, flag func(signingKey) bool) signingKey {
		for _, k := range ks {
			if flag(k) {
				return k
			}
		}
		t.Fatalf("no such key in %+v", ks)
		return signingKey{}
	}
	ks := list()
	if len(ks) != 2 {
		t.Fatalf("%d keys listed, want current and next (RS256 only)", len(ks))
	}
	cur := find(ks, func(k signingKey) bool { return k.Current })
	next := find(ks, func(k signingKey) bool { return k.Next })
	if !strings.HasPrefix(cur.Cert, "-----BEGIN CERTIFICATE-----\r\n") || len(cur.Thumbprint) != 40 || len(cur.Fingerprint) != 59 || cur.CurrentSince == "" {
		t.Fatalf("key object = %+v", cur)
	}
	if r := e.call(t, adminToken, "GET", "/api/v2/keys/signing/"+cur.KID, nil); r.status != http.StatusOK {
		t.Fatalf("get: %d %s", r.status, r.body)
	}
	e.call(t, adminToken, "GET", "/api/v2/keys/signing/nope", nil).wantError(t, http.StatusNotFound, "inexistent_signing_key", "")

	// Only the previous key may be revoked.
	e.call(t, adminToken, "PUT", "/api/v2/keys/signing/"+cur.KID+"/revoke", nil).wantError(t, http.StatusBadRequest, "invalid_signing_key", "")
	e.call(t, adminToken, "PUT", "/api/v2/keys/signing/nope/revoke", nil).wantError(t, http.StatusNotFound, "inexistent_signing_key", "")

	r := e.call(t, adminToken, "POST", "/api/v2/keys/signing/rotate", nil)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), next.KID) {
		t.Fatalf("rotate: %d %s, want the next key %s", r.status, r.body, next.KID)
	}
	ks = list()
	if k := find(ks, func(k signingKey) bool { return k.Previous }); k.KID != cur.KID || k.CurrentUntil == "" {
		t.Fatalf("previous after rotation = %+v", k)
	}
	if find(ks, func(k signingKey) bool { return k.Current }).KID != next.KID {
		t.Fatal("the next key did not become current")
	}
	if r := e.call(t, adminToken, "PUT", "/api/v2/keys/signing/"+cur.KID+"/revoke", nil); r.status != http.StatusOK {
		t.Fatalf("revoke previous: %d %s", r.status, r.body)
	}
	if k := find(list(), func(k signingKey) bool { return k.KID == cur.KID }); !k.Revoked || k.RevokedAt == "" {
		t.Fatalf("revoked key = %+v", k)
	}
	if _, ok := e.keys.Lookup(cur.KID); ok {
		t.Fatal("a revoked key still verifies tokens")
	}
	e.call(t, adminToken, "PUT", "/api/v2/keys/signing/"+cur.KID+"/revoke", nil).wantError(t, http.StatusBadRequest, "invalid_signing_key", "")

	// Two rotations without a revocation: the key from two rotations back
	// has lost the previous flag but is still published, so it must still
	// be revocable.
	older := find(list(), func(k signingKey) bool { return k.Current }).KID
	for range 2 {
		if r := e.call(t, adminToken, "POST", "/api/v2/keys/signing/rotate", nil); r.status != http.StatusCreated {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}
	}
	if k := find(list(), func(k signingKey) bool { return k.KID == older }); k.Previous || k.Current || k.Next || k.Revoked {
		t.Fatalf("key from two rotations back = %+v", k)
	}
	if _, ok := e.keys.Lookup(older); !ok {
		t.Fatal("the key from two rotations back is no longer published before any revocation")
	}
	if r := e.call(t, adminToken, "PUT", "/api/v2/keys/signing/"+older+"/revoke", nil); r.status != http.StatusOK {
		t.Fatalf("revoke the key from two rotations back: %d %s", r.status, r.body)
	}
	if _, ok := e.keys.Lookup(older); ok {
		t.Fatal("the revoked older key still verifies tokens")
	}
	nextNow := find(list(), func(k signingKey) bool { return k.Next }).KID
	e.call(t, adminToken, "PUT", "/api/v2/keys/signing/"+nextNow+"/revoke", nil).wantError(t, http.StatusBadRequest, "invalid_signing_key", "")
}
