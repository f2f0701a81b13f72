package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ResourceServerInput is an API to create, or the changes to one (Auth0's
// resource server shape, as POST and PATCH /resource-servers take it).
type ResourceServerInput struct {
	Name                                      Opt[string]               `json:"name"`
	Identifier                                Opt[string]               `json:"identifier"`
	Scopes                                    Opt[[]ScopeInput]         `json:"scopes"`
	SigningAlg                                Opt[string]               `json:"signing_alg"`
	SigningSecret                             Opt[string]               `json:"signing_secret"`
	AllowOfflineAccess                        Opt[bool]                 `json:"allow_offline_access"`
	TokenLifetime                             Opt[int]                  `json:"token_lifetime"`
	TokenLifetimeForWeb                       Opt[int]                  `json:"token_lifetime_for_web"`
	SkipConsentForVerifiableFirstPartyClients Opt[bool]                 `json:"skip_consent_for_verifiable_first_party_clients"`
	EnforcePolicies                           Opt[bool]                 `json:"enforce_policies"`
	TokenDialect                              Opt[string]               `json:"token_dialect"`
	SubjectTypeAuthorization                  Nullable[json.RawMessage] `json:"subject_type_authorization"`

	// Accepted for compatibility with Auth0 tooling; not acted on.
	ConsentPolicy        json.RawMessage `json:"consent_policy"`
	AuthorizationDetails json.RawMessage `json:"authorization_details"`
	TokenEncryption      json.RawMessage `json:"token_encryption"`
	ProofOfPossession    json.RawMessage `json:"proof_of_possession"`
	VerificationLocation json.RawMessage `json:"verificationLocation"`
}

type ScopeInput struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// Resource server defaults and limits (Auth0's).
const (
	defaultAPITokenLifetime = 86400
	defaultWebTokenLifetime = 7200
	maxAPITokenLifetime     = 2592000
	signingSecretLength     = 32
	minSigningSecret        = 16
	defaultSubjectTypeAuthz = `{"client":{"policy":"require_client_grant"},"user":{"policy":"allow_all"}}`
)

// newResourceServer is what Auth0 gives an API-created API before the
// request's properties apply.
func newResourceServer(identifier string) *store.ResourceServer {
	return &store.ResourceServer{
		ID:                       ids.Hex(12),
		Identifier:               identifier,
		Scopes:                   []store.ResourceServerScope{},
		SigningAlg:               "RS256",
		SigningSecret:            ids.Alnum(signingSecretLength),
		TokenLifetime:            defaultAPITokenLifetime,
		TokenLifetimeForWeb:      defaultWebTokenLifetime,
		TokenDialect:             "access_token",
		SubjectTypeAuthorization: json.RawMessage(defaultSubjectTypeAuthz),
	}
}

// FindResourceServer resolves an API by its id or, failing that, its
// identifier (the Management API accepts either in the path).
func (s *Service) FindResourceServer(ctx context.Context, idOrIdentifier string) (*store.ResourceServer, error) {
	rs, err := s.Store.GetResourceServer(ctx, idOrIdentifier)
	if err == nil {
		return rs, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	rs, err = s.Store.ResourceServerByIdentifier(ctx, idOrIdentifier)
	return rs, notFound(err, errNoResourceServer)
}

func systemAPIError(action string) *Error {
	return &Error{Kind: Forbidden, Code: "operation_not_supported",
		Message: "The system resource server (Management API) cannot be " + action}
}

// CreateResourceServer creates an API; "identifier" is required.
func (s *Service) CreateResourceServer(ctx context.Context, in *ResourceServerInput) (_ *store.ResourceServer, err error) {
	defer s.audit(ctx, "Create a resource server", &err)
	if !in.Identifier.Set {
		return nil, invalidBody("Missing required property: identifier")
	}
	if id := in.Identifier.V; id == "" || strings.ContainsAny(id, " \t\r\n") || utf8.RuneCountInString(id) > 600 {
		return nil, invalidProp("identifier", "Identifier must be a non-empty string without spaces")
	}
	rs := newResourceServer(in.Identifier.V)
	if err := applyResourceServer(rs, in); err != nil {
		return nil, err
	}
	if err := s.Store.CreateResourceServer(ctx, rs); err != nil {
		return nil, conflict(err, "resource_server_conflict", "A resource server with the same identifier already exists")
	}
	return rs, nil
}

// UpdateResourceServer applies the properties present in in. The
// identifier cannot change, and the system API cannot be modified.
func (s *Service) UpdateResourceServer(ctx context.Context, idOrIdentifier string, in *ResourceServerInput) (_ *store.ResourceServer, err error) {
	defer s.audit(ctx, "Update a resource server", &err)
	cur, err := s.FindResourceServer(ctx, idOrIdentifier)
	if err != nil {
		return nil, err
	}
	if in.Identifier.Set && in.Identifier.V != cur.Identifier {
		return nil, invalidProp("identifier", "The identifier of a resource server cannot be changed")
	}
	rs, err := s.Store.UpdateResourceServer(ctx, cur.ID, func(rs *store.ResourceServer) error {
		if rs.IsSystem {
			return systemAPIError("modified")
		}
		return applyResourceServer(rs, in)
	})
	return rs, notFound(err, errNoResourceServer)
}

// DeleteResourceServer deletes an API and, as Auth0 does, the client
// grants for its audience, which would otherwise come back to life with an
// API of the same identifier. The grants go first: a failure half-way
// leaves an API without grants, never grants without their API.
func (s *Service) DeleteResourceServer(ctx context.Context, idOrIdentifier string) (err error) {
	defer s.audit(ctx, "Delete a resource server", &err)
	rs, err := s.FindResourceServer(ctx, idOrIdentifier)
	if err != nil {
		return err
	}
	if rs.IsSystem {
		return systemAPIError("deleted")
	}
	if err := s.deleteGrantsFor(ctx, rs.Identifier); err != nil {
		return err
	}
	return notFound(s.Store.DeleteResourceServer(ctx, rs.ID), errNoResourceServer)
}

// EnsureSystemAPI makes identifier the system API (the Management API)
// with exactly scopes, creating it with name when it does not exist.
func (s *Service) EnsureSystemAPI(ctx context.Context, identifier, name string, scopes []string) error {
	list := make([]store.ResourceServerScope, 0, len(scopes))
	for _, v := range scopes {
		list = append(list, store.ResourceServerScope{Value: v})
	}
	rs, err := s.Store.ResourceServerByIdentifier(ctx, identifier)
	if errors.Is(err, store.ErrNotFound) {
		rs = newResourceServer(identifier)
		rs.Name, rs.IsSystem, rs.Scopes = name, true, list
		if err := validateResourceServer(rs); err != nil {
			return err
		}
		err = s.Store.CreateResourceServer(ctx, rs)
		if errors.Is(err, store.ErrConflict) { // another node made it first
			return nil
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("find system API: %w", err)
	}
	_, err = s.Store.UpdateResourceServer(ctx, rs.ID, func(rs *store.ResourceServer) error {
		rs.Scopes, rs.IsSystem = list, true
		return nil
	})
	return err
}

// applyResourceServer copies the present properties onto rs and validates
// the result. token_lifetime_for_web follows a lowered token_lifetime when
// it is not given itself.
func applyResourceServer(rs *store.ResourceServer, b *ResourceServerInput) error {
	setIf(&rs.Name, b.Name)
	setIf(&rs.SigningAlg, b.SigningAlg)
	setIf(&rs.SigningSecret, b.SigningSecret)
	setIf(&rs.AllowOfflineAccess, b.AllowOfflineAccess)
	setIf(&rs.TokenLifetime, b.TokenLifetime)
	setIf(&rs.TokenLifetimeForWeb, b.TokenLifetimeForWeb)
	setIf(&rs.SkipConsentForVerifiableFirstPartyClients, b.SkipConsentForVerifiableFirstPartyClients)
	setIf(&rs.EnforcePolicies, b.EnforcePolicies)
	setIf(&rs.TokenDialect, b.TokenDialect)
	if b.TokenLifetime.Set && !b.TokenLifetimeForWeb.Set {
		rs.TokenLifetimeForWeb = min(rs.TokenLifetimeForWeb, rs.TokenLifetime)
	}
	if s := b.SubjectTypeAuthorization; s.Set {
		rs.SubjectTypeAuthorization = json.RawMessage(defaultSubjectTypeAuthz)
		if !s.Null {
			if JSONKind(s.V) != "object" {
				return invalidProp("subject_type_authorization", "Expected type object but found type %s", JSONKind(s.V))
			}
			rs.SubjectTypeAuthorization = s.V
		}
	}
	if b.Scopes.Set {
		rs.Scopes = make([]store.ResourceServerScope, 0, len(b.Scopes.V))
		seen := map[string]bool{}
		for _, s := range b.Scopes.V {
			if s.Value == "" || strings.ContainsAny(s.Value, " \t\r\n") || utf8.RuneCountInString(s.Value) > 280 {
				return invalidProp("scopes", "Invalid scope value %q", s.Value)
			}
			if seen[s.Value] {
				return invalidProp("scopes", "Duplicate scope value %q", s.Value)
			}
			seen[s.Value] = true
			rs.Scopes = append(rs.Scopes, store.ResourceServerScope{Value: s.Value, Description: s.Description})
		}
	}
	return validateResourceServer(rs)
}

func validateResourceServer(rs *store.ResourceServer) error {
	switch {
	case strings.ContainsAny(rs.Name, "<>"):
		return invalidProp("name", "String must not contain < or >")
	case rs.SigningAlg != "RS256" && rs.SigningAlg != "HS256" && rs.SigningAlg != "PS256" && rs.SigningAlg != "ES256":
		return invalidProp("signing_alg", "No enum match for: %s", rs.SigningAlg)
	case utf8.RuneCountInString(rs.SigningSecret) < minSigningSecret:
		return invalidProp("signing_secret", "String is too short, minimum %d", minSigningSecret)
	case rs.TokenLifetime < 1 || rs.TokenLifetime > maxAPITokenLifetime:
		return invalidProp("token_lifetime", "Value must be between 1 and %d", maxAPITokenLifetime)
	case rs.TokenLifetimeForWeb < 1 || rs.TokenLifetimeForWeb > rs.TokenLifetime:
		return invalidProp("token_lifetime_for_web", "Value must be between 1 and token_lifetime")
	}
	switch rs.TokenDialect {
	case "access_token", "access_token_authz", "rfc9068_profile", "rfc9068_profile_authz":
	default:
		return invalidProp("token_dialect", "No enum match for: %s", rs.TokenDialect)
	}
	return nil
}
