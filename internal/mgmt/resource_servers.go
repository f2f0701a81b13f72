package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/internal/ids"
	"github.com/gatehouse/gatehouse/internal/store"
)

// resourceServerBody is the body of POST and PATCH /resource-servers.
type resourceServerBody struct {
	Name                                      opt[string]               `json:"name"`
	Identifier                                opt[string]               `json:"identifier"`
	Scopes                                    opt[[]scopeBody]          `json:"scopes"`
	SigningAlg                                opt[string]               `json:"signing_alg"`
	SigningSecret                             opt[string]               `json:"signing_secret"`
	AllowOfflineAccess                        opt[bool]                 `json:"allow_offline_access"`
	TokenLifetime                             opt[int]                  `json:"token_lifetime"`
	TokenLifetimeForWeb                       opt[int]                  `json:"token_lifetime_for_web"`
	SkipConsentForVerifiableFirstPartyClients opt[bool]                 `json:"skip_consent_for_verifiable_first_party_clients"`
	EnforcePolicies                           opt[bool]                 `json:"enforce_policies"`
	TokenDialect                              opt[string]               `json:"token_dialect"`
	SubjectTypeAuthorization                  nullable[json.RawMessage] `json:"subject_type_authorization"`

	// Accepted for compatibility with Auth0 tooling; not acted on.
	ConsentPolicy        json.RawMessage `json:"consent_policy"`
	AuthorizationDetails json.RawMessage `json:"authorization_details"`
	TokenEncryption      json.RawMessage `json:"token_encryption"`
	ProofOfPossession    json.RawMessage `json:"proof_of_possession"`
	VerificationLocation json.RawMessage `json:"verificationLocation"`
}

type scopeBody struct {
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

// resourceServerView hides the HS256 secret of APIs that do not sign with
// it, so RS256 APIs look exactly like Auth0's.
func resourceServerView(rs *store.ResourceServer) any {
	out := *rs
	if out.SigningAlg != "HS256" {
		out.SigningSecret = ""
	}
	return &out
}

// findResourceServer resolves {id}: the API's id, or its URL-decoded identifier.
func (h *handler) findResourceServer(r *http.Request) (*store.ResourceServer, error) {
	id := r.PathValue("id")
	rs, err := h.cfg.Store.GetResourceServer(r.Context(), id)
	if err == nil {
		return rs, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	rs, err = h.cfg.Store.ResourceServerByIdentifier(r.Context(), id)
	if err != nil {
		return nil, lookupErr(err, codeNoResourceServer, msgNoResourceServer)
	}
	return rs, nil
}

func systemAPIError(action string) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: "operation_not_supported",
		Message: "The system resource server (Management API) cannot be " + action}
}

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
	return writeSlice(w, lq, "resource_servers", all, resourceServerView)
}

func (h *handler) getResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	rs, err := h.findResourceServer(r)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, resourceServerView(rs))
}

func (h *handler) createResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b resourceServerBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	if !b.Identifier.Set {
		return invalidBody("Missing required property: identifier")
	}
	if id := b.Identifier.V; id == "" || strings.ContainsAny(id, " \t\r\n") || utf8.RuneCountInString(id) > 600 {
		return invalidProp("identifier", "Identifier must be a non-empty string without spaces")
	}
	rs := &store.ResourceServer{
		ID:                       ids.Hex(12),
		Identifier:               b.Identifier.V,
		Scopes:                   []store.ResourceServerScope{},
		SigningAlg:               "RS256",
		SigningSecret:            ids.Alnum(signingSecretLength),
		TokenLifetime:            defaultAPITokenLifetime,
		TokenLifetimeForWeb:      defaultWebTokenLifetime,
		TokenDialect:             "access_token",
		SubjectTypeAuthorization: json.RawMessage(defaultSubjectTypeAuthz),
	}
	if err := applyResourceServer(rs, &b); err != nil {
		return err
	}
	if err := h.cfg.Store.CreateResourceServer(r.Context(), rs); err != nil {
		return conflictErr(err, "resource_server_conflict", "A resource server with the same identifier already exists")
	}
	writeJSON(w, http.StatusCreated, resourceServerView(rs))
	return nil
}

func (h *handler) updateResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	var b resourceServerBody
	if err := decodeObject(r, &b); err != nil {
		return err
	}
	cur, err := h.findResourceServer(r)
	if err != nil {
		return err
	}
	if b.Identifier.Set && b.Identifier.V != cur.Identifier {
		return invalidProp("identifier", "The identifier of a resource server cannot be changed")
	}
	rs, err := h.cfg.Store.UpdateResourceServer(r.Context(), cur.ID, func(rs *store.ResourceServer) error {
		if rs.IsSystem {
			return systemAPIError("modified")
		}
		return applyResourceServer(rs, &b)
	})
	if err != nil {
		return lookupErr(err, codeNoResourceServer, msgNoResourceServer)
	}
	writeJSON(w, http.StatusOK, resourceServerView(rs))
	return nil
}

func (h *handler) deleteResourceServer(w http.ResponseWriter, r *http.Request, p Principal) error {
	rs, err := h.findResourceServer(r)
	if err != nil {
		return err
	}
	if rs.IsSystem {
		return systemAPIError("deleted")
	}
	if err := h.cfg.Store.DeleteResourceServer(r.Context(), rs.ID); err != nil {
		return lookupErr(err, codeNoResourceServer, msgNoResourceServer)
	}
	// Grants for a deleted audience would otherwise linger in listings.
	if err := h.deleteGrants(r.Context(), "", rs.Identifier); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// applyResourceServer copies the present properties onto rs and validates
// the result. token_lifetime_for_web follows a lowered token_lifetime when
// it is not given itself.
func applyResourceServer(rs *store.ResourceServer, b *resourceServerBody) error {
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
			if jsonKind(s.V) != "object" {
				return invalidProp("subject_type_authorization", "Expected type object but found type %s", jsonKind(s.V))
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
