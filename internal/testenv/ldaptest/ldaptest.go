// Package ldaptest runs a real OpenLDAP slapd for tests: its own temporary
// configuration and database, a seed LDIF, plain LDAP (with StartTLS) and
// LDAPS on loopback ports, and a test CA that signed its certificate. A
// test can stop the directory and start it again on the same ports, to see
// how gatehouse behaves while its directory is down.
package ldaptest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv/testca"
)

// Directory constants every seeded directory shares.
const (
	BaseDN       = "dc=example,dc=com"
	AdminDN      = "cn=admin,dc=example,dc=com"
	AdminPass    = "admin-secret"
	ServiceDN    = "cn=gatehouse,ou=services,dc=example,dc=com"
	ServicePass  = "service-secret"
	PeopleDN     = "ou=people,dc=example,dc=com"
	GroupsDN     = "ou=groups,dc=example,dc=com"
	slapdBinary  = "/usr/sbin/slapd"
	slapaddBin   = "/usr/sbin/slapadd"
	schemaFolder = "/etc/ldap/schema"
	moduleFolder = "/usr/lib/ldap"
)

// Person is a seeded user.
type Person struct {
	UID, Password, Mail, GivenName, Surname string
	Groups                                  []string // group cn values
}

// DN is the person's entry.
func (p Person) DN() string { return "uid=" + p.UID + "," + PeopleDN }

// Server is a running slapd.
type Server struct {
	t        testing.TB
	dir      string
	port     int // ldap:// (StartTLS available)
	tlsPort  int // ldaps://
	cmd      *exec.Cmd
	CAPEM    []byte // the test CA's certificate, PEM
	People   []Person
	stderr   bytes.Buffer
	stopped  bool
	confPath string
}

// Available reports whether slapd is installed. Tests skip without it,
// unless CI is set, when they fail.
func Available(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(slapdBinary); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("slapd is not installed (%v); .ci/run installs Debian's slapd", err)
		}
		t.Skipf("slapd is not installed: apt-get install slapd ldap-utils")
	}
}

// Start seeds a directory with people (and their groups) and starts slapd;
// it is stopped when the test ends.
func Start(t testing.TB, people ...Person) *Server {
	t.Helper()
	Available(t)
	s := &Server{t: t, dir: t.TempDir(), People: people}
	s.port, s.tlsPort = freePort(t), freePort(t)
	s.writeTLS()
	s.writeConfig()
	s.seed()
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the plain LDAP address (StartTLS is offered there).
func (s *Server) URL() string { return fmt.Sprintf("ldap://127.0.0.1:%d", s.port) }

// TLSURL is the LDAPS address; its certificate is for 127.0.0.1 and
// localhost, signed by CAPEM.
func (s *Server) TLSURL() string { return fmt.Sprintf("ldaps://localhost:%d", s.tlsPort) }

// Start runs slapd (again, after Stop) on the same ports and data.
func (s *Server) Start() {
	s.t.Helper()
	s.stderr.Reset()
	urls := fmt.Sprintf("ldap://127.0.0.1:%d/ ldaps://127.0.0.1:%d/", s.port, s.tlsPort)
	// -d 0 keeps slapd in the foreground (so it dies with the test binary's
	// process group handling) without debug output.
	cmd := exec.Command(slapdBinary, "-f", s.confPath, "-h", urls, "-d", "0")
	cmd.Stderr = &s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start slapd: %v", err)
	}
	s.cmd, s.stopped = cmd, false
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("slapd did not start listening: %v\n%s", err, s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills slapd and waits for it to exit; the data stays for Start.
func (s *Server) Stop() {
	if s.stopped || s.cmd == nil {
		return
	}
	s.stopped = true
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

func (s *Server) writeConfig() {
	s.t.Helper()
	db := filepath.Join(s.dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		s.t.Fatal(err)
	}
	conf := fmt.Sprintf(`include %[1]s/core.schema
include %[1]s/cosine.schema
include %[1]s/inetorgperson.schema
include %[1]s/nis.schema
modulepath %[2]s
moduleload back_mdb
pidfile %[3]s/slapd.pid
argsfile %[3]s/slapd.args
TLSCACertificateFile %[3]s/ca.pem
TLSCertificateFile %[3]s/server.pem
TLSCertificateKeyFile %[3]s/server.key
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="%[6]s" read by users read by * none
database mdb
maxsize 16777216
suffix "%[4]s"
rootdn "%[5]s"
rootpw %[7]s
directory %[8]s
index objectClass eq
index uid eq
index mail eq
`, schemaFolder, moduleFolder, s.dir, BaseDN, AdminDN, ServiceDN, AdminPass, db)
	s.confPath = filepath.Join(s.dir, "slapd.conf")
	if err := os.WriteFile(s.confPath, []byte(conf), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

// seed writes the initial entries with slapadd, before slapd runs.
func (s *Server) seed() {
	s.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", BaseDN)
	for _, ou := range []string{"people", "groups", "services"} {
		fmt.Fprintf(&b, "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, BaseDN, ou)
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: person\ncn: gatehouse\nsn: service\nuserPassword: %s\n\n", ServiceDN, ServicePass)
	groups := map[string][]string{}
	var order []string
	for _, p := range s.People {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s %s\ngivenName: %s\nsn: %s\nuserPassword: %s\n",
			p.DN(), p.UID, p.GivenName, p.Surname, p.GivenName, p.Surname, p.Password)
		if p.Mail != "" {
			fmt.Fprintf(&b, "mail: %s\n", p.Mail)
		}
		b.WriteString("\n")
		for _, g := range p.Groups {
			if _, seen := groups[g]; !seen {
				order = append(order, g)
			}
			groups[g] = append(groups[g], p.DN())
		}
	}
	for _, g := range order {
		fmt.Fprintf(&b, "dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %s\n", g, GroupsDN, g)
		for _, m := range groups[g] {
			fmt.Fprintf(&b, "member: %s\n", m)
		}
		b.WriteString("\n")
	}
	ldif := filepath.Join(s.dir, "seed.ldif")
	if err := os.WriteFile(ldif, []byte(b.String()), 0o600); err != nil {
		s.t.Fatal(err)
	}
	out, err := exec.Command(slapaddBin, "-f", s.confPath, "-l", ldif).CombinedOutput()
	if err != nil {
		s.t.Fatalf("slapadd: %v\n%s", err, out)
	}
}

// writeTLS makes a test CA and a server certificate for 127.0.0.1 and
// localhost.
func (s *Server) writeTLS() {
	s.t.Helper()
	ca := testca.New(s.t)
	certPEM, keyPEM := ca.Server(s.t)
	s.CAPEM = ca.CertPEM
	for name, data := range map[string][]byte{"ca.pem": ca.CertPEM, "server.pem": certPEM, "server.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o600); err != nil {
			s.t.Fatal(err)
		}
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
