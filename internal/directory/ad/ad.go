// Package ad is the "ad" connection strategy: users who live in an Active
// Directory or other LDAP server. It owns the connection's options schema
// (where the directory is, how to find a user in it, how its attributes map
// onto a gatehouse profile, how long to wait) and their validation.
//
// A login searches the user's entry with the service account and binds as
// it with the typed password (internal/ldapdir, one pooled client per
// connection, rebuilt when the connection's options change). Each login
// creates or updates the user in the store as "ad|<connection>|<uid>" (the
// connection's name cannot change and the uid attribute, sAMAccountName on
// Active Directory, is what the directory keys people by), with the mapped
// profile and the user's groups. At refresh, CheckUser asks the directory
// whether that uid still exists and is not disabled, at most once per
// user_check_interval_s. A directory that cannot be reached answers
// directory.ErrUnavailable, never a wrong password.
package ad

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/ldapdir"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Name is the strategy value of AD/LDAP connections.
const Name = "ad"

// Options is an "ad" connection's options document. Keys gatehouse does
// not know (an Auth0 export carries several) are kept verbatim by the
// store and ignored here.
type Options struct {
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string `json:"url,omitempty"`
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool `json:"start_tls,omitempty"`
	// CABundle is PEM: the certificates that may sign the directory's
	// (ldaps:// or StartTLS); empty means the system roots.
	CABundle string `json:"ca_bundle,omitempty"`
	// BindDN and BindPassword are the service account that searches for
	// the user's DN. Both empty means an anonymous search.
	BindDN       string `json:"bind_dn,omitempty"`
	BindPassword string `json:"bind_password,omitempty"`
	// BaseDN is where the search starts.
	BaseDN string `json:"base_dn,omitempty"`
	// ServerName overrides the name checked in the directory's
	// certificate.
	ServerName string `json:"server_name,omitempty"`
	// UserFilter finds the user: {0} stands for the typed username,
	// escaped per RFC 4515 when it is substituted.
	UserFilter string `json:"user_filter,omitempty"`
	// DisabledFilter, when set, matches disabled users (Active
	// Directory: "(userAccountControl:1.2.840.113556.1.4.803:=2)").
	DisabledFilter string `json:"disabled_filter,omitempty"`
	// GroupBaseDN, when set, is searched for group entries listing the
	// user; otherwise the groups attribute of the user's entry is read.
	GroupBaseDN string `json:"group_base_dn,omitempty"`
	// Attributes maps profile fields onto directory attributes.
	Attributes *Attributes `json:"attributes,omitempty"`
	// ConnectTimeoutMS and ReadTimeoutMS bound each call to the directory.
	ConnectTimeoutMS int `json:"connect_timeout_ms,omitempty"`
	ReadTimeoutMS    int `json:"read_timeout_ms,omitempty"`
	// PoolSize is how many idle service connections are kept, MaxOpen
	// how many may be in use at once.
	PoolSize int `json:"pool_size,omitempty"`
	MaxOpen  int `json:"max_open,omitempty"`
	// UserCheckIntervalS is how long a refresh token may be used before
	// the directory is asked again whether its user still exists and is
	// enabled; 0 asks at every refresh.
	UserCheckIntervalS int `json:"user_check_interval_s,omitempty"`
}

// Attributes names the directory attribute behind each profile field.
type Attributes struct {
	UID        string `json:"uid,omitempty"`
	Email      string `json:"email,omitempty"`
	Name       string `json:"name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	Groups     string `json:"groups,omitempty"`
}

// Defaults of the options a connection may leave out.
const (
	DefaultUserFilter     = "(uid={0})"
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 10 * time.Second
	maxTimeout            = time.Minute
	maxConnections        = 256
	maxCheckInterval      = 86400
)

// DefaultAttributes is the mapping of an inetOrgPerson directory.
var DefaultAttributes = Attributes{UID: "uid", Email: "mail", Name: "cn", GivenName: "givenName", FamilyName: "sn", Groups: "memberOf"}

// ldapKeys are the option keys this strategy reads; options holding none of
// them describe a connection not configured yet.
var ldapKeys = []string{"url", "start_tls", "ca_bundle", "server_name", "bind_dn", "bind_password", "base_dn",
	"user_filter", "disabled_filter", "group_base_dn", "attributes", "connect_timeout_ms", "read_timeout_ms",
	"pool_size", "max_open", "user_check_interval_s"}

// Configured reports whether the options say where the directory is.
func (o Options) Configured() bool { return o.URL != "" }

// ConnectTimeout is the bound on opening a connection to the directory.
func (o Options) ConnectTimeout() time.Duration {
	return msOr(o.ConnectTimeoutMS, DefaultConnectTimeout)
}

// ReadTimeout is the bound on each request to the directory.
func (o Options) ReadTimeout() time.Duration { return msOr(o.ReadTimeoutMS, DefaultReadTimeout) }

func msOr(ms int, def time.Duration) time.Duration {
	if ms == 0 {
		return def
	}
	return time.Duration(ms) * time.Millisecond
}

// Filter is the user filter, the default when none is set.
func (o Options) Filter() string {
	if o.UserFilter == "" {
		return DefaultUserFilter
	}
	return o.UserFilter
}

// AttributeMap is the mapping with every unset field at its default.
func (o Options) AttributeMap() Attributes {
	a := DefaultAttributes
	if m := o.Attributes; m != nil {
		for _, f := range []struct {
			dst *string
			v   string
		}{
			{&a.UID, m.UID}, {&a.Email, m.Email}, {&a.Name, m.Name},
			{&a.GivenName, m.GivenName}, {&a.FamilyName, m.FamilyName}, {&a.Groups, m.Groups},
		} {
			if f.v != "" {
				*f.dst = f.v
			}
		}
	}
	return a
}

// ParseOptions reads and validates an ad connection's options. Empty or
// null options, or options without any LDAP key, are a connection not
// configured yet (Configured is false); otherwise url and base_dn are
// required. Errors are *directory.OptionsError naming the field.
func ParseOptions(raw json.RawMessage) (Options, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return Options{}, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Options{}, &directory.OptionsError{Field: "options", Message: "options must be a JSON object"}
	}
	present := false
	for _, k := range ldapKeys {
		if _, ok := keys[k]; ok {
			present = true
		}
	}
	if !present {
		return Options{}, nil
	}
	var o Options
	for _, k := range ldapKeys {
		v, ok := keys[k]
		if !ok {
			continue
		}
		if err := decodeKey(&o, k, v); err != nil {
			return Options{}, err
		}
	}
	if err := o.Validate(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// decodeKey decodes one option so that a wrong type names its field.
func decodeKey(o *Options, key string, v json.RawMessage) error {
	var dst any
	switch key {
	case "url":
		dst = &o.URL
	case "start_tls":
		dst = &o.StartTLS
	case "ca_bundle":
		dst = &o.CABundle
	case "bind_dn":
		dst = &o.BindDN
	case "bind_password":
		dst = &o.BindPassword
	case "base_dn":
		dst = &o.BaseDN
	case "user_filter":
		dst = &o.UserFilter
	case "server_name":
		dst = &o.ServerName
	case "disabled_filter":
		dst = &o.DisabledFilter
	case "group_base_dn":
		dst = &o.GroupBaseDN
	case "pool_size":
		dst = &o.PoolSize
	case "max_open":
		dst = &o.MaxOpen
	case "user_check_interval_s":
		dst = &o.UserCheckIntervalS
	case "attributes":
		dst = &o.Attributes
	case "connect_timeout_ms":
		dst = &o.ConnectTimeoutMS
	case "read_timeout_ms":
		dst = &o.ReadTimeoutMS
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return &directory.OptionsError{Field: "options." + key, Message: fmt.Sprintf("options.%s has the wrong type", key)}
	}
	return nil
}

// Validate checks a configured connection's options.
func (o Options) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &directory.OptionsError{Field: "options." + field, Message: fmt.Sprintf("options.%s: "+format, append([]any{field}, args...)...)}
	}
	if o.URL == "" {
		return bad("url", "required (ldap://host[:port] or ldaps://host[:port])")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Hostname() == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return bad("url", "must be ldap://host[:port] or ldaps://host[:port]")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return bad("url", "port must be between 1 and 65535")
		}
	}
	if o.StartTLS && u.Scheme == "ldaps" {
		return bad("start_tls", "StartTLS applies to ldap:// only (ldaps:// is TLS from the start)")
	}
	if o.CABundle != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(o.CABundle)) {
		return bad("ca_bundle", "no PEM certificate found")
	}
	if (o.BindDN == "") != (o.BindPassword == "") {
		return bad("bind_password", "bind_dn and bind_password go together (both empty: anonymous search)")
	}
	if o.BindDN != "" && !validDN(o.BindDN) {
		return bad("bind_dn", "not a distinguished name (attr=value,...)")
	}
	if o.BaseDN == "" {
		return bad("base_dn", "required")
	}
	if !validDN(o.BaseDN) {
		return bad("base_dn", "not a distinguished name (attr=value,...)")
	}
	if o.GroupBaseDN != "" && !validDN(o.GroupBaseDN) {
		return bad("group_base_dn", "not a distinguished name (attr=value,...)")
	}
	if o.UserFilter != "" {
		if !strings.Contains(o.UserFilter, "{0}") {
			return bad("user_filter", "must contain {0}, which stands for the username")
		}
		if !validFilter(strings.ReplaceAll(o.UserFilter, "{0}", "x")) {
			return bad("user_filter", "must be one LDAP filter (RFC 4515), e.g. (uid={0})")
		}
	}
	if o.DisabledFilter != "" && !validFilter(o.DisabledFilter) {
		return bad("disabled_filter", "must be one LDAP filter (RFC 4515)")
	}
	if a := o.Attributes; a != nil {
		for _, f := range []struct{ name, v string }{
			{"uid", a.UID}, {"email", a.Email}, {"name", a.Name},
			{"given_name", a.GivenName}, {"family_name", a.FamilyName}, {"groups", a.Groups},
		} {
			if f.v != "" && !validAttribute(f.v) {
				return bad("attributes."+f.name, "not an LDAP attribute name")
			}
		}
	}
	for _, t := range []struct {
		name string
		ms   int
	}{{"connect_timeout_ms", o.ConnectTimeoutMS}, {"read_timeout_ms", o.ReadTimeoutMS}} {
		if t.ms < 0 || time.Duration(t.ms)*time.Millisecond > maxTimeout {
			return bad(t.name, "must be between 1 and %d", maxTimeout.Milliseconds())
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"pool_size", o.PoolSize}, {"max_open", o.MaxOpen}} {
		if n.v < 0 || n.v > maxConnections {
			return bad(n.name, "must be between 1 and %d", maxConnections)
		}
	}
	if o.UserCheckIntervalS < 0 || o.UserCheckIntervalS > maxCheckInterval {
		return bad("user_check_interval_s", "must be between 0 and %d", maxCheckInterval)
	}
	return nil
}

// validDN accepts a distinguished name of RFC 4514 with at least one RDN.
func validDN(dn string) bool {
	d, err := ldap.ParseDN(dn)
	return err == nil && len(d.RDNs) > 0
}

// validAttribute accepts an attribute description of RFC 4512: a keystring
// (a letter, then letters, digits and hyphens) or a numeric OID.
func validAttribute(a string) bool {
	if a == "" {
		return false
	}
	if a[0] >= '0' && a[0] <= '9' {
		for _, part := range strings.Split(a, ".") {
			if part == "" || strings.Trim(part, "0123456789") != "" {
				return false
			}
		}
		return true
	}
	for i, c := range a {
		letter := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || !(c == '-' || (c >= '0' && c <= '9'))) {
			return false
		}
	}
	return true
}

// validFilter accepts one LDAP search filter of RFC 4515.
func validFilter(f string) bool {
	_, err := ldap.CompileFilter(f)
	return err == nil
}

// Config is the LDAP client's configuration these options describe, for
// ldapdir.New (which fills in the defaults of what is left out).
func (o Options) Config() ldapdir.Config {
	a := o.AttributeMap()
	return ldapdir.Config{
		URL: o.URL, StartTLS: o.StartTLS, CAPEM: []byte(o.CABundle), ServerName: o.ServerName,
		BindDN: o.BindDN, BindPassword: o.BindPassword, BaseDN: o.BaseDN,
		UserFilter: o.Filter(), DisabledFilter: o.DisabledFilter, GroupBaseDN: o.GroupBaseDN,
		Attributes: ldapdir.Attributes{UID: a.UID, Email: a.Email, Name: a.Name, GivenName: a.GivenName,
			FamilyName: a.FamilyName, Groups: a.Groups},
		ConnectTimeout: o.ConnectTimeout(), ReadTimeout: o.ReadTimeout(), PoolSize: o.PoolSize, MaxOpen: o.MaxOpen,
	}
}

// Strategy serves "ad" connections. Its zero value is not usable: Users
// is required.
type Strategy struct {
	Users store.Users
	// Logger receives a line for each directory that cannot be reached.
	Logger *slog.Logger
	// Now is the clock of the refresh-check interval; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	clients map[string]*cachedClient // by connection id
	checked sync.Map                 // user_id → time.Time of the last check that passed
}

// cachedClient is a connection's LDAP client and the options it was built
// from.
type cachedClient struct {
	sum    [sha256.Size]byte
	client *ldapdir.Client
}

var (
	_ directory.Strategy         = (*Strategy)(nil)
	_ directory.PasswordVerifier = (*Strategy)(nil)
	_ directory.UserChecker      = (*Strategy)(nil)
	_ directory.StatusChecker    = (*Strategy)(nil)
)

// Name implements directory.Strategy.
func (*Strategy) Name() string { return Name }

// ValidateOptions implements directory.Strategy. The options are stored as
// given; empty or null options become {} (a connection not configured yet).
func (*Strategy) ValidateOptions(options json.RawMessage) (json.RawMessage, error) {
	return directory.ValidateObject(options, func(o json.RawMessage) error {
		_, err := ParseOptions(o)
		return err
	})
}

// client returns the connection's LDAP client, building it when the
// connection is new or its options changed since (the old client's idle
// connections are closed then).
func (s *Strategy) client(conn *store.Connection) (*ldapdir.Client, Options, error) {
	o, err := ParseOptions(conn.Options)
	if err != nil {
		return nil, o, fmt.Errorf("%w: connection %s: stored options: %v", directory.ErrUnavailable, conn.Name, err)
	}
	if !o.Configured() {
		return nil, o, fmt.Errorf("%w: connection %s has no directory url", directory.ErrUnavailable, conn.Name)
	}
	sum := sha256.Sum256(conn.Options)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[conn.ID]; ok && c.sum == sum {
		return c.client, o, nil
	}
	cl, err := ldapdir.New(o.Config())
	if err != nil {
		return nil, o, fmt.Errorf("%w: connection %s: %v", directory.ErrUnavailable, conn.Name, err)
	}
	if s.clients == nil {
		s.clients = map[string]*cachedClient{}
	}
	if old, ok := s.clients[conn.ID]; ok {
		old.client.Close()
	}
	s.clients[conn.ID] = &cachedClient{sum: sum, client: cl}
	return cl, o, nil
}

// Close closes every connection's idle directory connections.
func (s *Strategy) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.clients {
		c.client.Close()
		delete(s.clients, id)
	}
}

// unavailable logs a directory that cannot be reached and returns the
// error the pipeline answers 503 for. The error text carries no password.
func (s *Strategy) unavailable(ctx context.Context, conn *store.Connection, what string, err error) error {
	return directory.Unavailable(ctx, s.logger(), slog.LevelWarn, "LDAP directory unavailable", conn, what, err)
}

func (s *Strategy) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Strategy) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// UserID is the gatehouse user_id of a directory entry: "ad|" followed by
// the connection's name and the entry's uid (its DN when it has none).
func UserID(connection string, e *ldapdir.Entry) string {
	return "ad|" + connection + "|" + entryKey(e)
}

func entryKey(e *ldapdir.Entry) string {
	if e.UID != "" {
		return e.UID
	}
	return e.DN
}

// Verify implements directory.PasswordVerifier: search, bind, then create
// or update the user in the store. A user disabled in the directory is
// returned blocked (the pipeline answers as for a blocked user).
func (s *Strategy) Verify(ctx context.Context, conn *store.Connection, username, password string) (directory.Result, bool, error) {
	cl, _, err := s.client(conn)
	if err != nil {
		return directory.Result{}, false, s.unavailable(ctx, conn, "configure", err)
	}
	e, err := cl.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, ldapdir.ErrNotFound):
		return directory.Result{}, false, nil
	case errors.Is(err, ldapdir.ErrWrongPassword):
		// Name the known user for the log and brute-force protection
		// when gatehouse has seen them before.
		if e != nil {
			if u, err := s.Users.GetUser(ctx, UserID(conn.Name, e)); err == nil {
				return directory.Result{User: u}, false, nil
			}
		}
		return directory.Result{}, false, nil
	case errors.Is(err, ldapdir.ErrUnavailable):
		return directory.Result{}, false, s.unavailable(ctx, conn, "login", err)
	case err != nil:
		// The request's own context ended: not the directory's fault.
		return directory.Result{}, false, fmt.Errorf("directory: ldap login: %w", err)
	}
	u, err := s.save(ctx, conn, e)
	if err != nil {
		return directory.Result{}, false, err
	}
	if e.Disabled {
		u.Blocked = true
	} else {
		s.checked.Store(u.UserID, s.now())
	}
	return directory.Result{User: u}, true, nil
}

// save creates the entry's user, or updates the profile of the one stored
// when the directory changed it.
func (s *Strategy) save(ctx context.Context, conn *store.Connection, e *ldapdir.Entry) (*store.User, error) {
	key := directory.Key{UserID: UserID(conn.Name, e), Provider: Name, ID: conn.Name + "|" + entryKey(e)}
	return directory.SaveUser(ctx, s.Users, conn, []directory.Key{key}, s.now(), func(u *store.User) {
		u.Email = e.Email
		u.Username = e.UID
		u.Name = e.Name
		u.Nickname = e.UID
		u.GivenName = e.GivenName
		u.FamilyName = e.FamilyName
		u.Groups = slices.Clone(e.Groups)
	})
}

// CheckUser implements directory.UserChecker: the user's uid must still be
// in the directory and not disabled. A check that passed is trusted for
// user_check_interval_s.
func (s *Strategy) CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	cl, o, err := s.client(conn)
	if err != nil {
		return s.unavailable(ctx, conn, "configure", err)
	}
	if o.UserCheckIntervalS > 0 {
		if at, ok := s.checked.Load(user.UserID); ok && s.now().Sub(at.(time.Time)) < time.Duration(o.UserCheckIntervalS)*time.Second {
			return nil
		}
	}
	uid, ok := strings.CutPrefix(user.UserID, "ad|"+conn.Name+"|")
	if !ok || uid == "" {
		return directory.ErrUserGone
	}
	e, err := cl.LookupUID(ctx, uid)
	switch {
	case errors.Is(err, ldapdir.ErrNotFound):
		s.checked.Delete(user.UserID)
		return directory.ErrUserGone
	case errors.Is(err, ldapdir.ErrUnavailable):
		return s.unavailable(ctx, conn, "refresh check", err)
	case err != nil:
		return fmt.Errorf("directory: ldap refresh check: %w", err)
	case e.Disabled:
		s.checked.Delete(user.UserID)
		return directory.ErrUserBlocked
	}
	s.checked.Store(user.UserID, s.now())
	return nil
}

// Status implements directory.StatusChecker: the service account can
// connect and bind.
func (s *Strategy) Status(ctx context.Context, conn *store.Connection) error {
	cl, _, err := s.client(conn)
	if err != nil {
		return err
	}
	if err := cl.Ping(ctx); err != nil {
		if errors.Is(err, ldapdir.ErrUnavailable) {
			return fmt.Errorf("%w: connection %s: %v", directory.ErrUnavailable, conn.Name, err)
		}
		return err
	}
	return nil
}
