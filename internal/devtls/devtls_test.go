package devtls

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEnsureMakesAndKeeps: the first call makes a CA and a localhost
// certificate it signs, keys 0600; the second reuses them; near expiry
// the server certificate is renewed under the same CA.
func TestEnsureMakesAndKeeps(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	f, created, err := Ensure(dir, now)
	if err != nil || !created {
		t.Fatalf("Ensure = %v, created %v", err, created)
	}
	for _, key := range []string{f.Key, filepath.Join(dir, "dev-ca-key.pem")} {
		info, err := os.Stat(key)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v", key, err, info.Mode().Perm())
		}
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(f.CACert)
	pool.AppendCertsFromPEM(caPEM)
	leaf := func() *x509.Certificate {
		pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(pair.Certificate[0])
		return c
	}
	first := leaf()
	for _, h := range Hosts {
		if _, err := first.Verify(x509.VerifyOptions{Roots: pool, DNSName: h, CurrentTime: now}); err != nil {
			t.Errorf("certificate for %s: %v", h, err)
		}
	}
	if _, created, err := Ensure(dir, now); err != nil || created || leaf().SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("second Ensure: %v, created %v, or a new certificate", err, created)
	}
	later := first.NotAfter.Add(-24 * time.Hour)
	if _, created, err := Ensure(dir, later); err != nil || created {
		t.Fatalf("Ensure near expiry: %v, created %v", err, created)
	}
	renewed := leaf()
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("the server certificate was not renewed near its expiry")
	}
	if _, err := renewed.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", CurrentTime: later}); err != nil {
		t.Errorf("renewed certificate under the same CA: %v", err)
	}
}
