// Package strategies assembles the connection strategies gatehouse serves
// into one directory.Registry. It is the only package that knows them all;
// a new strategy is one more line here.
package strategies

import (
	"log/slog"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/directory/ad"
	"github.com/gatehouse/gatehouse/internal/directory/customdb"
	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/directory/passwordless"
	"github.com/gatehouse/gatehouse/internal/directory/waad"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/scripts"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Config is what the strategies need from the server.
type Config struct {
	Users  store.Users
	Hasher *passwords.Hasher
	// Limit bounds concurrent password hashes; nil means no bound.
	Limit  *passwords.Limiter
	Logger *slog.Logger
	// Sandbox runs custom database scripts; nil serves database
	// connections without them.
	Sandbox *scripts.Sandbox
}

// New returns the registry of every built-in strategy: "auth0" (database,
// with custom database scripts when a sandbox is given), "ad" (AD/LDAP),
// "waad" (Azure AD or another OpenID provider over its password grant),
// and the passwordless "email" and "sms".
func New(c Config) directory.Registry {
	db := &database.Strategy{Users: c.Users, Hasher: c.Hasher, Limit: c.Limit, Logger: c.Logger}
	var auth0 directory.Strategy = db
	if c.Sandbox != nil {
		auth0 = &customdb.Strategy{Strategy: db, Users: c.Users, Sandbox: c.Sandbox, Hasher: c.Hasher, Limit: c.Limit, Logger: c.Logger}
	}
	return directory.NewRegistry(auth0, &ad.Strategy{Users: c.Users, Logger: c.Logger},
		&waad.Strategy{Users: c.Users, Logger: c.Logger},
		passwordless.Strategy{Kind: passwordless.Email}, passwordless.Strategy{Kind: passwordless.SMS})
}
