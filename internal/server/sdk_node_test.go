package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/ldaptest"
	"github.com/gatehouse/gatehouse/internal/testenv/smtptest"
)

const (
	// nodeTestDir holds the Node project that drives Auth0's official SDK,
	// relative to this package's directory (where go test runs).
	nodeTestDir    = "../../test/node"
	npmCITimeout   = 5 * time.Minute
	nodeRunTimeout = 90 * time.Second
)

// TestAuth0NodeSDK runs Auth0's Node SDK (npm auth0, pinned in
// test/node/package.json) unchanged against gatehouse served over TLS with
// a throwaway CA: the Management API seed steps through ManagementClient,
// then the password, refresh, revoke and userinfo steps through the SDK's
// AuthenticationClient, including private_key_jwt client authentication.
// Each test/node/*.test.mjs file is a subtest with a gatehouse of its own.
func TestAuth0NodeSDK(t *testing.T) {
	node, npm := requireNode(t)
	files, err := filepath.Glob(filepath.Join(nodeTestDir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Node test files in %s (err %v)", nodeTestDir, err)
	}
	ensureNodeModules(t, npm)

	pki := writeTestPKI(t, t.TempDir())
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".test.mjs")
		t.Run(name, func(t *testing.T) { runNodeTestFile(t, node, pki, filepath.Base(f)) })
	}
}

// runNodeTestFile runs one Node test file against a gatehouse of its own:
// each file seeds a fresh tenant, so files cannot collide on names.
func runNodeTestFile(t *testing.T, node string, pki testPKI, file string) {
	var opts []testenv.Option
	var extraEnv []string
	if strings.HasPrefix(file, "selfservice-") {
		opt, env := mailboxEnv(t)
		opts, extraEnv = append(opts, opt), env
	}
	gh := testenv.StartTLS(t, testenv.TLS{CertFile: pki.certFile, KeyFile: pki.keyFile, Roots: pki.pool}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), nodeRunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", file)
	cmd.Dir = nodeTestDir
	cmd.Env = append(os.Environ(),
		"GATEHOUSE_DOMAIN="+strings.TrimPrefix(gh.URL, "https://"),
		"GATEHOUSE_CLIENT_ID="+testenv.BootstrapID,
		"GATEHOUSE_CLIENT_SECRET="+testenv.BootstrapSecret,
		"NODE_EXTRA_CA_CERTS="+pki.caFile,
		"NO_COLOR=1",
	)
	if strings.HasPrefix(file, "ldap-") {
		cmd.Env = append(cmd.Env, ldapEnv(t)...)
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	out := &lineLogger{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	out.flush()
	if ctx.Err() != nil {
		t.Fatalf("node --test %s did not finish within %s", file, nodeRunTimeout)
	}
	if err != nil {
		t.Fatalf("node --test %s failed after %s: %v (its output is above)", file, time.Since(start).Round(time.Millisecond), err)
	}
}

// requireNode finds node and npm: a missing toolchain skips the test on a
// developer machine but fails it in CI, where the SDK check must run.
func requireNode(t *testing.T) (node, npm string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if err := errors.Join(errNode, errNpm); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node and npm are required in CI: %v", err)
		}
		t.Skipf("node/npm not installed: %v", err)
	}
	return node, npm
}

// ensureNodeModules installs the locked dependencies when they are missing.
func ensureNodeModules(t *testing.T, npm string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(nodeTestDir, "node_modules", "auth0", "package.json")); err == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), npmCITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeTestDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", nodeTestDir, err, out)
	}
}

// testPKI is a throwaway CA and a server certificate it signed for
// localhost and 127.0.0.1, as PEM files.
type testPKI struct {
	caFile   string
	certFile string
	keyFile  string
	pool     *x509.CertPool
}

func writeTestPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: "gatehouse test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create server certificate: %v", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}

	p := testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "server.pem"),
		keyFile:  filepath.Join(dir, "server-key.pem"),
		pool:     x509.NewCertPool(),
	}
	p.pool.AddCert(ca)
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	writePEM(t, p.certFile, "CERTIFICATE", leafDER)
	writePEM(t, p.keyFile, "PRIVATE KEY", keyDER)
	return p
}

func randomSerial(t *testing.T) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lineLogger forwards a child process's output to t.Log line by line, so
// it streams with -v and is printed for a failing test otherwise.
type lineLogger struct {
	t   *testing.T
	mu  sync.Mutex
	buf []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.t.Log(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.t.Log(string(l.buf))
		l.buf = nil
	}
}

// ldapEnv starts a real slapd for an ldap-* Node test file and names it
// and its service account in the environment.
func ldapEnv(t *testing.T) []string {
	dir := ldaptest.Start(t, ldaptest.Person{UID: "ann", Password: "ann-pass", Mail: "ann@corp.example",
		GivenName: "Ann", Surname: "Lee", Groups: []string{"staff"}})
	ca := filepath.Join(t.TempDir(), "ldap-ca.pem")
	if err := os.WriteFile(ca, dir.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"LDAP_URL=" + dir.URL(), "LDAP_CA_FILE=" + ca, "LDAP_BIND_DN=" + ldaptest.ServiceDN,
		"LDAP_BIND_PASSWORD=" + ldaptest.ServicePass, "LDAP_BASE_DN=" + ldaptest.PeopleDN,
		"LDAP_GROUP_BASE_DN=" + ldaptest.GroupsDN}
}

// mailboxEnv makes gatehouse send email to a real SMTP listener, and lets
// a selfservice-* Node test file read what arrived: MAILBOX_URL?to=ADDR
// answers the text of the latest message to ADDR (404 while none).
func mailboxEnv(t *testing.T) (testenv.Option, []string) {
	mail := smtptest.Start(t)
	mailer, err := notify.NewSMTP(notify.SMTPConfig{Host: mail.Host, Port: mail.Port, Username: smtptest.Username,
		Password: smtptest.Password, From: "gatehouse <no-reply@example.com>", RootCAs: mail.CA.Pool})
	if err != nil {
		t.Fatal(err)
	}
	box := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		msgs := mail.Messages()
		for i := len(msgs) - 1; i >= 0; i-- {
			if slices.ContainsFunc(msgs[i].To, func(a string) bool { return strings.EqualFold(a, to) }) {
				b, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(msgs[i].Body)))
				w.Write(b)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(box.Close)
	return testenv.WithServerOptions(server.WithNotifiers(mailer, nil)), []string{"MAILBOX_URL=" + box.URL}
}
