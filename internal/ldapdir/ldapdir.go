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
	"sync"
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
	// Connections for users' binds only, never bound as the service
	// account and never used to search: a user's bind needs no bind back
	// afterwards. They have their own bound of MaxOpen.
	bindIdle chan *ldap.Conn
	bindBusy chan struct{}
	dns      dnCache
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
	return &Client{cfg: cfg, tls: tc, idle: make(chan *ldap.Conn, cfg.PoolSize), busy: make(chan struct{}, cfg.MaxOpen),
		bindIdle: make(chan *ldap.Conn, cfg.PoolSize), bindBusy: make(chan struct{}, cfg.MaxOpen)}, nil
}

// Close closes the idle connections.
func (c *Client) Close() {
	for _, idle := range []chan *ldap.Conn{c.idle, c.bindIdle} {
	drain:
		for {
			select {
			case conn := <-idle:
				conn.Close()
			default:
				break drain
			}
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
//
// A login takes one round trip to the directory when the same filter found
// its entry before and two otherwise, instead of five in a row: the entry
// and its disabled flag are searched at once on a service connection,
// while the bind as the user runs on a connection kept for user binds only
// (so it never has to be bound back to the service account), with the
// group search beside it. With a DN remembered from an earlier login the
// bind goes out before the search has answered; its outcome counts only if
// the search finds that same single entry, otherwise the bind and group
// search are made again with the DN found.
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
	bconn, err := c.getBind(ctx)
	if err != nil {
		c.put(conn)
		return nil, err
	}
	filter := c.userFilter(username)
	dn, known := c.dns.get(filter)
	r := c.step(conn, bconn, filter, dn, password)
	if r.search == nil && (!known || r.entry.DN != dn) {
		// A first login through this filter, or the entry moved.
		c.dns.put(filter, r.entry.DN)
		again := c.step(conn, bconn, "", r.entry.DN, password)
		r.groups, r.group, r.bind = again.groups, again.group, again.bind
	}
	if errors.Is(r.search, ErrNotFound) {
		c.dns.forget(filter)
	}
	switch {
	case r.search != nil:
		c.release(conn, r.search)
	default:
		c.release(conn, r.group)
	}
	if r.bind == nil || ldap.IsErrorWithCode(r.bind, ldap.LDAPResultInvalidCredentials) {
		c.putBind(bconn)
	} else {
		c.dropBind(bconn)
	}
	e := r.entry
	switch {
	case r.search != nil:
		return nil, r.search
	case r.bind == nil && r.group != nil:
		return nil, r.group
	case r.bind == nil:
		if c.cfg.GroupBaseDN != "" {
			e.Groups = r.groups
		}
		return e, nil
	case ldap.IsErrorWithCode(r.bind, ldap.LDAPResultInvalidCredentials):
		return e, ErrWrongPassword
	default:
		return nil, fmt.Errorf("%w: bind as user: %v", ErrUnavailable, r.bind)
	}
}

// stepResult is what one step of a login found out.
type stepResult struct {
	entry  *Entry
	search error // of the entry's search (and disabled check)
	groups []string
	group  error // of the group search
	bind   error // of the user's bind
}

// step runs side by side what a login can ask at once: the search of
// filter when it is set, and, with a DN, the user's bind on bconn and the
// group search.
func (c *Client) step(conn, bconn *ldap.Conn, filter, dn, password string) stepResult {
	var r stepResult
	var wg sync.WaitGroup
	if filter != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.entry, r.search = c.search(conn, filter)
		}()
	}
	if dn != "" {
		if c.cfg.GroupBaseDN != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.groups, r.group = c.groupSearch(conn, dn)
			}()
		}
		r.bind = bconn.Bind(dn, password)
	}
	wg.Wait()
	return r
}

// dnCache remembers the DN each user filter found, so a returning user's
// bind need not wait for the search. It is bounded: when full it starts
// over.
type dnCache struct {
	mu sync.Mutex
	m  map[string]string
}

const maxCachedDNs = 10000

func (d *dnCache) get(filter string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	dn, ok := d.m[filter]
	return dn, ok
}

func (d *dnCache) put(filter, dn string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil || len(d.m) >= maxCachedDNs {
		d.m = map[string]string{}
	}
	d.m[filter] = dn
}

func (d *dnCache) forget(filter string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.m, filter)
}

// Lookup reads username's entry (at refresh time: does the user still
// exist, and are they disabled?).
func (c *Client) Lookup(ctx context.Context, username string) (*Entry, error) {
	return c.lookup(ctx, c.userFilter(username))
}

// LookupUID reads the entry whose UID attribute is uid (at refresh time,
// when the name the user typed at login is long gone: the uid is what a
// gatehouse user_id keeps).
func (c *Client) LookupUID(ctx context.Context, uid string) (*Entry, error) {
	return c.lookup(ctx, "("+c.cfg.Attributes.UID+"="+ldap.EscapeFilter(uid)+")")
}

// lookup reads the entry filter matches with its groups.
func (c *Client) lookup(ctx context.Context, filter string) (*Entry, error) {
	conn, err := c.get(ctx)
	if err != nil {
		return nil, err
	}
	e, err := c.search(conn, filter)
	if err == nil && c.cfg.GroupBaseDN != "" {
		e.Groups, err = c.groupSearch(conn, e.DN)
	}
	c.release(conn, err)
	return e, err
}

// userFilter is the user filter with username escaped into it.
func (c *Client) userFilter(username string) string {
	return strings.ReplaceAll(c.cfg.UserFilter, "{0}", ldap.EscapeFilter(username))
}

// search finds the one entry matching filter and whether it is disabled:
// the disabled check is a second search, (&filter disabled), sent on the
// same connection at the same time, so it costs no extra round trip.
// Groups are read from the entry's own attribute; with a GroupBaseDN the
// caller searches them (groupSearch).
func (c *Client) search(conn *ldap.Conn, filter string) (*Entry, error) {
	a := c.cfg.Attributes
	timeLimit := int(c.cfg.ReadTimeout / time.Second)
	var disabled *ldap.SearchResult
	var disabledErr error
	var wg sync.WaitGroup
	if c.cfg.DisabledFilter != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			disabled, disabledErr = conn.Search(ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
				2, timeLimit, false, "(&"+filter+parenthesized(c.cfg.DisabledFilter)+")", []string{"1.1"}, nil))
		}()
	}
	res, err := conn.Search(ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, timeLimit, false, filter, []string{a.UID, a.Email, a.Name, a.GivenName, a.FamilyName, a.Groups}, nil))
	wg.Wait()
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
	if c.cfg.GroupBaseDN == "" {
		for _, g := range ent.GetAttributeValues(a.Groups) {
			e.Groups = append(e.Groups, groupName(g))
		}
	}
	if c.cfg.DisabledFilter != "" {
		if disabledErr != nil && !ldap.IsErrorWithCode(disabledErr, ldap.LDAPResultNoSuchObject) &&
			!ldap.IsErrorWithCode(disabledErr, ldap.LDAPResultSizeLimitExceeded) {
			return nil, fmt.Errorf("%w: disabled check: %v", ErrUnavailable, disabledErr)
		}
		if disabledErr == nil {
			for _, d := range disabled.Entries {
				e.Disabled = e.Disabled || strings.EqualFold(d.DN, ent.DN)
			}
		}
	}
	return e, nil
}

// groupSearch returns the names of the groupOfNames and groupOfUniqueNames
// entries under GroupBaseDN that list dn as a member.
func (c *Client) groupSearch(conn *ldap.Conn, dn string) ([]string, error) {
	q := ldap.EscapeFilter(dn)
	gr, err := conn.Search(ldap.NewSearchRequest(c.cfg.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, int(c.cfg.ReadTimeout/time.Second), false,
		"(|(&(objectClass=groupOfNames)(member="+q+"))(&(objectClass=groupOfUniqueNames)(uniqueMember="+q+")))",
		[]string{"1.1"}, nil))
	if err != nil {
		return nil, fmt.Errorf("%w: group search: %v", ErrUnavailable, err)
	}
	var groups []string
	for _, g := range gr.Entries {
		groups = append(groups, groupName(g.DN))
	}
	return groups, nil
}

// parenthesized wraps a filter written without its outer parentheses
// ("description=disabled"), which some configurations carry.
func parenthesized(f string) string {
	if strings.HasPrefix(f, "(") {
		return f
	}
	return "(" + f + ")"
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
	return c.take(ctx, c.idle, c.busy, true)
}

// getBind returns a connection for a user's bind; it is paired with
// putBind or dropBind.
func (c *Client) getBind(ctx context.Context) (*ldap.Conn, error) {
	return c.take(ctx, c.bindIdle, c.bindBusy, false)
}

func (c *Client) take(ctx context.Context, idle chan *ldap.Conn, busy chan struct{}, service bool) (*ldap.Conn, error) {
	wait := time.NewTimer(c.cfg.ConnectTimeout)
	defer wait.Stop()
	select {
	case busy <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, fmt.Errorf("%w: all %d connections busy", ErrUnavailable, c.cfg.MaxOpen)
	}
	conn, err := c.open(ctx, idle, service)
	if err != nil {
		<-busy
	}
	return conn, err
}

// open takes an idle connection that is still up, or dials one (bound as
// the service account when service).
func (c *Client) open(ctx context.Context, idle chan *ldap.Conn, service bool) (*ldap.Conn, error) {
	for {
		select {
		case conn := <-idle:
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
	if !service {
		return conn, nil
	}
	if err := conn.Bind(c.cfg.BindDN, c.cfg.BindPassword); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: service account bind: %v", ErrUnavailable, err)
	}
	return conn, nil
}

// putBind keeps a user-bind connection for the next login.
func (c *Client) putBind(conn *ldap.Conn) {
	select {
	case c.bindIdle <- conn:
	default:
		conn.Close()
	}
	<-c.bindBusy
}

// dropBind closes a user-bind connection that failed.
func (c *Client) dropBind(conn *ldap.Conn) {
	conn.Close()
	<-c.bindBusy
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
