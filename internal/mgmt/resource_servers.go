package mgmt

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

func (h *handler) listResourceServers(w http.ResponseWriter, r *http.Request, p Principal) error {
	lq, err := parseListQuery(r.URL.Query(), true)
	if err != nil {
		return err
	}
	all, err := listAll(func(pg store.Page) ([]*store.ResourceServer, int, error) {
		return h.cfg.Store.ListResourceServers(r.Context(), pg)
	})
	if err != nil {
		return fmt.Errorf("list resource servers: %w", err)
	}
	return writeSlice(w, lq, "resource_servers", all, func(rs *store.ResourceServer) any { return resourceServerView(rs) })
}

// {id} is the API's id or its URL-encoded identifier.

func (h *handler) getResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	rs, err := h.tenant.FindResourceServer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, resourceServerView(rs))
}

func (h *handler) createResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ResourceServerInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	rs, err := h.tenant.CreateResourceServer(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, resourceServerView(rs))
	return nil
}

func (h *handler) updateResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ResourceServerInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	rs, err := h.tenant.UpdateResourceServer(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resourceServerView(rs))
	return nil
}

func (h *handler) deleteResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteResourceServer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
