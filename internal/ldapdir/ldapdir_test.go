package ldapdir

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv/ldaptest"
	"github.com/go-ldap/ldap/v3"
)

var people = []ldaptest.Person{
	{UID: "ann", Password: "ann-pass", Mail: "ann@example.com", GivenName: "Ann", Surname: "Lee", Groups: []string{"staff", "admins"}},
	{UID: "bob", Password: "bob-pass", Mail: "bob@example.com", GivenName: "Bob", Surname: "Ray", Groups: []string{"staff"}},
	{UID: "twin", Password: "x", Mail: "same@example.com", GivenName: "T", Surname: "One"},
	{UID: "twin2", Password: "x", Mail: "same@example.com", GivenName: "T", Surname: "Two"},
}

func config(s *ldaptest.Server) Config {
	return Config{
		URL: s.URL(), StartTLS: true, CAPEM: s.CAPEM, ServerName: "localhost",
		BindDN: ldaptest.ServiceDN, BindPassword: ldaptest.ServicePass,
		BaseDN: ldaptest.PeopleDN, UserFilter: "(|(uid={0})(mail={0}))",
		GroupBaseDN: ldaptest.GroupsDN, DisabledFilter: "(description=disabled)",
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, people...)
	c, err := New(config(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name, username, password string
		want                     error
	}{
		{"uid", "ann", "ann-pass", nil},
		{"email", "ann@example.com", "ann-pass", nil},
		{"wrong password", "ann", "nope", ErrWrongPassword},
		{"empty password is no anonymous bind", "ann", "", ErrWrongPassword},
		{"unknown", "carol", "x", ErrNotFound},
		{"ambiguous filter never guesses", "same@example.com", "x", ErrNotFound},
		{"injection: wildcard", "*", "ann-pass", ErrNotFound},
		{"injection: filter break-out", "ann)(uid=*", "ann-pass", ErrNotFound},
		{"injection: NUL escape", "ann\x00", "ann-pass", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := c.Authenticate(ctx, tc.username, tc.password)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Authenticate(%q) = %v, want %v", tc.username, err, tc.want)
			}
			if tc.want == nil && (e.UID != "ann" || e.Email != "ann@example.com" || e.GivenName != "Ann" || e.FamilyName != "Lee") {
				t.Fatalf("entry = %+v", e)
			}
		})
	}
	t.Run("groups", func(t *testing.T) {
		e, err := c.Lookup(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(e.Groups)
		if !slices.Equal(e.Groups, []string{"admins", "staff"}) {
			t.Fatalf("groups = %v", e.Groups)
		}
	})
}

func TestLDAPS(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, people[0])
	cfg := config(s)
	cfg.URL, cfg.StartTLS = s.TLSURL(), false
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Authenticate(context.Background(), "ann", "ann-pass"); err != nil {
		t.Fatal(err)
	}
	// Another CA: the certificate is refused, and that is "unavailable".
	cfg.CAPEM = ldaptest.Start(t).CAPEM
	other, _ := New(cfg)
	if _, err := other.Authenticate(context.Background(), "ann", "ann-pass"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("untrusted certificate: %v, want ErrUnavailable", err)
	}
}

func TestDisabledAndGone(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, people[:2]...)
	c, _ := New(config(s))
	defer c.Close()
	ctx := context.Background()
	admin := adminConn(t, s)
	mod := ldap.NewModifyRequest(people[1].DN(), nil)
	mod.Add("description", []string{"disabled"})
	if err := admin.Modify(mod); err != nil {
		t.Fatal(err)
	}
	if e, err := c.Lookup(ctx, "bob"); err != nil || !e.Disabled {
		t.Fatalf("disabled bob: %+v %v", e, err)
	}
	if e, err := c.Lookup(ctx, "ann"); err != nil || e.Disabled {
		t.Fatalf("ann: %+v %v", e, err)
	}
	if err := admin.Del(ldap.NewDelRequest(people[1].DN(), nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted bob: %v", err)
	}
}

// A returning user's bind goes out with the DN found last time; when the
// entry has moved since, the search's DN wins and the login still works,
// and a wrong password or a deleted entry are still refused.
func TestAuthenticateEntryMoved(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, people[:2]...)
	c, _ := New(config(s))
	defer c.Close()
	ctx := context.Background()
	for range 2 {
		if e, err := c.Authenticate(ctx, "ann", "ann-pass"); err != nil || e.DN != people[0].DN() {
			t.Fatalf("login: %+v %v", e, err)
		}
	}
	admin := adminConn(t, s)
	// The new RDN keeps uid=ann, so the filter finds the entry at its new DN.
	if err := admin.ModifyDN(ldap.NewModifyDNRequest(people[0].DN(), "cn=Ann Lee", false, "")); err != nil {
		t.Fatal(err)
	}
	moved := "cn=Ann Lee," + ldaptest.PeopleDN
	for _, tc := range []struct {
		password string
		want     error
	}{{"ann-pass", nil}, {"bob-pass", ErrWrongPassword}, {"ann-pass", nil}} {
		e, err := c.Authenticate(ctx, "ann", tc.password)
		if !errors.Is(err, tc.want) || e == nil || e.DN != moved {
			t.Fatalf("after the move, password %q: %+v %v, want %v at %s", tc.password, e, err, tc.want, moved)
		}
	}
	// Bob's DN is remembered; his entry goes: not found, not a bind result.
	if _, err := c.Authenticate(ctx, "bob", "bob-pass"); err != nil {
		t.Fatal(err)
	}
	if err := admin.Del(ldap.NewDelRequest(people[1].DN(), nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(ctx, "bob", "bob-pass"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted bob: %v, want ErrNotFound", err)
	}
}

// TestDirectoryRestart: while slapd is down every call is ErrUnavailable
// (never a wrong password), and the same client works again once it is
// back.
func TestDirectoryRestart(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t, people[0])
	c, _ := New(config(s))
	defer c.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 8 { // fill the pool
		wg.Add(1)
		go func() { defer wg.Done(); c.Authenticate(ctx, "ann", "ann-pass") }()
	}
	wg.Wait()
	s.Stop()
	for _, pw := range []string{"ann-pass", "wrong"} {
		if _, err := c.Authenticate(ctx, "ann", pw); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("directory down, password %q: %v, want ErrUnavailable", pw, err)
		}
	}
	if err := c.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping while down: %v", err)
	}
	s.Start()
	if _, err := c.Authenticate(ctx, "ann", "ann-pass"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{URL: "http://x", UserFilter: "(uid={0})"},
		{URL: "ldap://", UserFilter: "(uid={0})"},
		{URL: "ldap://x", UserFilter: "(uid=ann)"},
		{URL: "ldap://x", UserFilter: "(uid={0}"},
		{URL: "ldap://x", UserFilter: "(uid={0})", DisabledFilter: "(("},
		{URL: "ldap://x", UserFilter: "(uid={0})", CAPEM: []byte("not pem")},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func adminConn(t *testing.T, s *ldaptest.Server) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(ldaptest.AdminDN, ldaptest.AdminPass); err != nil {
		t.Fatal(err)
	}
	return c
}
