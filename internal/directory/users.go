package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// SaveUser stores the user of a directory that lives outside gatehouse
// (ad, waad) at login: on the first login it creates userID
// ("<provider>|<id>") in conn with the profile apply sets; afterwards it
// writes the stored user only when apply changes its profile. A user_id
// held by another connection is an error: it is not handed over.
func SaveUser(ctx context.Context, users store.Users, conn *store.Connection, userID, provider string, now time.Time, apply func(*store.User)) (*store.User, error) {
	u, err := users.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		u = &store.User{
			UserID: userID, ConnectionID: conn.ID, Connection: conn.Name,
			Identities: []store.Identity{{Connection: conn.Name, UserID: strings.TrimPrefix(userID, provider+"|"), Provider: provider}},
			CreatedAt:  now.UTC(), UpdatedAt: now.UTC(),
		}
		apply(u)
		err = users.CreateUser(ctx, u)
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("directory: create user %s: %w", userID, err)
		}
		// Another login of the same user got in first: update theirs.
		u, err = users.GetUser(ctx, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("directory: load user %s: %w", userID, err)
	}
	if u.ConnectionID != conn.ID {
		return nil, fmt.Errorf("directory: user %s belongs to connection %s, not %s", userID, u.Connection, conn.Name)
	}
	want := *u
	apply(&want)
	if profileEqual(u, &want) {
		return u, nil
	}
	u, err = users.UpdateUser(ctx, userID, func(u *store.User) error {
		apply(u)
		u.UpdatedAt = now.UTC()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("directory: update user %s: %w", userID, err)
	}
	return u, nil
}

// profileEqual compares what a directory's login may set.
func profileEqual(a, b *store.User) bool {
	return a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Username == b.Username && a.Name == b.Name &&
		a.Nickname == b.Nickname && a.GivenName == b.GivenName && a.FamilyName == b.FamilyName && a.Picture == b.Picture &&
		slices.Equal(a.Groups, b.Groups)
}
