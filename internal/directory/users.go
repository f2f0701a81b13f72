package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Errors of SaveUser. Both are ErrUserConflict, which the login answers
// with a refusal (never a server error): the directory vouched for the
// user, but gatehouse's store cannot take them as they are.
var (
	// ErrUserConflict: the directory's user collides with another stored
	// user: their email or username is another user's in the same
	// connection, or their user_id is held by another connection or
	// another identity.
	ErrUserConflict = errors.New("directory: the user conflicts with another stored user")
	// ErrUserIDTaken: every user_id offered is held by another connection
	// or another identity.
	ErrUserIDTaken = fmt.Errorf("%w: user_id held by another connection or identity", ErrUserConflict)
)

// Key names an outside directory's user (ad, waad) in the store: UserID is
// gatehouse's user_id ("<provider>|..."), Provider the strategy, and ID
// the user's identity's user_id (what the directory calls them).
type Key struct {
	UserID   string
	Provider string
	ID       string
}

// SaveUser stores the user of a directory that lives outside gatehouse
// (ad, waad) at login. keys are the user_ids the user may have, in order
// of preference: the first one stored for this connection and identity is
// the user's, and its profile is written when apply changes it; when none
// is, the user is created under the first key no one holds. A user_id
// held by another connection, or by another identity of this one, is
// never handed over (ErrUserIDTaken); a profile the store refuses (an
// email or username another user of the connection has) is
// ErrUserConflict.
func SaveUser(ctx context.Context, users store.Users, conn *store.Connection, keys []Key, now time.Time, apply func(*store.User)) (*store.User, error) {
	// Twice at most: a concurrent first login of the same user may create
	// it between the look-up and the create.
	for range 2 {
		u, free, err := findUser(ctx, users, conn, keys)
		if err != nil {
			return nil, err
		}
		if u != nil {
			return updateProfile(ctx, users, u, now, apply)
		}
		if free == nil {
			return nil, fmt.Errorf("%w: %s in connection %s", ErrUserIDTaken, keys[0].UserID, conn.Name)
		}
		u = &store.User{
			UserID: free.UserID, ConnectionID: conn.ID, Connection: conn.Name,
			Identities: []store.Identity{{Connection: conn.Name, UserID: free.ID, Provider: free.Provider}},
			CreatedAt:  now.UTC(), UpdatedAt: now.UTC(),
		}
		apply(u)
		err = users.CreateUser(ctx, u)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("directory: create user %s: %w", free.UserID, err)
		}
	}
	// The user_id is still free after two conflicts: the email or username
	// is another user's.
	return nil, fmt.Errorf("%w: user %s of connection %s: email or username taken", ErrUserConflict, keys[0].UserID, conn.Name)
}

// findUser returns the stored user among keys that is conn's and the
// key's identity, or else the first key no user holds (nil when every key
// is held by someone else).
func findUser(ctx context.Context, users store.Users, conn *store.Connection, keys []Key) (*store.User, *Key, error) {
	var free *Key
	for i, k := range keys {
		u, err := users.GetUser(ctx, k.UserID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if free == nil {
				free = &keys[i]
			}
		case err != nil:
			return nil, nil, fmt.Errorf("directory: load user %s: %w", k.UserID, err)
		case holds(u, conn, k):
			return u, nil, nil
		}
	}
	return nil, free, nil
}

// holds reports whether stored user u is k's user in conn: the same
// connection, and no identity of it naming someone else of k's provider
// there (users stored before their identity was recorded pass).
func holds(u *store.User, conn *store.Connection, k Key) bool {
	if u.ConnectionID != conn.ID {
		return false
	}
	for _, id := range u.Identities {
		if id.Provider == k.Provider && id.Connection == conn.Name && id.UserID != k.ID {
			return false
		}
	}
	return true
}

// updateProfile writes what apply changes in u's profile, if anything.
func updateProfile(ctx context.Context, users store.Users, u *store.User, now time.Time, apply func(*store.User)) (*store.User, error) {
	want := *u
	apply(&want)
	if profileEqual(u, &want) {
		return u, nil
	}
	u, err := users.UpdateUser(ctx, u.UserID, func(u *store.User) error {
		apply(u)
		u.UpdatedAt = now.UTC()
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("%w: user %s: %w", ErrUserConflict, want.UserID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("directory: update user %s: %w", want.UserID, err)
	}
	return u, nil
}

// profileEqual compares what a directory's login may set.
func profileEqual(a, b *store.User) bool {
	return a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Username == b.Username && a.Name == b.Name &&
		a.Nickname == b.Nickname && a.GivenName == b.GivenName && a.FamilyName == b.FamilyName && a.Picture == b.Picture &&
		slices.Equal(a.Groups, b.Groups)
}
