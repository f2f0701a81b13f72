package tenant

import (
	"encoding/json"
	"errors"

	"github.com/gatehouse/gatehouse/internal/directory/database"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The database strategy's options and password policy, as the user rules
// need them; the only place this package names them.

type dbOptions = database.Options

func parseDBOptions(raw json.RawMessage) (dbOptions, error) {
	return database.ParseOptions(raw)
}

// checkPassword refuses a password the connection's policy does not allow,
// with Auth0's invalid_password error.
func checkPassword(opts dbOptions, password string, u *store.User) error {
	err := database.CheckPolicy(opts, password, u)
	var pe *database.PolicyError
	if errors.As(err, &pe) {
		return &Error{Kind: Invalid, Code: "invalid_password", Message: pe.Error()}
	}
	return err
}
