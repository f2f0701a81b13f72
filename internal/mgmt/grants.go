package mgmt

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

func (h *handler) listClientGrants(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, true)
	if err != nil {
		return err
	}
	all, err := listAll(func(pg store.Page) ([]*store.ClientGrant, int, error) {
		return h.cfg.Store.ListClientGrants(r.Context(), q.Get("client_id"), q.Get("audience"), pg)
	})
	if err != nil {
		return fmt.Errorf("list client grants: %w", err)
	}
	return writeSlice(w, lq, "client_grants", all, func(g *store.ClientGrant) any { return clientGrantView(g) })
}

func (h *handler) getClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	g, err := h.tenant.GetClientGrant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientGrantView(g))
	return nil
}

func (h *handler) createClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ClientGrantInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	g, err := h.tenant.CreateClientGrant(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, clientGrantView(g))
	return nil
}

func (h *handler) updateClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ClientGrantInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	g, err := h.tenant.UpdateClientGrant(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientGrantView(g))
	return nil
}

func (h *handler) deleteClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteClientGrant(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
