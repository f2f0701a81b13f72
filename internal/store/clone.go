package store

import (
	"encoding/json"
	"maps"
	"slices"
)

// Clone methods return deep copies: the copy shares no slice, map, pointer
// or raw JSON with the original, so a holder of a record (the configuration
// cache) can hand out copies that callers may change freely. nil stays nil
// and empty stays empty, as the two encode differently.

// Clone returns a deep copy of c.
func (c *Client) Clone() *Client {
	if c == nil {
		return nil
	}
	out := *c
	out.Callbacks = slices.Clone(c.Callbacks)
	out.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	out.WebOrigins = slices.Clone(c.WebOrigins)
	out.AllowedLogoutURLs = slices.Clone(c.AllowedLogoutURLs)
	out.ClientAliases = slices.Clone(c.ClientAliases)
	out.AllowedClients = slices.Clone(c.AllowedClients)
	out.GrantTypes = slices.Clone(c.GrantTypes)
	out.TokenEndpointAuthMethod = clonePtr(c.TokenEndpointAuthMethod)
	if m := c.ClientAuthenticationMethods; m != nil {
		cm := *m
		if m.PrivateKeyJWT != nil {
			pk := *m.PrivateKeyJWT
			pk.Credentials = slices.Clone(pk.Credentials)
			cm.PrivateKeyJWT = &pk
		}
		out.ClientAuthenticationMethods = &cm
	}
	if c.Credentials != nil {
		out.Credentials = make([]ClientCredential, len(c.Credentials))
		for i, cr := range c.Credentials {
			cr.ExpiresAt = clonePtr(cr.ExpiresAt)
			out.Credentials[i] = cr
		}
	}
	out.JWTConfiguration.Scopes = cloneRaw(c.JWTConfiguration.Scopes)
	out.ClientMetadata = maps.Clone(c.ClientMetadata)
	return &out
}

// Clone returns a deep copy of g.
func (g *ClientGrant) Clone() *ClientGrant {
	if g == nil {
		return nil
	}
	out := *g
	out.Scope = slices.Clone(g.Scope)
	out.AllowAnyOrganization = clonePtr(g.AllowAnyOrganization)
	return &out
}

// Clone returns a deep copy of rs.
func (rs *ResourceServer) Clone() *ResourceServer {
	if rs == nil {
		return nil
	}
	out := *rs
	out.Scopes = slices.Clone(rs.Scopes)
	out.SubjectTypeAuthorization = cloneRaw(rs.SubjectTypeAuthorization)
	return &out
}

// Clone returns a deep copy of c.
func (c *Connection) Clone() *Connection {
	if c == nil {
		return nil
	}
	out := *c
	out.Options = cloneRaw(c.Options)
	out.Realms = slices.Clone(c.Realms)
	out.EnabledClients = slices.Clone(c.EnabledClients)
	out.Metadata = maps.Clone(c.Metadata)
	out.ShowAsButton = clonePtr(c.ShowAsButton)
	return &out
}

// Clone returns a deep copy of t.
func (t *TenantSettings) Clone() *TenantSettings {
	if t == nil {
		return nil
	}
	out := *t
	out.Flags = maps.Clone(t.Flags)
	if t.Guardian != nil {
		g := *t.Guardian
		g.Policies = slices.Clone(g.Policies)
		g.Factors = maps.Clone(g.Factors)
		g.MessageTypes = slices.Clone(g.MessageTypes)
		if g.Phone != nil {
			p := *g.Phone
			p.Twilio = clonePtr(p.Twilio)
			if p.Twilio != nil {
				p.Twilio.SealedAuthToken = slices.Clone(p.Twilio.SealedAuthToken)
			}
			g.Phone = &p
		}
		out.Guardian = &g
	}
	out.AttackProtection = t.AttackProtection.Clone()
	if t.Other != nil {
		out.Other = make(map[string]json.RawMessage, len(t.Other))
		for k, v := range t.Other {
			out.Other[k] = cloneRaw(v)
		}
	}
	return &out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func cloneRaw(r json.RawMessage) json.RawMessage { return slices.Clone(r) }

// Clone returns a deep copy of a.
func (a *AttackProtection) Clone() *AttackProtection {
	if a == nil {
		return nil
	}
	out := &AttackProtection{}
	if b := a.BruteForce; b != nil {
		c := *b
		c.Shields, c.Allowlist = slices.Clone(b.Shields), slices.Clone(b.Allowlist)
		out.BruteForce = &c
	}
	if ip := a.SuspiciousIP; ip != nil {
		c := *ip
		c.Shields, c.Allowlist, c.Stages = slices.Clone(ip.Shields), slices.Clone(ip.Allowlist), maps.Clone(ip.Stages)
		out.SuspiciousIP = &c
	}
	if b := a.Breached; b != nil {
		c := *b
		c.Shields, c.AdminNotificationFrequency = slices.Clone(b.Shields), slices.Clone(b.AdminNotificationFrequency)
		if b.StageShields != nil {
			c.StageShields = make(map[string][]string, len(b.StageShields))
			for k, v := range b.StageShields {
				c.StageShields[k] = slices.Clone(v)
			}
		}
		out.Breached = &c
	}
	return out
}
