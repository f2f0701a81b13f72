// Package ad is the "ad" connection strategy: users who live in an Active
// Directory or other LDAP server. It owns the connection's options schema
// (where the directory is, how to find a user in it, how its attributes map
// onto a gatehouse profile, how long to wait) and their validation.
//
// Logging in through the directory is not built yet (issue 9 adds the LDAP
// client): until then Verify answers directory.ErrUnavailable, which the
// token endpoint reports as a connection that cannot be reached, never as a
// wrong password or a server error.
package ad

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
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
	// UserFilter finds the user: {0} stands for the typed username,
	// escaped per RFC 4515 when it is substituted.
	UserFilter string `json:"user_filter,omitempty"`
	// Attributes maps profile fields onto directory attributes.
	Attributes *Attributes `json:"attributes,omitempty"`
	// ConnectTimeoutMS and ReadTimeoutMS bound each call to the directory.
	ConnectTimeoutMS int `json:"connect_timeout_ms,omitempty"`
	ReadTimeoutMS    int `json:"read_timeout_ms,omitempty"`
}

// Attributes names the directory attribute behind each profile field.
type Attributes struct {
	UserID     string `json:"user_id,omitempty"`
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
)

// DefaultAttributes is the mapping of an inetOrgPerson directory.
var DefaultAttributes = Attributes{UserID: "uid", Email: "mail", Name: "cn", GivenName: "givenName", FamilyName: "sn", Groups: "memberOf"}

// ldapKeys are the option keys this strategy reads; options holding none of
// them describe a connection not configured yet.
var ldapKeys = []string{"url", "start_tls", "ca_bundle", "bind_dn", "bind_password", "base_dn", "user_filter",
	"attributes", "connect_timeout_ms", "read_timeout_ms"}

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
			{&a.UserID, m.UserID}, {&a.Email, m.Email}, {&a.Name, m.Name},
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
	if o.UserFilter != "" {
		if !strings.Contains(o.UserFilter, "{0}") {
			return bad("user_filter", "must contain {0}, which stands for the username")
		}
		if !validFilter(o.UserFilter) {
			return bad("user_filter", "must be one parenthesised LDAP filter, e.g. (uid={0})")
		}
	}
	if a := o.Attributes; a != nil {
		for _, f := range []struct{ name, v string }{
			{"user_id", a.UserID}, {"email", a.Email}, {"name", a.Name},
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
	return nil
}

// validDN accepts a sequence of attr=value RDNs separated by unescaped
// commas (RFC 4514), each attribute a name or an OID and each value not
// empty. It does not decode the values: the LDAP client does.
func validDN(dn string) bool {
	for _, rdn := range splitUnescaped(dn, ',') {
		for _, ava := range splitUnescaped(rdn, '+') {
			attr, val, ok := strings.Cut(ava, "=")
			if !ok || !validAttribute(strings.TrimSpace(attr)) || strings.TrimSpace(val) == "" {
				return false
			}
		}
	}
	return true
}

// splitUnescaped splits s at sep where sep is not escaped by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
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

// validFilter checks the shape a filter must have: wrapped in parentheses
// that balance, outside escapes. The LDAP client parses it fully.
func validFilter(f string) bool {
	if len(f) < 3 || f[0] != '(' || f[len(f)-1] != ')' {
		return false
	}
	depth := 0
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(f)-1 {
				return false
			}
		}
		if depth < 0 {
			return false
		}
	}
	return depth == 0
}

// Strategy serves "ad" connections.
type Strategy struct{}

var (
	_ directory.Strategy         = Strategy{}
	_ directory.PasswordVerifier = Strategy{}
)

// Name implements directory.Strategy.
func (Strategy) Name() string { return Name }

// ValidateOptions implements directory.Strategy. The options are stored as
// given; empty or null options become {} (a connection not configured yet).
func (Strategy) ValidateOptions(options json.RawMessage) (json.RawMessage, error) {
	options = bytes.TrimSpace(options)
	if len(options) == 0 || bytes.Equal(options, []byte("null")) {
		return json.RawMessage(`{}`), nil
	}
	if options[0] != '{' {
		return nil, &directory.OptionsError{Field: "options", Message: "options must be a JSON object"}
	}
	if _, err := ParseOptions(options); err != nil {
		return nil, err
	}
	return options, nil
}

// Verify implements directory.PasswordVerifier. There is no LDAP client
// yet (issue 9 adds it): every login through an ad connection answers
// ErrUnavailable, the error of a directory that cannot be reached, so the
// client gets a clear "try later" rather than a wrong password or a 500.
func (Strategy) Verify(ctx context.Context, conn *store.Connection, username, password string) (directory.Result, bool, error) {
	return directory.Result{}, false, fmt.Errorf("%w: connection %s: LDAP login is not implemented yet", directory.ErrUnavailable, conn.Name)
}
