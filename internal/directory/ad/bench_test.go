package ad_test

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// BenchmarkLDAPRealmGrant measures, in the same run and interleaved, a
// password-realm grant through an ad connection (real HTTP to a real
// gatehouse, StartTLS to a real slapd) and a bare bind of the same user on
// an open StartTLS connection: grants/s, binds/s and their ratio.
func BenchmarkLDAPRealmGrant(b *testing.B) {
	s := startLDAP(b, "starttls")
	conn, err := ldap.DialURL(s.dir.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := conn.StartTLS(tlsConfig(b, s)); err != nil {
		b.Fatal(err)
	}
	if status, body := s.login("ann", "ann-pass"); status != 200 {
		b.Fatalf("warm-up login: %d %v", status, body)
	}
	var bind, grant time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := conn.Bind(people[0].DN(), "ann-pass"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if status, body := s.login("ann", "ann-pass"); status != 200 {
			b.Fatalf("login: %d %v", status, body)
		}
		bind += t1.Sub(t0)
		grant += time.Since(t1)
	}
	binds := float64(b.N) / bind.Seconds()
	grants := float64(b.N) / grant.Seconds()
	b.ReportMetric(binds, "binds/s")
	b.ReportMetric(grants, "grants/s")
	b.ReportMetric(grants/binds, "ratio")
}

func tlsConfig(b *testing.B, s *ldapSetup) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.dir.CAPEM) {
		b.Fatal("test CA")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
