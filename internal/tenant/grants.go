package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ClientGrantInput is a client grant to create, or the changes to one (as
// POST and PATCH /client-grants take it).
type ClientGrantInput struct {
	ClientID             Opt[string]      `json:"client_id"`
	Audience             Opt[string]      `json:"audience"`
	Scope                Opt[[]string]    `json:"scope"`
	OrganizationUsage    Nullable[string] `json:"organization_usage"`
	AllowAnyOrganization Nullable[bool]   `json:"allow_any_organization"`
	SubjectType          Opt[string]      `json:"subject_type"`
}

// GetClientGrant returns a client grant.
func (s *Service) GetClientGrant(ctx context.Context, id string) (*store.ClientGrant, error) {
	g, err := s.Store.GetClientGrant(ctx, id)
	return g, notFound(err, errNoGrant)
}

// CreateClientGrant lets an existing client use client_credentials for an
// existing API; client_id, audience and scope are required.
func (s *Service) CreateClientGrant(ctx context.Context, in *ClientGrantInput) (_ *store.ClientGrant, err error) {
	defer s.audit(ctx, "Create a client grant", &err)
	for _, req := range []struct {
		set  bool
		name string
	}{{in.ClientID.Set, "client_id"}, {in.Audience.Set, "audience"}, {in.Scope.Set, "scope"}} {
		if !req.set {
			return nil, invalidBody("Missing required property: %s", req.name)
		}
	}
	if _, err := s.GetClient(ctx, in.ClientID.V); err != nil {
		return nil, err
	}
	if _, err := s.Store.ResourceServerByIdentifier(ctx, in.Audience.V); err != nil {
		return nil, notFound(err, errNoResourceServer)
	}
	g := &store.ClientGrant{ID: ids.Prefixed("cgr", 16), ClientID: in.ClientID.V, Audience: in.Audience.V}
	if err := applyClientGrant(g, in); err != nil {
		return nil, err
	}
	if err := s.Store.CreateClientGrant(ctx, g); err != nil {
		return nil, conflict(err, "conflict", "A client grant for this client and audience already exists")
	}
	return g, nil
}

// UpdateClientGrant changes a grant's scope and organization settings; its
// client, audience and subject type are fixed.
func (s *Service) UpdateClientGrant(ctx context.Context, id string, in *ClientGrantInput) (_ *store.ClientGrant, err error) {
	defer s.audit(ctx, "Update a client grant", &err)
	for _, name := range []string{"client_id", "audience", "subject_type"} {
		if slices.Contains(SetProperties(in), name) {
			return nil, invalidBody("Additional properties not allowed: %s", name)
		}
	}
	g, err := s.Store.UpdateClientGrant(ctx, id, func(g *store.ClientGrant) error {
		return applyClientGrant(g, in)
	})
	return g, notFound(err, errNoGrant)
}

// DeleteClientGrant deletes a grant.
func (s *Service) DeleteClientGrant(ctx context.Context, id string) (err error) {
	defer s.audit(ctx, "Delete a client grant", &err)
	return notFound(s.Store.DeleteClientGrant(ctx, id), errNoGrant)
}

// EnsureClientGrant gives clientID a grant for audience with exactly scope,
// creating or updating it.
func (s *Service) EnsureClientGrant(ctx context.Context, clientID, audience string, scope []string) error {
	in := &ClientGrantInput{Scope: Some(scope)}
	g, err := s.Store.FindClientGrant(ctx, clientID, audience)
	if errors.Is(err, store.ErrNotFound) {
		in.ClientID, in.Audience = Some(clientID), Some(audience)
		_, err = s.CreateClientGrant(ctx, in)
		var e *Error
		if errors.As(err, &e) && e.Kind == Conflict { // another node made it first
			return nil
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("find client grant: %w", err)
	}
	_, err = s.UpdateClientGrant(ctx, g.ID, in)
	return err
}

// deleteGrantsFor deletes every client grant for audience.
func (s *Service) deleteGrantsFor(ctx context.Context, audience string) error {
	for {
		grants, _, err := s.Store.ListClientGrants(ctx, "", audience, store.Page{PerPage: 100})
		if err != nil {
			return fmt.Errorf("list client grants: %w", err)
		}
		if len(grants) == 0 {
			return nil
		}
		for _, g := range grants {
			if err := s.Store.DeleteClientGrant(ctx, g.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("delete client grant %s: %w", g.ID, err)
			}
		}
	}
}

func applyClientGrant(g *store.ClientGrant, b *ClientGrantInput) error {
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
