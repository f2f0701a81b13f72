// Package ldapdir talks to an LDAP directory (OpenLDAP, Active Directory)
// on behalf of an AD/LDAP connection: it finds a user's entry with a
// service account, checks the user's password by binding as that entry,
// and reads the profile and groups. Connections bound as the service
// account are pooled (bounded), dropped when they fail, and dialled again
// on the next request, so a directory that restarts is used again without
// restarting gatehouse.
//
// Three outcomes are kept apart everywhere: found (or password right), not
// found (or password wrong), and ErrUnavailable (the directory could not be
// asked), so a directory that is down is never reported as a wrong password.
package ldapdir

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Errors of Authenticate and Lookup.
var (
	// ErrNotFound: no entry (or more than one) matches the user filter.
	ErrNotFound = errors.New("ldapdir: no such user")
	// ErrWrongPassword: the entry exists, the bind with the password failed.
	ErrWrongPassword = errors.New("ldapdir: wrong password")
	// ErrUnavailable: the directory could not be reached or answered with
	// an error that says nothing about the user.
	ErrUnavailable = errors.New("ldapdir: directory unavailable")
)

// Config is what a client needs to reach and read a directory.
type Config struct {
	URL      string // ldap://host:port or ldaps://host:port
	StartTLS bool   // upgrade an ldap:// connection before binding
	// CAPEM holds the certificates to trust for LDAPS and StartTLS; empty
	// means the system's roots.
	CAPEM []byte
	// ServerName overrides the name checked in the directory's certificate.
	ServerName string

	BindDN       string // the service account that searches
	BindPassword string

	BaseDN string
	// UserFilter finds the user: {0} stands for the typed username,
	// escaped per RFC 4515 before it is put in.
	UserFilter string
	// DisabledFilter, when set, matches disabled users (tested against the
	// user's own entry); Active Directory's default is
	// "(userAccountControl:1.2.840.113556.1.4.803:=2)".
	DisabledFilter string
	// GroupBaseDN, when set, is searched for groupOfNames/groupOfUniqueNames
	// entries listing the user as a member; otherwise Attributes.Groups
	// (memberOf) is read from the user's entry.
	GroupBaseDN string

	Attributes Attributes

	ConnectTimeout time.Duration // default 5 s
	ReadTimeout    time.Duration // default 10 s
	PoolSize       int           // idle service connections kept; default 4
	MaxOpen        int           // connections in use at once; default 16
}

// Attributes names the entry attributes a profile is read from.
type Attributes struct {
	UID        string // default uid (sAMAccountName on AD)
	Email      string // default mail
	Name       string // default cn
	GivenName  string // default givenName
	FamilyName string // default sn
	Groups     string // default memberOf
}

// Entry is a user as the directory describes them.
type Entry struct {
	DN         string
	UID        string
	Email      string
	Name       string
	GivenName  string
	FamilyName string
	Groups     []string // group names (the cn of each group DN)
	Disabled   bool
}

// Client is safe for concurrent use.
type Client struct {
	cfg  Config
	tls  *tls.Config
	idle chan *ldap.Conn
	busy chan struct{} // one token per connection in use
}

// New checks cfg and returns a client; it does not dial.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("ldapdir: url must be ldap://host[:port] or ldaps://host[:port]")
	}
	if !strings.Contains(cfg.UserFilter, "{0}") {
		return nil, fmt.Errorf("ldapdir: user filter must contain {0}")
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(cfg.UserFilter, "{0}", "x")); err != nil {
		return nil, fmt.Errorf("ldapdir: user filter: %w", err)
	}
	if cfg.DisabledFilter != "" {
		if _, err := ldap.CompileFilter(cfg.DisabledFilter); err != nil {
			return nil, fmt.Errorf("ldapdir: disabled filter: %w", err)
		}
	}
	a := &cfg.Attributes
	for p, def := range map[*string]string{&a.UID: "uid", &a.Email: "mail", &a.Name: "cn", &a.GivenName: "givenName", &a.FamilyName: "sn", &a.Groups: "memberOf"} {
		if *p == "" {
			*p = def
		}
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 4
	}
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = 16
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if len(cfg.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(cfg.CAPEM) {
			return nil, fmt.Errorf("ldapdir: CA bundle holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	return &Client{cfg: cfg, tls: tc, idle: make(chan *ldap.Conn, cfg.PoolSize), busy: make(chan struct{}, cfg.MaxOpen)}, nil
}

// Close closes the idle connections.
func (c *Client) Close() {
	for {
		select {
		case conn := <-c.idle:
			conn.Close()
		default:
			return
		}
	}
}

// Ping dials and binds as the service account: the connection's status.
func (c *Client) Ping(ctx context.Context) error {
	conn, err := c.get(ctx)
	if err != nil {
		return err
	}
	c.put(conn)
	return nil
}

// Authenticate finds username's entry and binds as it with password.
func (c *Client) Authenticate(ctx context.Context, username, password string) (*Entry, error) {
	if password == "" {
		// An empty password is an unauthenticated bind, which succeeds on
		// most servers: never let it through as a login.
		return nil, ErrWrongPassword
	}
	conn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	e, err := c.find(conn, username)
	if err != nil {
		c.release(conn, err)
		return nil, err
	}
	bindErr := conn.Bind(e.DN, password)
	// Return the connection to the service account before anything else,
	// whatever the user's bind did.
	if rerr := conn.Bind(c.cfg.BindDN, c.cfg.BindPassword); rerr != nil {
		c.drop(conn)
	} else {
		c.put(conn)
	}
	switch {
	case bindErr == nil:
		return e, nil
	case ldap.IsErrorWithCode(bindErr, ldap.LDAPResultInvalidCredentials):
		return e, ErrWrongPassword
	default:
		return nil, fmt.Errorf("%w: bind as user: %v", ErrUnavailable, bindErr)
	}
}

// Lookup reads username's entry (at refresh time: does the user still
// exist, and are they disabled?).
func (c *Client) Lookup(ctx context.Context, username string) (*Entry, error) {
	conn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	e, err := c.find(conn, username)
	c.release(conn, err)
	return e, err
}

// LookupUID reads the entry whose UID attribute is uid (at refresh time,
// when the name the user typed at login is long gone: the uid is what a
// gatehouse user_id keeps).
func (c *Client) LookupUID(ctx context.Context, uid string) (*Entry, error) {
	conn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	e, err := c.search(conn, "("+c.cfg.Attributes.UID+"="+ldap.EscapeFilter(uid)+")")
	c.release(conn, err)
	return e, err
}

// find searches the entry of a typed username with the user filter.
func (c *Client) find(conn *ldap.Conn, username string) (*Entry, error) {
	return c.search(conn, strings.ReplaceAll(c.cfg.UserFilter, "{0}", ldap.EscapeFilter(username)))
}

// search finds the one entry matching filter and fills in groups and the
// disabled flag.
func (c *Client) search(conn *ldap.Conn, filter string) (*Entry, error) {
	a := c.cfg.Attributes
	res, err := conn.Search(ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(c.cfg.ReadTimeout/time.Second), false, filter,
		[]string{a.UID, a.Email, a.Name, a.GivenName, a.FamilyName, a.Groups}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: search: %v", ErrUnavailable, err)
	}
	if len(res.Entries) != 1 {
		// None, or an ambiguous filter: never guess which person logs in.
		return nil, ErrNotFound
	}
	ent := res.Entries[0]
	e := &Entry{
		DN:         ent.DN,
		UID:        ent.GetAttributeValue(a.UID),
		Email:      ent.GetAttributeValue(a.Email),
		Name:       ent.GetAttributeValue(a.Name),
		GivenName:  ent.GetAttributeValue(a.GivenName),
		FamilyName: ent.GetAttributeValue(a.FamilyName),
	}
	groupDNs := ent.GetAttributeValues(a.Groups)
	if c.cfg.GroupBaseDN != "" {
		dn := ldap.EscapeFilter(ent.DN)
		gr, err := conn.Search(ldap.NewSearchRequest(c.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			0, int(c.cfg.ReadTimeout/time.Second), false,
			"(|(&(objectClass=groupOfNames)(member="+dn+"))(&(objectClass=groupOfUniqueNames)(uniqueMember="+dn+")))",
			[]string{"cn"}, nil))
		if err != nil {
			return nil, fmt.Errorf("%w: group search: %v", ErrUnavailable, err)
		}
		groupDNs = groupDNs[:0]
		for _, g := range gr.Entries {
			groupDNs = append(groupDNs, g.DN)
		}
	}
	for _, g := range groupDNs {
		e.Groups = append(e.Groups, groupName(g))
	}
	if c.cfg.DisabledFilter != "" {
		dr, err := conn.Search(ldap.NewSearchRequest(ent.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			1, int(c.cfg.ReadTimeout/time.Second), false, c.cfg.DisabledFilter, []string{"1.1"}, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil, fmt.Errorf("%w: disabled check: %v", ErrUnavailable, err)
		}
		e.Disabled = err == nil && len(dr.Entries) > 0
	}
	return e, nil
}

// groupName is the first RDN value of a group DN ("cn=staff,ou=groups,..."
// gives "staff"), or the DN itself when it does not parse.
func groupName(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return dn
	}
	return d.RDNs[0].Attributes[0].Value
}

// get returns a pooled connection bound as the service account, or dials
// one, once fewer than MaxOpen are in use; every successful get is paired
// with a release, put or drop.
func (c *Client) get(ctx context.Context) (*ldap.Conn, error) {
	wait := time.NewTimer(c.cfg.ConnectTimeout)
	defer wait.Stop()
	select {
	case c.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, fmt.Errorf("%w: all %d connections busy", ErrUnavailable, c.cfg.MaxOpen)
	}
	conn, err := c.open(ctx)
	if err != nil {
		<-c.busy
	}
	return conn, err
}

func (c *Client) open(ctx context.Context) (*ldap.Conn, error) {
	for {
		select {
		case conn := <-c.idle:
			if !conn.IsClosing() {
				return conn, nil
			}
			conn.Close()
			continue
		default:
		}
		break
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: c.cfg.ConnectTimeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(d), ldap.DialWithTLSConfig(c.tls)}
	conn, err := ldap.DialURL(c.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: dial: %v", ErrUnavailable, err)
	}
	conn.SetTimeout(c.cfg.ReadTimeout)
	if c.cfg.StartTLS && strings.HasPrefix(c.cfg.URL, "ldap://") {
		if err := conn.StartTLS(c.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: StartTLS: %v", ErrUnavailable, err)
		}
	}
	if err := conn.Bind(c.cfg.BindDN, c.cfg.BindPassword); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: service account bind: %v", ErrUnavailable, err)
	}
	return conn, nil
}

// release puts conn back unless err says the connection is broken.
func (c *Client) release(conn *ldap.Conn, err error) {
	if errors.Is(err, ErrUnavailable) {
		c.drop(conn)
		return
	}
	c.put(conn)
}

// put keeps conn for the next request (or closes it when enough are idle).
func (c *Client) put(conn *ldap.Conn) {
	select {
	case c.idle <- conn:
	default:
		conn.Close()
	}
	<-c.busy
}

// drop closes a connection that must not be used again.
func (c *Client) drop(conn *ldap.Conn) {
	conn.Close()
	<-c.busy
}
