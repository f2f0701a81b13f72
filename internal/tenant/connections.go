package tenant

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ConnectionInput is a connection to create, or the changes to one (as
// POST and PATCH /connections take it).
type ConnectionInput struct {
	Name               Opt[string]                 `json:"name"`
	DisplayName        Opt[string]                 `json:"display_name"`
	Strategy           Opt[string]                 `json:"strategy"`
	Options            Nullable[json.RawMessage]   `json:"options"`
	Realms             Opt[[]string]               `json:"realms"`
	EnabledClients     Opt[[]string]               `json:"enabled_clients"`
	IsDomainConnection Opt[bool]                   `json:"is_domain_connection"`
	Metadata           Nullable[map[string]string] `json:"metadata"`
	ShowAsButton       Opt[bool]                   `json:"show_as_button"`
}

// Connection limits (Auth0's).
const (
	maxConnectionName   = 128
	maxConnectionMeta   = 10
	maxConnectionMetaV  = 255
	maxConnClientsPatch = 50
)

// validConnectionName follows Auth0: letters and digits, single dashes
// between them.
func validConnectionName(name string) bool {
	if name == "" || len(name) > maxConnectionName || name[0] == '-' || name[len(name)-1] == '-' ||
		strings.Contains(name, "--") {
		return false
	}
	for _, r := range name {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// GetConnection returns a connection.
func (s *Service) GetConnection(ctx context.Context, id string) (*store.Connection, error) {
	c, err := s.Store.GetConnection(ctx, id)
	return c, notFound(err, errNoConnection)
}

// CreateConnection creates a connection; name and strategy are required,
// and the strategy must be one gatehouse serves.
func (s *Service) CreateConnection(ctx context.Context, in *ConnectionInput) (_ *store.Connection, err error) {
	defer s.audit(ctx, "Create a connection", &err)
	for _, req := range []struct {
		set  bool
		name string
	}{{in.Name.Set, "name"}, {in.Strategy.Set, "strategy"}} {
		if !req.set {
			return nil, invalidBody("Missing required property: %s", req.name)
		}
	}
	if !validConnectionName(in.Name.V) {
		return nil, invalidProp("name", "Name must be up to %d letters, digits and single dashes, starting and ending with a letter or digit", maxConnectionName)
	}
	if _, ok := s.strategy(in.Strategy.V); !ok {
		return nil, invalidProp("strategy", "Strategy %s is not supported", in.Strategy.V)
	}
	c := &store.Connection{
		ID:             ids.Prefixed("con", 16),
		Name:           in.Name.V,
		Strategy:       in.Strategy.V,
		Options:        json.RawMessage(`{}`),
		Realms:         []string{in.Name.V},
		EnabledClients: []string{},
	}
	if err := s.applyConnection(c, in); err != nil {
		return nil, err
	}
	if err := s.Store.CreateConnection(ctx, c); err != nil {
		return nil, conflict(err, "connection_conflict", "A connection with the same name already exists")
	}
	return c, nil
}

// UpdateConnection applies the properties present in in; name and
// strategy cannot change (Auth0 tooling sends them back unchanged, which is
// accepted).
func (s *Service) UpdateConnection(ctx context.Context, id string, in *ConnectionInput) (_ *store.Connection, err error) {
	defer s.audit(ctx, "Update a connection", &err)
	c, err := s.Store.UpdateConnection(ctx, id, func(c *store.Connection) error {
		if in.Name.Set && in.Name.V != c.Name {
			return invalidProp("name", "The name of a connection cannot be changed")
		}
		if in.Strategy.Set && in.Strategy.V != c.Strategy {
			return invalidProp("strategy", "The strategy of a connection cannot be changed")
		}
		return s.applyConnection(c, in)
	})
	return c, notFound(err, errNoConnection)
}

// ConnectionStatus asks the connection's strategy whether its directory
// can be reached: nil when it can (or when the strategy has nothing to
// reach), an error wrapping directory.ErrUnavailable when it cannot.
func (s *Service) ConnectionStatus(ctx context.Context, id string) (*store.Connection, error) {
	c, err := s.GetConnection(ctx, id)
	if err != nil {
		return nil, err
	}
	st, ok := s.strategy(c.Strategy)
	if !ok {
		return c, nil
	}
	if sc, ok := st.(directory.StatusChecker); ok {
		return c, sc.Status(ctx, c)
	}
	return c, nil
}

// DeleteConnection deletes a connection and its users (the store does it in
// one transaction).
func (s *Service) DeleteConnection(ctx context.Context, id string) (err error) {
	defer s.audit(ctx, "Delete a connection", &err)
	return notFound(s.Store.DeleteConnection(ctx, id), errNoConnection)
}

// ClientStatus enables (Status true) or disables a client on a connection.
type ClientStatus struct {
	ClientID Opt[string] `json:"client_id"`
	Status   Opt[bool]   `json:"status"`
}

// SetConnectionClients enables and disables clients on a connection.
func (s *Service) SetConnectionClients(ctx context.Context, id string, changes []ClientStatus) (err error) {
	defer s.audit(ctx, "Update the clients of a connection", &err)
	if len(changes) > maxConnClientsPatch {
		return invalidBody("Array is too long (%d), maximum %d", len(changes), maxConnClientsPatch)
	}
	for i, ch := range changes {
		if !ch.ClientID.Set || ch.ClientID.V == "" || !ch.Status.Set {
			return invalidProp(fmt.Sprintf("[%d]", i), "Missing required property: client_id or status")
		}
	}
	_, err = s.Store.UpdateConnection(ctx, id, func(c *store.Connection) error {
		for _, ch := range changes {
			id := ch.ClientID.V
			c.EnabledClients = slices.DeleteFunc(c.EnabledClients, func(e string) bool { return e == id })
			if ch.Status.V {
				c.EnabledClients = append(c.EnabledClients, id)
			}
		}
		return nil
	})
	return notFound(err, errNoConnection)
}

// DeleteConnectionUser deletes the user of a database connection with
// that email.
func (s *Service) DeleteConnectionUser(ctx context.Context, connectionID, email string) (err error) {
	defer s.audit(ctx, "Delete a connection user", &err)
	c, err := s.GetConnection(ctx, connectionID)
	if err != nil {
		return err
	}
	u, err := s.Store.UserByIdentifier(ctx, c.ID, email)
	if err != nil {
		return notFound(err, errNoUser)
	}
	return notFound(s.Store.DeleteUser(ctx, u.UserID), errNoUser)
}

// applyConnection copies the present properties onto c. options is
// replaced wholesale, as the connection's strategy validates it.
func (s *Service) applyConnection(c *store.Connection, b *ConnectionInput) error {
	setIf(&c.DisplayName, b.DisplayName)
	setIf(&c.IsDomainConnection, b.IsDomainConnection)
	if b.ShowAsButton.Set {
		c.ShowAsButton = &b.ShowAsButton.V
	}
	if o := b.Options; o.Set {
		old := c.Options
		c.Options = json.RawMessage(`{}`)
		if !o.Null {
			if JSONKind(o.V) != "object" {
				return invalidProp("options", "Expected type object but found type %s", JSONKind(o.V))
			}
			c.Options = keepSecrets(o.V, old)
		}
		if err := s.validateOptions(c); err != nil {
			return err
		}
	}
	if b.Realms.Set {
		if slices.Contains(b.Realms.V, "") {
			return invalidProp("realms", "Realms must be non-empty strings")
		}
		c.Realms = uniq(b.Realms.V)
	}
	if b.EnabledClients.Set {
		if slices.Contains(b.EnabledClients.V, "") {
			return invalidProp("enabled_clients", "Client ids must be non-empty strings")
		}
		c.EnabledClients = uniq(b.EnabledClients.V)
	}
	if m := b.Metadata; m.Set {
		if len(m.V) > maxConnectionMeta {
			return invalidProp("metadata", "Too many properties (max %d)", maxConnectionMeta)
		}
		for k, v := range m.V {
			if utf8.RuneCountInString(v) > maxConnectionMetaV {
				return invalidProp("metadata."+k, "String is too long (max %d chars)", maxConnectionMetaV)
			}
		}
		c.Metadata = m.V
	}
	return nil
}

// strategy finds the plug-in of a strategy name.
func (s *Service) strategy(name string) (directory.Strategy, bool) {
	if s.Strategies == nil {
		return nil, false
	}
	return s.Strategies.Lookup(name)
}

// validateOptions has the connection's strategy check its options and
// keeps them as the strategy returns them.
func (s *Service) validateOptions(c *store.Connection) error {
	st, ok := s.strategy(c.Strategy)
	if !ok {
		return invalidProp("strategy", "Strategy %s is not supported", c.Strategy)
	}
	opts, err := st.ValidateOptions(c.Options)
	var oe *directory.OptionsError
	switch {
	case errors.As(err, &oe):
		return invalidProp(cmp.Or(oe.Field, "options"), "%s", oe.Message)
	case err != nil:
		return fmt.Errorf("connection %s: options: %w", c.Name, err)
	}
	if opts != nil {
		c.Options = opts
	}
	return nil
}

// keepSecrets carries the stored secret options (store.SecretOptionKeys)
// over into options that leave them out: the Management API never shows
// them, so a client that reads a connection, changes it and writes it back
// must not erase them. A secret sent again replaces the stored one. A
// secret is kept only while everything it is bound to stays as it was
// (secretBinding: its account, and where it is sent): otherwise an update
// of the directory's url alone would send the stored password to the new
// server, where whoever may update connections could read it.
func keepSecrets(options, old json.RawMessage) json.RawMessage {
	var prev map[string]json.RawMessage
	if json.Unmarshal(old, &prev) != nil {
		return options
	}
	var next map[string]json.RawMessage
	if json.Unmarshal(options, &next) != nil {
		return options
	}
	changed := false
	for _, k := range store.SecretOptionKeys {
		v, had := prev[k]
		_, has := next[k]
		_, account := next[secretAccount[k]]
		if had && !has && account && sameOptions(prev, next, secretBinding[k]) {
			next[k] = v
			changed = true
		}
	}
	if !changed {
		return options
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(next) != nil {
		return options
	}
	return bytes.TrimSpace(b.Bytes())
}

// secretAccount names the option each secret option authenticates.
var secretAccount = map[string]string{"bind_password": "bind_dn", "client_secret": "client_id"}

// secretBinding names the options a stored secret is bound to: the account
// and every option that decides where the secret is sent.
var secretBinding = map[string][]string{
	"bind_password": {"bind_dn", "url"},
	"client_secret": {"client_id", "tenant_domain", "discovery_url", "token_endpoint"},
}

// sameOptions tells whether prev and next hold the same value for each
// key; a key left out, null and "" are the same (no value).
func sameOptions(prev, next map[string]json.RawMessage, keys []string) bool {
	value := func(raw json.RawMessage) []byte {
		var b bytes.Buffer
		if json.Compact(&b, raw) != nil {
			return raw
		}
		if v := b.Bytes(); !bytes.Equal(v, []byte("null")) && !bytes.Equal(v, []byte(`""`)) {
			return v
		}
		return nil
	}
	for _, k := range keys {
		if !bytes.Equal(value(prev[k]), value(next[k])) {
			return false
		}
	}
	return true
}
