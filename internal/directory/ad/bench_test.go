package ad_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/bench/harness"
	"github.com/gatehouse/gatehouse/internal/directory/ad"
	"github.com/gatehouse/gatehouse/internal/ldapdir"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/testenv/ldaptest"
)

// BenchmarkLDAPRealmGrant measures, in the same run and interleaved:
//
//   - a bare bind of the user on an open StartTLS connection (the floor:
//     one LDAP round trip);
//
//   - the directory's own part of a login, ldapdir's Authenticate with the
//     connection's options (find the entry, its groups, whether it is
//     disabled, bind as it);
//
//   - a password-realm grant through the ad connection (real HTTP to a
//     real gatehouse, StartTLS to a real slapd).
//
//   - and what every grant must do besides: two RS256 signatures made at
//     once (the access and the ID token) and one durable SQLite commit
//     (the login's record), on this process's cores and disk.
//
// It reports binds/s, logins/s (the directory part), grants/s, the ratio
// of grants to binds (the figure), the ratio of the directory part
// to binds (what the LDAP client adds), the milliseconds a grant spends
// outside the directory (HTTP, store, token signing), and bound: the
// ratio no grant could beat, a bare bind's time over the directory part
// plus the two signatures and the commit.
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
	floor := newGrantFloor(b)
	var bind, login, grant, must time.Duration
	b.ResetTimer()
	for range b.N {
		must += floor.once(b)
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
	b.ReportMetric(float64(must.Microseconds())/1000/float64(b.N), "ms-signatures-and-commit/op")
	b.ReportMetric(bind.Seconds()/(login+must).Seconds(), "bound")
}

// grantFloor makes what every grant makes whatever its connection: two
// RS256 signatures at once and one durable commit of a refresh family.
type grantFloor struct {
	key    *rsa.PrivateKey
	digest [32]byte
	st     *sqlstore.Store
}

func newGrantFloor(b *testing.B) *grantFloor {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	st, err := harness.OpenProbeStore(context.Background(), filepath.Join(b.TempDir(), "floor.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	payload := make([]byte, 600) // a token's header and claims
	rand.Read(payload)
	return &grantFloor{key: key, digest: sha256.Sum256(payload), st: st}
}

// once returns how long one grant's signatures and commit took.
func (g *grantFloor) once(b *testing.B) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := rsa.SignPKCS1v15(nil, g.key, crypto.SHA256, g.digest[:]); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	if err := g.st.CreateRefreshFamily(context.Background(), harness.SampleFamily()); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func tlsConfig(b *testing.B, s *ldapSetup) *tls.Config {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.dir.CAPEM) {
		b.Fatal("test CA")
	}
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}
