package ldaptest

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestDirectory(t *testing.T) {
	t.Parallel()
	s := Start(t, Person{UID: "ann", Password: "ann-pass", Mail: "ann@example.com", GivenName: "Ann", Surname: "Lee", Groups: []string{"staff"}})
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatal("CA PEM")
	}
	tlsConf := &tls.Config{RootCAs: pool, ServerName: "localhost"}

	search := func(t *testing.T, c *ldap.Conn) {
		t.Helper()
		if err := c.Bind(ServiceDN, ServicePass); err != nil {
			t.Fatalf("service bind: %v", err)
		}
		res, err := c.Search(ldap.NewSearchRequest(PeopleDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(uid=ann)", []string{"mail", "givenName"}, nil))
		if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("mail") != "ann@example.com" {
			t.Fatalf("search: %v %+v", err, res)
		}
		if err := c.Bind(res.Entries[0].DN, "ann-pass"); err != nil {
			t.Fatalf("user bind: %v", err)
		}
		if err := c.Bind(res.Entries[0].DN, "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	t.Run("StartTLS", func(t *testing.T) {
		c, err := ldap.DialURL(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.StartTLS(tlsConf); err != nil {
			t.Fatalf("StartTLS: %v", err)
		}
		search(t, c)
	})
	t.Run("LDAPS", func(t *testing.T) {
		c, err := ldap.DialURL(s.TLSURL(), ldap.DialWithTLSConfig(tlsConf))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		search(t, c)
	})
	t.Run("stop and start", func(t *testing.T) {
		s.Stop()
		if c, err := ldap.DialURL(s.URL()); err == nil {
			c.Close()
			t.Fatal("dialled a stopped directory")
		}
		s.Start()
		c, err := ldap.DialURL(s.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Bind(ServiceDN, ServicePass); err != nil {
			t.Fatalf("bind after restart: %v", err)
		}
	})
}
