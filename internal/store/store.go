// Package store owns gatehouse's stored records and the storage contract
// every backend (SQLite, PostgreSQL) implements. The conformance suite in
// store/conformance is the executable form of this contract.
//
// The JSON tags of these types describe the storage format (the documents
// the backends keep), nothing else: the Management API has its own request
// and response types (internal/tenant, internal/mgmt) converted to and from
// these, so renaming a field on the wire never changes what is stored, and
// changing storage never changes the wire. SQL reaches into the documents by
// these names (RecordLogin does), so renaming a tag needs a migration.
//
// Secrets held by these types (client secrets, API signing secrets, private
// signing keys) are plaintext in memory only: a backend seals them with the
// Sealer it was opened with before they reach disk. Password hashes are
// stored as they are (they are already one-way).
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns (wrapped) so callers can branch with errors.Is.
var (
	// ErrNotFound means the addressed record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness rule would be broken (duplicate id, name,
	// identifier, email, used jti, ...).
	ErrConflict = errors.New("store: conflict")
)

// Sealer encrypts secrets at rest. aad binds a ciphertext to its place
// (for example "client_secret:<client_id>") so ciphertexts cannot be swapped
// between rows.
type Sealer interface {
	Seal(plaintext []byte, aad string) ([]byte, error)
	Open(ciphertext []byte, aad string) ([]byte, error)
}

// Page selects a slice of a list. PerPage 0 means the backend default (50).
type Page struct {
	Page    int
	PerPage int
}

// Limit returns the page size, defaulting and capping it.
func (p Page) Limit() int {
	switch {
	case p.PerPage <= 0:
		return 50
	case p.PerPage > 100:
		return 100
	}
	return p.PerPage
}

// Offset returns the number of rows to skip.
func (p Page) Offset() int {
	if p.Page < 0 {
		return 0
	}
	return p.Page * p.Limit()
}

// Store is the whole storage contract. Each aggregate has its own small
// interface so a package can ask for only what it uses.
type Store interface {
	Clients
	ClientGrants
	ResourceServers
	Connections
	Users
	RefreshFamilies
	SigningKeys
	Tenants
	Nonces
	Rules
	Actions
	MFA
	Logs
	Jobs
	UserImports
	SelfService
	EmailTemplates
	Counters
	Versions
	Housekeeping
	Close() error
}

// Housekeeping deletes what can no longer be used, in bounded batches, for
// a background clean-up.
type Housekeeping interface {
	// DeleteExpiredRefreshFamilies deletes up to limit families whose
	// absolute or idle expiry is at or before now, and returns how many.
	DeleteExpiredRefreshFamilies(ctx context.Context, now time.Time, limit int) (int, error)
	// DeleteExpiredNonces deletes up to limit nonces that expired at or
	// before now, and returns how many.
	DeleteExpiredNonces(ctx context.Context, now time.Time, limit int) (int, error)
	// Exclusive runs fn under the clean-up lock, which one caller holds at a
	// time among every node sharing the database. When another holds it,
	// fn does not run and ok is false.
	Exclusive(ctx context.Context, fn func(context.Context) error) (ok bool, err error)
}

// Versions tells caches whether what they hold is still current.
type Versions interface {
	// ConfigVersion returns a number that changes whenever clients, client
	// grants, resource servers, connections, signing keys, tenant settings,
	// rules, rules configs, Actions or their bindings change, whichever node wrote them.
	ConfigVersion(ctx context.Context) (int64, error)
}

// ConfigChange announces one committed configuration write.
type ConfigChange struct {
	// Version is the configuration version the write produced.
	Version int64
	// Node is the id of the node that wrote it (its WatchConfig's NodeID),
	// or "" for a writer that is not a node (psql, an older gatehouse).
	Node string
}

// ConfigWatcher is implemented by stores that announce configuration
// writes as they commit, so caches on every node can drop what changed at
// once rather than at their next poll of ConfigVersion. It is optional: a
// store without it (SQLite, one writing process) is only polled.
type ConfigWatcher interface {
	// NodeID identifies this store's own writes in the announcements.
	NodeID() string
	// WatchConfig calls changed for every announced write, this node's
	// included, in commit order, until ctx ends. It keeps one connection
	// for it and reconnects with backoff when it drops. status is called
	// with nil each time the watch is (again) in place, and with the error
	// each time it is lost or cannot be set up: announcements made between
	// the two are missed. It returns errors.ErrUnsupported when the
	// database cannot announce writes, and otherwise ctx's error.
	WatchConfig(ctx context.Context, changed func(ConfigChange), status func(error)) error
}

// Clients stores applications.
type Clients interface {
	CreateClient(ctx context.Context, c *Client) error
	GetClient(ctx context.Context, clientID string) (*Client, error)
	// ListClients returns clients ordered by creation, and the total count.
	ListClients(ctx context.Context, p Page) ([]*Client, int, error)
	// UpdateClient loads the client, calls fn on it and saves the result, all in
	// one transaction; an error from fn aborts the update and is returned.
	UpdateClient(ctx context.Context, clientID string, fn func(*Client) error) (*Client, error)
	// DeleteClient deletes the client and, in the same transaction, its
	// client grants, its refresh families and its id from every
	// connection's EnabledClients.
	DeleteClient(ctx context.Context, clientID string) error
}

// ClientGrants stores which clients may use client_credentials for which API.
type ClientGrants interface {
	// CreateClientGrant fails with ErrConflict for a second grant of the same
	// (client_id, audience).
	CreateClientGrant(ctx context.Context, g *ClientGrant) error
	GetClientGrant(ctx context.Context, id string) (*ClientGrant, error)
	// FindClientGrant returns the grant for (clientID, audience) or ErrNotFound.
	FindClientGrant(ctx context.Context, clientID, audience string) (*ClientGrant, error)
	// ListClientGrants filters by clientID and audience when they are not empty.
	ListClientGrants(ctx context.Context, clientID, audience string, p Page) ([]*ClientGrant, int, error)
	UpdateClientGrant(ctx context.Context, id string, fn func(*ClientGrant) error) (*ClientGrant, error)
	DeleteClientGrant(ctx context.Context, id string) error
}

// ResourceServers stores APIs.
type ResourceServers interface {
	// CreateResourceServer fails with ErrConflict for a duplicate identifier.
	CreateResourceServer(ctx context.Context, rs *ResourceServer) error
	GetResourceServer(ctx context.Context, id string) (*ResourceServer, error)
	ResourceServerByIdentifier(ctx context.Context, identifier string) (*ResourceServer, error)
	ListResourceServers(ctx context.Context, p Page) ([]*ResourceServer, int, error)
	UpdateResourceServer(ctx context.Context, id string, fn func(*ResourceServer) error) (*ResourceServer, error)
	DeleteResourceServer(ctx context.Context, id string) error
}

// Connections stores identity sources (database, LDAP).
type Connections interface {
	// CreateConnection fails with ErrConflict for a duplicate name.
	CreateConnection(ctx context.Context, c *Connection) error
	GetConnection(ctx context.Context, id string) (*Connection, error)
	ConnectionByName(ctx context.Context, name string) (*Connection, error)
	// ListConnections filters by strategy when it is not empty.
	ListConnections(ctx context.Context, strategy string, p Page) ([]*Connection, int, error)
	UpdateConnection(ctx context.Context, id string, fn func(*Connection) error) (*Connection, error)
	// DeleteConnection also deletes the connection's users.
	DeleteConnection(ctx context.Context, id string) error
}

// UserQuery filters a user listing. Empty fields do not filter.
type UserQuery struct {
	Connection string // connection name
	Email      string // exact, case-insensitive
}

// Users stores user profiles and their password hashes.
type Users interface {
	// CreateUser fails with ErrConflict for a duplicate user_id, or a duplicate
	// email or username (case-insensitive) within the same connection.
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, userID string) (*User, error)
	// UserByIdentifier finds a user of a connection by email or username,
	// case-insensitively.
	UserByIdentifier(ctx context.Context, connectionID, identifier string) (*User, error)
	ListUsers(ctx context.Context, q UserQuery, p Page) ([]*User, int, error)
	UpdateUser(ctx context.Context, userID string, fn func(*User) error) (*User, error)
	DeleteUser(ctx context.Context, userID string) error
	// RecordLogin saves what a successful password login changes, in one
	// atomic write: the user's login count, time and IP, a new password
	// hash when one is given, a new refresh family when one is given, and
	// the deletion of ResetCounter when one is given.
	// ErrNotFound when the user is gone (nothing is written then).
	RecordLogin(ctx context.Context, l Login) error
}

// Login is what RecordLogin saves.
type Login struct {
	UserID          string
	At              time.Time
	IP              string
	NewPasswordHash string         // empty: keep the stored hash
	Family          *RefreshFamily // nil: no refresh token was issued
	// ResetCounter, when set, is deleted in the same write: a completed
	// login clears its brute-force counter without a statement of its own.
	ResetCounter *CounterKey
}

// RefreshFamilies stores refresh-token families: one row per original grant,
// holding only hashes of the tokens it has issued.
type RefreshFamilies interface {
	CreateRefreshFamily(ctx context.Context, f *RefreshFamily) error
	GetRefreshFamily(ctx context.Context, id string) (*RefreshFamily, error)
	// GetRefreshFamilyWithUser reads a family and the user it belongs to
	// in one read, as the refresh grant needs both (on PostgreSQL each
	// read is a round trip). The user is nil, with no error, when it no
	// longer exists; ErrNotFound means the family does not.
	GetRefreshFamilyWithUser(ctx context.Context, id string) (*RefreshFamily, *User, error)
	// ReplaceRefreshFamily saves f only if the stored family still has
	// f.Version (the version f was read at), and then advances f.Version;
	// otherwise it fails with ErrConflict (ErrNotFound when it is gone).
	// A writer that loses reads the family again and decides again (the
	// refresh grant judges its token again), so no update is lost. Who a
	// family belongs to (UserID, ClientID, Audience) is fixed when it is
	// created: a replace keeps the stored ones.
	ReplaceRefreshFamily(ctx context.Context, f *RefreshFamily) error
	DeleteRefreshFamily(ctx context.Context, id string) error
	// DeleteRefreshFamilies deletes every family of (userID, clientID) and, when
	// audience is not empty, only those for that audience. It returns how many.
	DeleteRefreshFamilies(ctx context.Context, userID, clientID, audience string) (int, error)
	// ListRefreshFamilies lists a user's families, oldest first.
	ListRefreshFamilies(ctx context.Context, userID, clientID string) ([]*RefreshFamily, error)
}

// SigningKeys stores the tenant's token-signing keys.
type SigningKeys interface {
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// ReplaceSigningKeys runs fn on the whole key set inside one transaction
	// that excludes concurrent callers (so two nodes starting at once create
	// one set) and stores the set fn returns. Keys absent from the result are
	// deleted.
	ReplaceSigningKeys(ctx context.Context, fn func([]*SigningKey) ([]*SigningKey, error)) error
}

// Tenants stores the single tenant's settings.
type Tenants interface {
	// GetTenantSettings returns the settings; a fresh store returns the zero value.
	GetTenantSettings(ctx context.Context) (*TenantSettings, error)
	UpdateTenantSettings(ctx context.Context, fn func(*TenantSettings) error) (*TenantSettings, error)
}

// Nonces records single-use values such as client-assertion jti.
type Nonces interface {
	// UseNonce records key until expiresAt. It fails with ErrConflict when the
	// key is already recorded and not yet expired. Expired keys may be pruned.
	UseNonce(ctx context.Context, key string, expiresAt time.Time) error
}

// MFA stores users' second factors, the logins paused at the MFA gate and
// the buckets of failed codes.
type MFA interface {
	// CreateAuthenticator fails with ErrConflict for a duplicate id.
	CreateAuthenticator(ctx context.Context, a *Authenticator) error
	// ListAuthenticators returns a user's authenticators, oldest first.
	ListAuthenticators(ctx context.Context, userID string) ([]*Authenticator, error)
	// GetAuthenticator returns one authenticator by id (ErrNotFound).
	GetAuthenticator(ctx context.Context, id string) (*Authenticator, error)
	// UpdateAuthenticator loads, changes and saves one authenticator in one
	// transaction that excludes concurrent updates of it, on every node
	// (the TOTP step of a code is recorded this way, so a code works once).
	UpdateAuthenticator(ctx context.Context, id string, fn func(*Authenticator) error) (*Authenticator, error)
	DeleteAuthenticator(ctx context.Context, id string) error
	// DeleteAuthenticators deletes every authenticator of a user and
	// returns how many.
	DeleteAuthenticators(ctx context.Context, userID string) (int, error)

	CreateMFATransaction(ctx context.Context, tx *MFATransaction) error
	GetMFATransaction(ctx context.Context, id string) (*MFATransaction, error)
	UpdateMFATransaction(ctx context.Context, id string, fn func(*MFATransaction) error) (*MFATransaction, error)
	// DeleteMFATransaction ends a transaction; ErrNotFound when another
	// request ended it first, so exactly one caller consumes it.
	DeleteMFATransaction(ctx context.Context, id string) error

	// UpdateMFABucket applies fn to the user's failed-code bucket (the
	// zero bucket the first time) and saves it, atomically.
	UpdateMFABucket(ctx context.Context, userID string, fn func(*MFABucket) error) (*MFABucket, error)
}
