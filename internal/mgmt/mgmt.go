// Package mgmt serves the Auth0-compatible Management API v2 (/api/v2/...):
// clients and their credentials, client grants, resource servers,
// connections, users, signing keys, tenant settings, rules and rules
// configs, and the tenant's log (read-only). It translates:
// HTTP and JSON in (decoding into the tenant package's input types,
// refusing text the stores would treat differently), a call to the
// tenant's domain rules (tenant.Service), and its own response types out,
// converted from the store's records; errors in Auth0's shape. It also owns
// the scope check of every endpoint. Token verification is the caller's
// (Config.Authenticate).
package mgmt

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/directory/strategies"
	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/input"
	"github.com/gatehouse/gatehouse/internal/jobs"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// importRoute takes a users file, limited by Jobs.MaxUploadBytes.
const importRoute = "POST /api/v2/jobs/users-imports"

// maxBodyBytes is Auth0's request body limit.
const maxBodyBytes = 1 << 20

// Principal is the caller of a Management API request.
type Principal struct {
	Subject  string // "<client_id>@clients" for M2M tokens
	ClientID string
	Scopes   []string
}

// HasAny reports whether p holds at least one of scopes.
func (p Principal) HasAny(scopes ...string) bool {
	for _, s := range scopes {
		if slices.Contains(p.Scopes, s) {
			return true
		}
	}
	return false
}

// Config wires the handler to its collaborators.
type Config struct {
	Store store.Store
	// Issuer is the tenant's issuer with its trailing slash; the Management
	// API's own audience is Issuer+"api/v2/".
	Issuer string
	// Tenant applies the tenant's rules to every write (and to the reads
	// of single objects, for their not-found errors). Nil means the rules
	// over Store with the built-in strategies and no password hasher.
	Tenant *tenant.Service
	// Authenticate validates a bearer token minted for audience
	// Issuer+"api/v2/" and returns who called.
	Authenticate func(ctx context.Context, bearer string) (Principal, error)
	Now          func() time.Time
	Logger       *slog.Logger
	// Keys rotates and revokes the tenant's signing keys.
	Keys KeyRotator
	// Jobs runs users imports and exports (/api/v2/jobs).
	Jobs *jobs.Service
	// SendEnrollment mails an MFA enrolment link (selfservice.Handler's),
	// off the request; nil: links are not mailed.
	SendEnrollment func(ctx context.Context, to, link string)
	// SendVerification mails user a link that verifies their email
	// (selfservice.Handler's); nil: the endpoint answers 503.
	SendVerification func(ctx context.Context, user *store.User, clientID string) error
}

// KeyRotator is what the signing-key endpoints need of the key manager.
type KeyRotator interface {
	// RotateAlg makes alg's next key current and returns it.
	RotateAlg(ctx context.Context, alg jose.SignatureAlgorithm) (*store.SigningKey, error)
	// Revoke withdraws the previous key; any other is refused with
	// keys.ErrNotRevocable.
	Revoke(ctx context.Context, kid string) (*store.SigningKey, error)
}

type handler struct {
	cfg    Config
	tenant *tenant.Service
}

// route is one endpoint: its ServeMux pattern, the scopes of which any one
// admits a caller, and the method that serves it.
type route struct {
	pattern string
	scopes  []string
	serve   func(*handler, http.ResponseWriter, *http.Request, Principal) error
}

func routes() []route {
	return append([]route{
		{"GET /api/v2/clients", []string{"read:clients", "read:client_keys"}, (*handler).listClients},
		{"POST /api/v2/clients", []string{"create:clients"}, (*handler).createClient},
		{"GET /api/v2/clients/{id}", []string{"read:clients", "read:client_keys"}, (*handler).getClient},
		{"PATCH /api/v2/clients/{id}", []string{"update:clients", "update:client_keys"}, (*handler).updateClient},
		{"DELETE /api/v2/clients/{id}", []string{"delete:clients"}, (*handler).deleteClient},
		{"POST /api/v2/clients/{id}/rotate-secret", []string{"update:client_keys"}, (*handler).rotateSecret},
		{"GET /api/v2/clients/{id}/credentials", []string{"read:client_credentials"}, (*handler).listCredentials},
		{"POST /api/v2/clients/{id}/credentials", []string{"create:client_credentials"}, (*handler).createCredential},
		{"GET /api/v2/clients/{id}/credentials/{cred}", []string{"read:client_credentials"}, (*handler).getCredential},
		{"DELETE /api/v2/clients/{id}/credentials/{cred}", []string{"delete:client_credentials"}, (*handler).deleteCredential},

		{"GET /api/v2/client-grants", []string{"read:client_grants"}, (*handler).listClientGrants},
		{"POST /api/v2/client-grants", []string{"create:client_grants"}, (*handler).createClientGrant},
		{"GET /api/v2/client-grants/{id}", []string{"read:client_grants"}, (*handler).getClientGrant},
		{"PATCH /api/v2/client-grants/{id}", []string{"update:client_grants"}, (*handler).updateClientGrant},
		{"DELETE /api/v2/client-grants/{id}", []string{"delete:client_grants"}, (*handler).deleteClientGrant},

		{"GET /api/v2/resource-servers", []string{"read:resource_servers"}, (*handler).listResourceServers},
		{"POST /api/v2/resource-servers", []string{"create:resource_servers"}, (*handler).createResourceServer},
		{"GET /api/v2/resource-servers/{id}", []string{"read:resource_servers"}, (*handler).getResourceServer},
		{"PATCH /api/v2/resource-servers/{id}", []string{"update:resource_servers"}, (*handler).updateResourceServer},
		{"DELETE /api/v2/resource-servers/{id}", []string{"delete:resource_servers"}, (*handler).deleteResourceServer},

		{"GET /api/v2/connections", []string{"read:connections"}, (*handler).listConnections},
		{"POST /api/v2/connections", []string{"create:connections"}, (*handler).createConnection},
		{"GET /api/v2/connections/{id}", []string{"read:connections"}, (*handler).getConnection},
		{"PATCH /api/v2/connections/{id}", []string{"update:connections"}, (*handler).updateConnection},
		{"DELETE /api/v2/connections/{id}", []string{"delete:connections"}, (*handler).deleteConnection},
		{"GET /api/v2/connections/{id}/status", []string{"read:connections"}, (*handler).connectionStatus},
		{"GET /api/v2/connections/{id}/clients", []string{"read:connections"}, (*handler).listConnectionClients},
		{"PATCH /api/v2/connections/{id}/clients", []string{"update:connections"}, (*handler).updateConnectionClients},
		{"DELETE /api/v2/connections/{id}/users", []string{"delete:users"}, (*handler).deleteConnectionUser},

		{"GET /api/v2/users", []string{"read:users"}, (*handler).listUsers},
		{"GET /api/v2/users-by-email", []string{"read:users"}, (*handler).usersByEmail},
		{"POST /api/v2/users", []string{"create:users"}, (*handler).createUser},
		{"GET /api/v2/users/{id}", []string{"read:users"}, (*handler).getUser},
		{"PATCH /api/v2/users/{id}", []string{"update:users", "update:users_app_metadata"}, (*handler).updateUser},
		{"DELETE /api/v2/users/{id}", []string{"delete:users"}, (*handler).deleteUser},
		{"GET /api/v2/users/{id}/logs", []string{"read:logs", "read:logs_users"}, (*handler).userLogs},

		{"GET /api/v2/logs", []string{"read:logs", "read:logs_users"}, (*handler).listLogs},
		{"GET /api/v2/logs/{id}", []string{"read:logs", "read:logs_users"}, (*handler).getLog},

		{"POST /api/v2/jobs/users-imports", []string{"create:users"}, (*handler).importUsers},
		{"POST /api/v2/jobs/users-exports", []string{"read:users"}, (*handler).exportUsers},
		{"POST /api/v2/jobs/verification-email", []string{"update:users"}, (*handler).verificationEmail},
		{"GET /api/v2/jobs/{id}", []string{"create:users", "read:users"}, (*handler).getJob},
		{"GET /api/v2/jobs/{id}/errors", []string{"create:users", "read:users"}, (*handler).getJobErrors},

		{"GET /api/v2/keys/signing", []string{"read:signing_keys"}, (*handler).listSigningKeys},
		{"GET /api/v2/keys/signing/{kid}", []string{"read:signing_keys"}, (*handler).getSigningKey},
		{"POST /api/v2/keys/signing/rotate", []string{"create:signing_keys", "update:signing_keys"}, (*handler).rotateSigningKey},
		{"PUT /api/v2/keys/signing/{kid}/revoke", []string{"update:signing_keys"}, (*handler).revokeSigningKey},

		{"GET /api/v2/rules", []string{"read:rules"}, (*handler).listRules},
		{"POST /api/v2/rules", []string{"create:rules"}, (*handler).createRule},
		{"GET /api/v2/rules/{id}", []string{"read:rules"}, (*handler).getRule},
		{"PATCH /api/v2/rules/{id}", []string{"update:rules"}, (*handler).updateRule},
		{"DELETE /api/v2/rules/{id}", []string{"delete:rules"}, (*handler).deleteRule},
		{"GET /api/v2/rules-configs", []string{"read:rules_configs"}, (*handler).listRulesConfigs},
		{"PUT /api/v2/rules-configs/{key}", []string{"update:rules_configs"}, (*handler).setRulesConfig},
		{"DELETE /api/v2/rules-configs/{key}", []string{"delete:rules_configs"}, (*handler).deleteRulesConfig},

		{"GET /api/v2/actions/actions", []string{"read:actions"}, (*handler).listActions},
		{"POST /api/v2/actions/actions", []string{"create:actions"}, (*handler).createAction},
		{"GET /api/v2/actions/actions/{id}", []string{"read:actions"}, (*handler).getAction},
		{"PATCH /api/v2/actions/actions/{id}", []string{"update:actions"}, (*handler).updateAction},
		{"DELETE /api/v2/actions/actions/{id}", []string{"delete:actions"}, (*handler).deleteAction},
		{"POST /api/v2/actions/actions/{id}/deploy", []string{"create:actions"}, (*handler).deployAction},
		{"POST /api/v2/actions/actions/{id}/test", []string{"create:actions"}, (*handler).testAction},
		{"GET /api/v2/actions/actions/{id}/versions", []string{"read:actions"}, (*handler).listActionVersions},
		{"GET /api/v2/actions/actions/{id}/versions/{version}", []string{"read:actions"}, (*handler).getActionVersion},
		{"POST /api/v2/actions/actions/{id}/versions/{version}/deploy", []string{"create:actions"}, (*handler).deployActionVersion},
		{"GET /api/v2/actions/triggers", []string{"read:actions"}, (*handler).listActionTriggers},
		{"GET /api/v2/actions/triggers/{trigger}/bindings", []string{"read:actions"}, (*handler).listActionBindings},
		{"PATCH /api/v2/actions/triggers/{trigger}/bindings", []string{"update:actions"}, (*handler).updateActionBindings},

		{"GET /api/v2/tenants/settings", []string{"read:tenant_settings"}, (*handler).getTenantSettings},
		{"PATCH /api/v2/tenants/settings", []string{"update:tenant_settings"}, (*handler).updateTenantSettings},

		{"GET /api/v2/guardian/policies", []string{"read:mfa_policies"}, (*handler).getMFAPolicies},
		{"PUT /api/v2/guardian/policies", []string{"update:mfa_policies"}, (*handler).setMFAPolicies},
		{"GET /api/v2/guardian/factors", []string{"read:guardian_factors"}, (*handler).listMFAFactors},
		{"GET /api/v2/guardian/factors/phone/message-types", []string{"read:guardian_factors"}, (*handler).getPhoneMessageTypes},
		{"PUT /api/v2/guardian/factors/phone/message-types", []string{"update:guardian_factors"}, (*handler).setPhoneMessageTypes},
		{"PUT /api/v2/guardian/factors/{name}", []string{"update:guardian_factors"}, (*handler).setMFAFactor},

		{"POST /api/v2/tickets/password-change", []string{"create:user_tickets"}, (*handler).passwordChangeTicket},
		{"POST /api/v2/tickets/email-verification", []string{"create:user_tickets"}, (*handler).emailVerificationTicket},

		{"POST /api/v2/email-templates", []string{"create:email_templates"}, (*handler).createEmailTemplate},
		{"GET /api/v2/email-templates/{name}", []string{"read:email_templates"}, (*handler).getEmailTemplate},
		{"PATCH /api/v2/email-templates/{name}", []string{"update:email_templates"}, (*handler).updateEmailTemplate},
		{"PUT /api/v2/email-templates/{name}", []string{"update:email_templates"}, (*handler).putEmailTemplate},
		{"GET /api/v2/attack-protection/brute-force-protection", []string{"read:attack_protection"}, (*handler).getBruteForce},
		{"PATCH /api/v2/attack-protection/brute-force-protection", []string{"update:attack_protection"}, (*handler).updateBruteForce},
		{"GET /api/v2/attack-protection/suspicious-ip-throttling", []string{"read:attack_protection"}, (*handler).getSuspiciousIP},
		{"PATCH /api/v2/attack-protection/suspicious-ip-throttling", []string{"update:attack_protection"}, (*handler).updateSuspiciousIP},
		{"GET /api/v2/attack-protection/breached-password-detection", []string{"read:attack_protection"}, (*handler).getBreached},
		{"PATCH /api/v2/attack-protection/breached-password-detection", []string{"update:attack_protection"}, (*handler).updateBreached},
		{"GET /api/v2/user-blocks", []string{"read:users"}, (*handler).listUserBlocks},
		{"DELETE /api/v2/user-blocks", []string{"update:users"}, (*handler).deleteUserBlocks},
		{"GET /api/v2/user-blocks/{id}", []string{"read:users"}, (*handler).getUserBlocks},
		{"DELETE /api/v2/user-blocks/{id}", []string{"update:users"}, (*handler).deleteUserBlocksOf},
		{"GET /api/v2/anomaly/blocks/ips/{ip}", []string{"get:anomaly_block"}, (*handler).checkIPBlock},
		{"DELETE /api/v2/anomaly/blocks/ips/{ip}", []string{"delete:anomaly_block"}, (*handler).deleteIPBlock},
	}, append(userMFARoutes(), guardianPhoneRoutes()...)...)
}

// Scopes lists, sorted, every scope the API checks, for bootstrapping an
// all-powerful machine-to-machine client.
func Scopes() []string {
	var all []string
	for _, rt := range routes() {
		all = append(all, rt.scopes...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// Patterns lists the ServeMux pattern ("METHOD /api/v2/...") of every
// endpoint, for tests that reach each one.
func Patterns() []string {
	var all []string
	for _, rt := range routes() {
		all = append(all, rt.pattern)
	}
	return all
}

// New returns the handler of every path under /api/v2/.
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tenant == nil {
		cfg.Tenant = &tenant.Service{Store: cfg.Store, Strategies: strategies.New(strategies.Config{Users: cfg.Store}), Now: cfg.Now}
	}
	if cfg.Jobs == nil {
		cfg.Jobs = &jobs.Service{Store: cfg.Store, Tenant: cfg.Tenant, Now: cfg.Now, Logger: cfg.Logger}
	}
	h := &handler{cfg: cfg, tenant: cfg.Tenant}
	mux := http.NewServeMux()
	for _, rt := range routes() {
		mux.Handle(rt.pattern, h.endpoint(rt))
	}
	// Unknown paths and methods answer in the Management API's error shape.
	mux.HandleFunc("/api/v2/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{Status: http.StatusNotFound, Message: "Not Found"})
	})
	return mux
}

// endpoint authenticates the caller, checks the route's scopes, bounds the
// body and renders whatever error the route returns.
func (h *handler) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.authenticate(r)
		switch {
		case err != nil:
		case allScopesRequired[rt.pattern]:
			err = requireAllScopes(p, rt.scopes...)
		default:
			err = requireScope(p, rt.scopes...)
		}
		if err == nil {
			err = checkText(r, rt.pattern)
		}
		if err == nil && rt.pattern != importRoute { // which sets the upload's own limit and type
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
			err = checkBody(r)
		}
		if err == nil {
			// The changes this caller makes are logged under its client id.
			r = r.WithContext(events.WithActor(r.Context(), p.ClientID))
			err = rt.serve(h, w, r, p)
		}
		if err != nil {
			h.fail(w, r, rt, p, err)
		}
	})
}

// checkText refuses path segments and query parameters that are not valid
// text (invalid UTF-8, NUL): PostgreSQL would fail on them where SQLite
// answers, so both stores see only text the API has checked.
func checkText(r *http.Request, pattern string) error {
	for rest := pattern; ; {
		_, after, ok := strings.Cut(rest, "{")
		if !ok {
			break
		}
		name, tail, _ := strings.Cut(after, "}")
		rest = tail
		if input.Text(r.PathValue(name)) != nil {
			return invalidURI(name, "%s", input.ErrInvalidText)
		}
	}
	q := r.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if input.Text(k) != nil {
			return invalidQuery(printable(k), "%s", input.ErrInvalidText)
		}
		for _, v := range q[k] {
			if input.Text(v) != nil {
				return invalidQuery(k, "%s", input.ErrInvalidText)
			}
		}
	}
	return nil
}

func (h *handler) authenticate(r *http.Request) (Principal, error) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return Principal{}, &apiError{Status: http.StatusUnauthorized, Message: "Missing authentication"}
	}
	scheme, token, ok := strings.Cut(authz, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, &apiError{Status: http.StatusUnauthorized, Message: "Bad HTTP authentication header format"}
	}
	if h.cfg.Authenticate == nil {
		return Principal{}, &apiError{Status: http.StatusUnauthorized, Message: "Invalid token"}
	}
	p, err := h.cfg.Authenticate(r.Context(), token)
	if err != nil {
		h.cfg.Logger.InfoContext(r.Context(), "management API token rejected", "error", err)
		return Principal{}, &apiError{Status: http.StatusUnauthorized, Message: "Invalid token"}
	}
	return p, nil
}

// requireScope fails with Auth0's insufficient_scope error unless p holds
// one of scopes.
func requireScope(p Principal, scopes ...string) error {
	if p.HasAny(scopes...) {
		return nil
	}
	return &apiError{
		Status:  http.StatusForbidden,
		Code:    "insufficient_scope",
		Message: "Insufficient scope, expected any of: " + strings.Join(scopes, ","),
	}
}

// requireAllScopes is requireScope for the few endpoints that need every
// one of their scopes.
func requireAllScopes(p Principal, scopes ...string) error {
	for _, s := range scopes {
		if !p.HasAny(s) {
			return &apiError{
				Status:  http.StatusForbidden,
				Code:    "insufficient_scope",
				Message: "Insufficient scope, expected all of: " + strings.Join(scopes, ","),
			}
		}
	}
	return nil
}

// allScopesRequired names the routes whose scopes are all required.
var allScopesRequired = map[string]bool{"POST /api/v2/keys/signing/rotate": true}

// fail renders err. Errors that are not *apiError are bugs or store
// failures: they are logged and answered with a bare 500.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, rt route, p Principal, err error) {
	var ae *apiError
	var te *tenant.Error
	if errors.As(err, &te) {
		ae = domainError(te)
	}
	if ae != nil || errors.As(err, &ae) {
		if ae.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+h.cfg.Issuer+`api/v2/"`)
		}
		writeError(w, ae)
		return
	}
	h.cfg.Logger.ErrorContext(r.Context(), "management API request failed",
		"route", rt.pattern, "caller", p.Subject, "correlation_id", correlationID(r), "error", err)
	writeError(w, &apiError{Status: http.StatusInternalServerError, Message: "Internal error"})
}

// correlationID returns the caller's X-Correlation-ID (at most 64 chars).
func correlationID(r *http.Request) string {
	id := r.Header.Get("X-Correlation-ID")
	if len(id) > 64 {
		return ""
	}
	return id
}
