package conformance

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Fixtures set every field, json:"-" ones and secrets included, so a round
// trip that drops or mangles one is caught. Times are UTC with nanoseconds.

// at returns a fixed instant plus sec seconds.
func at(sec int) time.Time {
	return time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC).Add(time.Duration(sec) * time.Second)
}

func ptr[T any](v T) *T { return &v }

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newClient(id string) *store.Client {
	return &store.Client{
		ClientID:          id,
		ClientSecret:      "secret-of-" + id,
		Tenant:            "acme",
		Name:              "App " + id,
		Description:       "an <app> & more",
		LogoURI:           "https://app.test/logo.png",
		AppType:           "regular_web",
		Global:            true,
		IsFirstParty:      true,
		OIDCConformant:    true,
		Callbacks:         []string{"https://app.test/callback"},
		AllowedOrigins:    []string{"https://app.test"},
		WebOrigins:        []string{"https://web.app.test"},
		AllowedLogoutURLs: []string{"https://app.test/bye"},
		ClientAliases:     []string{"alias"},
		AllowedClients:    []string{"other-client"},
		GrantTypes:        []string{"authorization_code", "refresh_token", "client_credentials"},

		TokenEndpointAuthMethod: ptr("client_secret_basic"),
		ClientAuthenticationMethods: &store.ClientAuthenticationMethods{
			PrivateKeyJWT: &store.PrivateKeyJWTMethod{Credentials: []store.CredentialRef{{ID: "cred_1"}}},
		},
		Credentials: []store.ClientCredential{{
			ID:             "cred_1",
			Name:           "laptop",
			CredentialType: "public_key",
			KID:            "kid-1",
			Alg:            "RS256",
			PEM:            "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
			CreatedAt:      at(1),
			UpdatedAt:      at(2),
			ExpiresAt:      ptr(at(3)),
		}},
		IsTokenEndpointIPHeaderTrusted: true,
		JWTConfiguration: store.JWTConfiguration{
			Alg:               "RS256",
			LifetimeInSeconds: 36000,
			SecretEncoded:     true,
			Scopes:            json.RawMessage(`{"users":{"actions":["read"]}}`),
		},
		RefreshToken:                store.DefaultRefreshTokenSettings(),
		ClientMetadata:              map[string]string{"team": "<core> & co"},
		SSODisabled:                 true,
		CrossOriginAuthentication:   true,
		CustomLoginPageOn:           true,
		OrganizationUsage:           "deny",
		OrganizationRequireBehavior: "no_prompt",
		CreatedAt:                   at(0),
	}
}

func newGrant(id, clientID, audience string) *store.ClientGrant {
	return &store.ClientGrant{
		ID:                   id,
		ClientID:             clientID,
		Audience:             audience,
		Scope:                []string{"read:things", "write:things"},
		OrganizationUsage:    "allow",
		AllowAnyOrganization: ptr(true),
		SubjectType:          "client",
	}
}

func newResourceServer(id, identifier string) *store.ResourceServer {
	return &store.ResourceServer{
		ID:         id,
		Name:       "API " + id,
		Identifier: identifier,
		IsSystem:   true,
		Scopes: []store.ResourceServerScope{
			{Value: "read:things", Description: "Read things"},
			{Value: "write:things"},
		},
		SigningAlg:    "HS256",
		SigningSecret: "signing-secret-of-" + id,

		AllowOfflineAccess:                        true,
		TokenLifetime:                             86400,
		TokenLifetimeForWeb:                       7200,
		SkipConsentForVerifiableFirstPartyClients: true,
		EnforcePolicies:                           true,
		TokenDialect:                              "access_token_authz",
		SubjectTypeAuthorization:                  json.RawMessage(`{"user":{"policy":"allow_all"}}`),
	}
}

func newConnection(id, name, strategy string) *store.Connection {
	return &store.Connection{
		ID:                 id,
		Name:               name,
		DisplayName:        "Connection " + name,
		Strategy:           strategy,
		Options:            json.RawMessage(`{"passwordPolicy":"good","brute_force_protection":true,"html":"<b>&</b>"}`),
		Realms:             []string{name},
		EnabledClients:     []string{"client-a", "client-b"},
		IsDomainConnection: true,
		Metadata:           map[string]string{"owner": "it"},
		ShowAsButton:       ptr(true),
	}
}

// newUser returns a user of connection (connID, connName); an empty email
// or username is left empty.
func newUser(id, connID, connName, email, username string) *store.User {
	return &store.User{
		UserID:       id,
		ConnectionID: connID,
		Connection:   connName,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",

		Email:         email,
		EmailVerified: true,
		Username:      username,
		PhoneNumber:   "+15550100",
		PhoneVerified: true,

		Name:       "Ada Lovelace",
		Nickname:   "ada",
		GivenName:  "Ada",
		FamilyName: "Lovelace",
		Picture:    "https://pics.test/ada.png",

		Blocked: true,
		AppMetadata: map[string]any{
			"plan":   "gold",
			"seats":  float64(3),
			"nested": map[string]any{"list": []any{"a", true, nil}},
		},
		UserMetadata: map[string]any{"lang": "fr"},
		Identities: []store.Identity{{
			Connection: connName,
			UserID:     strings.TrimPrefix(id, "auth0|"),
			Provider:   "auth0",
		}},

		CreatedAt:         at(1),
		UpdatedAt:         at(2),
		LastLogin:         ptr(at(3)),
		LastIP:            "192.0.2.1",
		LoginsCount:       7,
		LastPasswordReset: ptr(at(4)),
	}
}

func newFamily(id, userID, clientID, audience string) *store.RefreshFamily {
	return &store.RefreshFamily{
		ID:              id,
		ClientID:        clientID,
		UserID:          userID,
		Audience:        audience,
		Scope:           []string{"openid", "offline_access"},
		Rotating:        true,
		Current:         [][]byte{hash(id + "-current-1"), hash(id + "-current-2")},
		Previous:        hash(id + "-previous"),
		PreviousUsedAt:  at(5),
		Spent:           []store.SpentToken{{Hash: hash(id + "-spent"), At: at(4)}},
		CreatedAt:       at(1),
		ExpiresAt:       at(500),
		IdleExpiresAt:   at(400),
		LastExchangedAt: at(5),
		InitialIP:       "192.0.2.1",
		LastIP:          "192.0.2.2",
		UserAgent:       "curl/8",
		ConnectorData:   []byte(`{"refresh_token":"upstream-` + id + `"}`),
	}
}

func newKey(kid string) *store.SigningKey {
	der := make([]byte, 96)
	rand.Read(der)
	return &store.SigningKey{
		KID:           kid,
		Alg:           "RS256",
		PrivateKeyDER: der,
		CertPEM:       "-----BEGIN CERTIFICATE-----\nMIIB" + kid + "\n-----END CERTIFICATE-----\n",
		Current:       true,
		Next:          true,
		Previous:      true,
		Revoked:       true,
		CreatedAt:     at(1),
		CurrentSince:  ptr(at(2)),
		CurrentUntil:  ptr(at(3)),
		RevokedAt:     ptr(at(4)),
	}
}

func newTenant() *store.TenantSettings {
	return &store.TenantSettings{
		DefaultDirectory: "Username-Password-Authentication",
		DefaultAudience:  "https://api.acme.test",
		FriendlyName:     "Acme <Corp>",
		Flags:            map[string]bool{"enable_client_connections": false, "revoke_refresh_token_grant": true},
		Other: map[string]json.RawMessage{
			"support_email":    json.RawMessage(`"help@acme.test"`),
			"session_lifetime": json.RawMessage(`168`),
			"universal_login":  json.RawMessage(`{"colors":{"primary":"#0059d6"}}`),
		},
	}
}
