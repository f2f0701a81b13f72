package mgmt

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// connectionBody is the body of POST and PATCH /connections.
type connectionBody struct {
	Name               opt[string]                 `json:"name"`
	DisplayName        opt[string]                 `json:"display_name"`
	Strategy           opt[string]                 `json:"strategy"`
	Options            nullable[json.RawMessage]   `json:"options"`
	Realms             opt[[]string]               `json:"realms"`
	EnabledClients     opt[[]string]               `json:"enabled_clients"`
	IsDomainConnection opt[bool]                   `json:"is_domain_connection"`
	Metadata           nullable[map[string]string] `json:"metadata"`
	ShowAsButton       opt[bool]                   `json:"show_as_button"`
}

// Connection limits (Auth0's).
const (
	maxConnectionName   = 128
	maxConnectionMeta   = 10
	maxConnectionMetaV  = 255
	maxConnClientsPatch = 50
)

// Strategies gatehouse accepts: databases and AD/LDAP.
const (
	strategyDatabase = "auth0"
	strategyAD       = "ad"
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

func (h *handler) getConnectionByID(r *http.Request) (*store.Connection, error) {
	c, err := h.cfg.Store.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, lookupErr(err, codeNoConnection, msgNoConnection)
	}
	return c, nil
}

func (h *handler) listConnections(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, true)
	if err != nil {
		return err
	}
	all, err := listAll(func(pg store.Page) ([]*store.Connection, int, error) {
		return h.cfg.Store.ListConnections(r.Context(), "", pg)
	})
	if err != nil {
		return fmt.Errorf("list connections: %w", err)
	}
	var strategies []string
	for _, s := range q["strategy"] {
		strategies = append(strategies, strings.Split(s, ",")...)
	}
	name := q.Get("name")
	all = slices.DeleteFunc(all, func(c *store.Connection) bool {
		return (len(strategies) > 0 && !slices.Contains(strategies, c.Strategy)) || (name != "" && c.Name != name)
	})
	return writeSlice(w, lq, "connections", all, func(c *store.Connection) any { return c })
}

func (h *handler) getConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.getConnectionByID(r)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, c)
}

func (h *handler) createConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b connectionBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	for _, req := range []struct {
		set  bool
		name string
	}{{b.Name.Set, "name"}, {b.Strategy.Set, "strategy"}} {
		if !req.set {
			return invalidBody("Missing required property: %s", req.name)
		}
	}
	if !validConnectionName(b.Name.V) {
		return invalidProp("name", "Name must be up to %d letters, digits and single dashes, starting and ending with a letter or digit", maxConnectionName)
	}
	if b.Strategy.V != strategyDatabase && b.Strategy.V != strategyAD {
		return invalidProp("strategy", "Strategy %s is not supported (use auth0 or ad)", b.Strategy.V)
	}
	c := &store.Connection{
		ID:             ids.Prefixed("con", 16),
		Name:           b.Name.V,
		Strategy:       b.Strategy.V,
		Options:        json.RawMessage(`{}`),
		Realms:         []string{b.Name.V},
		EnabledClients: []string{},
	}
	if err := applyConnection(c, &b); err != nil {
		return err
	}
	if err := h.cfg.Store.CreateConnection(r.Context(), c); err != nil {
		return conflictErr(err, "connection_conflict", "A connection with the same name already exists")
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (h *handler) updateConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b connectionBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	c, err := h.cfg.Store.UpdateConnection(r.Context(), r.PathValue("id"), func(c *store.Connection) error {
		// Auth0 tooling sends name/strategy back unchanged; only a change is refused.
		if b.Name.Set && b.Name.V != c.Name {
			return invalidProp("name", "The name of a connection cannot be changed")
		}
		if b.Strategy.Set && b.Strategy.V != c.Strategy {
			return invalidProp("strategy", "The strategy of a connection cannot be changed")
		}
		return applyConnection(c, &b)
	})
	if err != nil {
		return lookupErr(err, codeNoConnection, msgNoConnection)
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (h *handler) deleteConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.cfg.Store.DeleteConnection(r.Context(), r.PathValue("id")); err != nil {
		return lookupErr(err, codeNoConnection, msgNoConnection)
	}
	noContent(w)
	return nil
}

// applyConnection copies the present properties onto c. options is
// replaced wholesale; for databases it must be a valid password policy.
func applyConnection(c *store.Connection, b *connectionBody) error {
	setIf(&c.DisplayName, b.DisplayName)
	setIf(&c.IsDomainConnection, b.IsDomainConnection)
	if b.ShowAsButton.Set {
		c.ShowAsButton = &b.ShowAsButton.V
	}
	if o := b.Options; o.Set {
		c.Options = json.RawMessage(`{}`)
		if !o.Null {
			if jsonKind(o.V) != "object" {
				return invalidProp("options", "Expected type object but found type %s", jsonKind(o.V))
			}
			c.Options = o.V
		}
		if c.Strategy == strategyDatabase {
			if _, err := database.ParseOptions(c.Options); err != nil {
				return invalidProp("options", "%s", err.Error())
			}
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

// listConnectionClients answers {"clients":[{"client_id"}],"next"}, paged by
// from/take.
func (h *handler) listConnectionClients(w http.ResponseWriter, r *http.Request, p Principal) error {
	lq, err := parseListQuery(r.URL.Query(), true)
	if err != nil {
		return err
	}
	lq.checkpoint = true
	c, err := h.getConnectionByID(r)
	if err != nil {
		return err
	}
	type clientRef struct {
		ClientID string `json:"client_id"`
	}
	return writeSlice(w, lq, "clients", c.EnabledClients, func(id string) any { return clientRef{id} })
}

// updateConnectionClients enables (status true) or disables clients.
func (h *handler) updateConnectionClients(w http.ResponseWriter, r *http.Request, p Principal) error {
	var changes []struct {
		ClientID opt[string] `json:"client_id"`
		Status   opt[bool]   `json:"status"`
	}
	if err := decodeArray(r, &changes); err != nil {
		return err
	}
	if len(changes) > maxConnClientsPatch {
		return invalidBody("Array is too long (%d), maximum %d", len(changes), maxConnClientsPatch)
	}
	for i, ch := range changes {
		if !ch.ClientID.Set || ch.ClientID.V == "" || !ch.Status.Set {
			return invalidProp(fmt.Sprintf("[%d]", i), "Missing required property: client_id or status")
		}
	}
	_, err := h.cfg.Store.UpdateConnection(r.Context(), r.PathValue("id"), func(c *store.Connection) error {
		for _, ch := range changes {
			id := ch.ClientID.V
			c.EnabledClients = slices.DeleteFunc(c.EnabledClients, func(e string) bool { return e == id })
			if ch.Status.V {
				c.EnabledClients = append(c.EnabledClients, id)
			}
		}
		return nil
	})
	if err != nil {
		return lookupErr(err, codeNoConnection, msgNoConnection)
	}
	noContent(w)
	return nil
}

// deleteConnectionUser deletes the database user with ?email=.
func (h *handler) deleteConnectionUser(w http.ResponseWriter, r *http.Request, p Principal) error {
	email := r.URL.Query().Get("email")
	if email == "" {
		return invalidQuery("email", "Missing required property: email")
	}
	c, err := h.getConnectionByID(r)
	if err != nil {
		return err
	}
	u, err := h.cfg.Store.UserByIdentifier(r.Context(), c.ID, email)
	if err != nil {
		return lookupErr(err, codeNoUser, msgNoUser)
	}
	if err := h.cfg.Store.DeleteUser(r.Context(), u.UserID); err != nil {
		return lookupErr(err, codeNoUser, msgNoUser)
	}
	noContent(w)
	return nil
}
