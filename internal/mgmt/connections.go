package mgmt

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

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
	return writeSlice(w, lq, "connections", all, func(c *store.Connection) any { return connectionView(c) })
}

func (h *handler) getConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.tenant.GetConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, connectionView(c))
}

// connectionStatus answers as Auth0 does: 200 when the connection's
// directory answers, 404 with the reason when it does not (a database
// connection is always online).
func (h *handler) connectionStatus(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.tenant.ConnectionStatus(r.Context(), r.PathValue("id"))
	switch {
	case c == nil:
		return err
	case errors.Is(err, directory.ErrUnavailable):
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "connection status: directory unavailable",
			slog.String("connection", c.Name), slog.String("error", err.Error()))
		return &apiError{Status: http.StatusNotFound, Code: "connection_offline",
			Message: fmt.Sprintf("The connection %s is offline: its directory cannot be reached.", c.Name)}
	case err != nil:
		return fmt.Errorf("connection %s status: %w", c.ID, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{})
	return nil
}

func (h *handler) createConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ConnectionInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	c, err := h.tenant.CreateConnection(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, connectionView(c))
	return nil
}

func (h *handler) updateConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ConnectionInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	c, err := h.tenant.UpdateConnection(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectionView(c))
	return nil
}

func (h *handler) deleteConnection(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteConnection(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
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
	c, err := h.tenant.GetConnection(r.Context(), r.PathValue("id"))
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
	var changes []tenant.ClientStatus
	if err := decodeArray(r, &changes); err != nil {
		return err
	}
	if err := h.tenant.SetConnectionClients(r.Context(), r.PathValue("id"), changes); err != nil {
		return err
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
	if err := h.tenant.DeleteConnectionUser(r.Context(), r.PathValue("id"), email); err != nil {
		return err
	}
	noContent(w)
	return nil
}
