package mgmt

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

func (h *handler) listClients(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, true)
	if err != nil {
		return err
	}
	match, err := clientFilter(q)
	if err != nil {
		return err
	}
	all, err := listAll(func(pg store.Page) ([]*store.Client, int, error) {
		return h.cfg.Store.ListClients(r.Context(), pg)
	})
	if err != nil {
		return fmt.Errorf("list clients: %w", err)
	}
	all = slices.DeleteFunc(all, func(c *store.Client) bool { return !match(c) })
	show := p.HasAny("read:client_keys")
	return writeSlice(w, lq, "clients", all, func(c *store.Client) any { return clientView(c, show) })
}

// clientFilter reads the is_global, is_first_party and app_type filters.
func clientFilter(q url.Values) (func(*store.Client) bool, error) {
	var tests []func(*store.Client) bool
	for _, f := range []struct {
		name string
		get  func(*store.Client) bool
	}{
		{"is_global", func(c *store.Client) bool { return c.Global }},
		{"is_first_party", func(c *store.Client) bool { return c.IsFirstParty }},
	} {
		if len(q[f.name]) == 0 {
			continue
		}
		want, err := boolParam(q, f.name, false)
		if err != nil {
			return nil, err
		}
		get := f.get
		tests = append(tests, func(c *store.Client) bool { return get(c) == want })
	}
	if v := strings.Join(q["app_type"], ","); v != "" {
		types := strings.Split(v, ",")
		tests = append(tests, func(c *store.Client) bool { return slices.Contains(types, c.AppType) })
	}
	return func(c *store.Client) bool {
		for _, t := range tests {
			if !t(c) {
				return false
			}
		}
		return true
	}, nil
}

func (h *handler) getClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.tenant.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, clientView(c, p.HasAny("read:client_keys")))
}

func (h *handler) createClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ClientInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	c, err := h.tenant.CreateClient(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, clientView(c, true))
	return nil
}

func (h *handler) updateClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ClientInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	// client_secret needs update:client_keys; every other property update:clients.
	if in.ClientSecret.Set {
		if err := requireScope(p, "update:client_keys"); err != nil {
			return err
		}
	}
	if others := slices.DeleteFunc(tenant.SetProperties(&in), func(s string) bool { return s == "client_secret" }); len(others) > 0 {
		if err := requireScope(p, "update:clients"); err != nil {
			return err
		}
	}
	c, err := h.tenant.UpdateClient(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientView(c, p.HasAny("read:client_keys", "update:client_keys")))
	return nil
}

func (h *handler) deleteClient(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteClient(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *handler) rotateSecret(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.tenant.RotateClientSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clientView(c, true))
	return nil
}
