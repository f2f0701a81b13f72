// Package devtls makes what local HTTPS needs during development: a
// private certificate authority and a certificate for localhost signed by
// it, kept in a directory and reused across starts (the leaf is renewed
// when it nears expiry). Auth0's SDKs only speak https; trusting this CA
// lets them talk to a local gatehouse. Not for production.
package devtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files are the paths of the CA certificate (what clients trust) and the
// server's certificate and key.
type Files struct {
	Dir    string
	CACert string
	Cert   string
	Key    string
}

const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 397 * 24 * time.Hour // the most browsers accept
	renewBefore  = 30 * 24 * time.Hour
)

// Hosts are the names and addresses the server certificate covers.
var Hosts = []string{"localhost", "127.0.0.1", "::1"}

// Ensure returns the files in dir, making the directory (0700), the CA and
// the server certificate when missing, and a new server certificate when
// the old one expires within 30 days. Private keys are written 0600.
// created reports whether a new CA was made (clients must trust it anew).
func Ensure(dir string, now time.Time) (f Files, created bool, err error) {
	f = Files{Dir: dir, CACert: filepath.Join(dir, "dev-ca.pem"), Cert: filepath.Join(dir, "localhost.pem"), Key: filepath.Join(dir, "localhost-key.pem")}
	caKeyPath := filepath.Join(dir, "dev-ca-key.pem")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, false, fmt.Errorf("dev TLS: %w", err)
	}
	ca, caKey, err := loadPair(f.CACert, caKeyPath)
	if err != nil || now.Add(renewBefore).After(ca.NotAfter) {
		if ca, caKey, err = newCA(now); err != nil {
			return f, false, err
		}
		if err := writePair(f.CACert, caKeyPath, ca.Raw, caKey); err != nil {
			return f, false, err
		}
		created = true
	}
	leaf, _, err := loadPair(f.Cert, f.Key)
	if created || err != nil || now.Add(renewBefore).After(leaf.NotAfter) || leaf.CheckSignatureFrom(ca) != nil {
		der, key, err := newLeaf(ca, caKey, now)
		if err != nil {
			return f, created, err
		}
		if err := writePair(f.Cert, f.Key, der, key); err != nil {
			return f, created, err
		}
	}
	return f, created, nil
}

func newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("dev TLS: CA key: %w", err)
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "gatehouse development CA (" + host + ")", Organization: []string{"gatehouse development"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("dev TLS: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, now time.Time) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("dev TLS: server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"gatehouse development"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("dev TLS: server certificate: %w", err)
	}
	return der, key, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// loadPair reads a certificate and its ECDSA key.
func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("dev TLS: not an ECDSA key")
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	return cert, key, err
}

// writePair writes the certificate (0644) and the key (0600), each through
// a temporary file renamed into place, so a crash never leaves half a key.
func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("dev TLS: %w", err)
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("dev TLS: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("dev TLS: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("dev TLS: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("dev TLS: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("dev TLS: %w", err)
	}
	return nil
}

// TrustHelp tells a developer how to make common clients trust the CA.
func TrustHelp(f Files) string {
	return fmt.Sprintf(`Serving HTTPS with a development certificate for %s, signed by the local CA
  %s
Trust that CA in your clients (never in production):
  Node.js (Auth0 SDKs):     export NODE_EXTRA_CA_CERTS=%s
  curl, OpenSSL, Go, Ruby:  export SSL_CERT_FILE=%s   (or curl --cacert %s)
  Python requests:          export REQUESTS_CA_BUNDLE=%s
`, "localhost, 127.0.0.1 and ::1", f.CACert, f.CACert, f.CACert, f.CACert, f.CACert)
}
