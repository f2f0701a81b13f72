package ad_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/internal/directory/ad"
	"github.com/gatehouse/gatehouse/internal/ldapdir"
	"github.com/gatehouse/gatehouse/internal/testenv/ldaptest"
)

// BenchmarkLDAPRealmGrant measures, in the same run and interleaved:
//
//   - a bare bind of the user on an open StartTLS connection (the floor:
//     one LDAP round trip);
//   - the directory's own part of a login, ldapdir's Authenticate with the
//     connection's options (find the entry, its groups, whether it is
//     disabled, bind as it);
//   - a password-realm grant through the ad connection (real HTTP to a
//     real gatehouse, StartTLS to a real slapd).
//
// It reports binds/s, logins/s (the directory part), grants/s, the ratio
// of grants to binds (the figure), the ratio of the directory part
// to binds (what the LDAP client adds) and the milliseconds a grant spends
// outside the directory (HTTP, store, token signing).
func BenchmarkLDAPRealmGrant(b *testing.B) {
	s := startLDAP(b, "starttls")
	s.e.AllowLoopback() // one user's logins from one IP pass the same-user limit
	conn, err := ldap.DialURL(s.dir.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := conn.StartTLS(tlsConfig(b, s)); err != nil {
		b.Fatal(err)
	}
	o, err := ad.ParseOptions([]byte(`{"url":"` + s.dir.URL() + `","start_tls":true,"bind_dn":"` + ldaptest.ServiceDN +
		`","bind_password":"` + ldaptest.ServicePass + `","base_dn":"` + ldaptest.PeopleDN + `","group_base_dn":"` +
		ldaptest.GroupsDN + `","disabled_filter":"(description=disabled)","server_name":"127.0.0.1"}`))
	if err != nil {
		b.Fatal(err)
	}
	cfg := o.Config()
	cfg.CAPEM = s.dir.CAPEM
	dir, err := ldapdir.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer dir.Close()
	ctx := context.Background()
	if _, err := dir.Authenticate(ctx, "ann", "ann-pass"); err != nil {
		b.Fatal(err)
	}
	if status, body := s.login("ann", "ann-pass"); status != 200 {
		b.Fatalf("warm-up login: %d %v", status, body)
	}
	var bind, login, grant time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if err := conn.Bind(people[0].DN(), "ann-pass"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := dir.Authenticate(ctx, "ann", "ann-pass"); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if status, body := s.login("ann", "ann-pass"); status != 200 {
			b.Fatalf("login: %d %v", status, body)
		}
		bind += t1.Sub(t0)
		login += t2.Sub(t1)
		grant += time.Since(t2)
	}
	binds := float64(b.N) / bind.Seconds()
	logins := float64(b.N) / login.Seconds()
	grants := float64(b.N) / grant.Seconds()
	b.ReportMetric(binds, "binds/s")
	b.ReportMetric(logins, "dirlogins/s")
	b.ReportMetric(grants, "grants/s")
	b.ReportMetric(grants/binds, "ratio")
	b.ReportMetric(logins/binds, "dir-ratio")
	b.ReportMetric(float64((grant-login).Microseconds())/1000/float64(b.N), "ms-outside-dir/op")
}

func tlsConfig(b *testing.B, s *ldapSetup) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.dir.CAPEM) {
		b.Fatal("test CA")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
