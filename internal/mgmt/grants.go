package mgmt

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// clientGrantBody is the body of POST and PATCH /client-grants.
type clientGrantBody struct {
	ClientID             opt[string]      `json:"client_id"`
	Audience             opt[string]      `json:"audience"`
	Scope                opt[[]string]    `json:"scope"`
	OrganizationUsage    nullable[string] `json:"organization_usage"`
	AllowAnyOrganization nullable[bool]   `json:"allow_any_organization"`
	SubjectType          opt[string]      `json:"subject_type"`
}

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
	return writeSlice(w, lq, "client_grants", all, func(g *store.ClientGrant) any { return g })
}

func (h *handler) getClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	g, err := h.cfg.Store.GetClientGrant(r.Context(), r.PathValue("id"))
	if err != nil {
		return lookupErr(err, codeNoGrant, msgNoGrant)
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (h *handler) createClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b clientGrantBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	for _, req := range []struct {
		set  bool
		name string
	}{{b.ClientID.Set, "client_id"}, {b.Audience.Set, "audience"}, {b.Scope.Set, "scope"}} {
		if !req.set {
			return invalidBody("Missing required property: %s", req.name)
		}
	}
	ctx := r.Context()
	if _, err := h.cfg.Store.GetClient(ctx, b.ClientID.V); err != nil {
		return lookupErr(err, codeNoClient, msgNoClient)
	}
	if _, err := h.cfg.Store.ResourceServerByIdentifier(ctx, b.Audience.V); err != nil {
		return lookupErr(err, codeNoResourceServer, msgNoResourceServer)
	}
	g := &store.ClientGrant{ID: ids.Prefixed("cgr", 16), ClientID: b.ClientID.V, Audience: b.Audience.V}
	if err := applyClientGrant(g, &b); err != nil {
		return err
	}
	if err := h.cfg.Store.CreateClientGrant(ctx, g); err != nil {
		return conflictErr(err, "conflict", "A client grant for this client and audience already exists")
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (h *handler) updateClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b clientGrantBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	for _, name := range []string{"client_id", "audience", "subject_type"} {
		if slices.Contains(setProperties(&b), name) {
			return invalidBody("Additional properties not allowed: %s", name)
		}
	}
	g, err := h.cfg.Store.UpdateClientGrant(r.Context(), r.PathValue("id"), func(g *store.ClientGrant) error {
		return applyClientGrant(g, &b)
	})
	if err != nil {
		return lookupErr(err, codeNoGrant, msgNoGrant)
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (h *handler) deleteClientGrant(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.cfg.Store.DeleteClientGrant(r.Context(), r.PathValue("id")); err != nil {
		return lookupErr(err, codeNoGrant, msgNoGrant)
	}
	noContent(w)
	return nil
}

func applyClientGrant(g *store.ClientGrant, b *clientGrantBody) error {
	if b.Scope.Set {
		for _, s := range b.Scope.V {
			if s == "" || strings.ContainsAny(s, " \t\n") {
				return invalidProp("scope", "Invalid scope value %q", s)
			}
		}
		g.Scope = uniq(b.Scope.V)
	}
	if o := b.OrganizationUsage; o.Set {
		switch {
		case o.Null:
			g.OrganizationUsage = ""
		case o.V == "deny" || o.V == "allow" || o.V == "require":
			g.OrganizationUsage = o.V
		default:
			return invalidProp("organization_usage", "No enum match for: %s", o.V)
		}
	}
	if a := b.AllowAnyOrganization; a.Set {
		g.AllowAnyOrganization = nil
		if !a.Null {
			g.AllowAnyOrganization = &a.V
		}
	}
	if s := b.SubjectType; s.Set {
		if s.V != "client" && s.V != "user" {
			return invalidProp("subject_type", "No enum match for: %s", s.V)
		}
		g.SubjectType = s.V
	}
	return nil
}
