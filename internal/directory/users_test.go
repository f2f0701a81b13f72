package directory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// SaveUser on a real SQLite store: the first login creates the user with
// its identity, a login with the same profile writes nothing, a changed
// profile is written; another connection's user of the same id gets the
// next key, and a profile the store refuses is ErrUserConflict.
func TestSaveUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "users.db"), sealer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := &store.Connection{ID: "con_a", Name: "corp", Strategy: "waad", Options: json.RawMessage(`{}`)}
	b := &store.Connection{ID: "con_b", Name: "other", Strategy: "waad", Options: json.RawMessage(`{}`)}
	for _, c := range []*store.Connection{a, b} {
		if err := st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	profile := func(given string) func(*store.User) {
		return func(u *store.User) {
			u.Email, u.GivenName, u.Groups = "ann@example.com", given, []string{"staff"}
		}
	}
	keys := func(c *store.Connection, id string) []directory.Key {
		return []directory.Key{{UserID: "waad|" + id, Provider: "waad", ID: id}, {UserID: "waad|" + c.Name + "|" + id, Provider: "waad", ID: id}}
	}
	u, err := directory.SaveUser(ctx, st, a, keys(a, "123"), t0, profile("Ann"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetUser(ctx, "waad|123")
	if err != nil || got.GivenName != "Ann" || got.ConnectionID != a.ID || len(got.Identities) != 1 ||
		got.Identities[0] != (store.Identity{Connection: "corp", UserID: "123", Provider: "waad"}) {
		t.Fatalf("created %+v, stored %+v (%v)", u, got, err)
	}
	if u, err := directory.SaveUser(ctx, st, a, keys(a, "123"), t0.Add(time.Hour), profile("Ann")); err != nil || !u.UpdatedAt.Equal(t0) {
		t.Errorf("same profile: updated_at %v (%v), want %v (nothing written)", u.UpdatedAt, err, t0)
	}
	if u, err := directory.SaveUser(ctx, st, a, keys(a, "123"), t0.Add(time.Hour), profile("Anne")); err != nil || u.GivenName != "Anne" || !u.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("changed profile: %+v (%v)", u, err)
	}

	// Another connection's user of the same id is not handed the first
	// one's: it gets the second key, and keeps it.
	for range 2 {
		u, err := directory.SaveUser(ctx, st, b, keys(b, "123"), t0, profile("Ann"))
		if err != nil || u.UserID != "waad|other|123" || u.ConnectionID != b.ID ||
			u.Identities[0] != (store.Identity{Connection: "other", UserID: "123", Provider: "waad"}) {
			t.Fatalf("second connection: %+v (%v)", u, err)
		}
	}
	if u, err := st.GetUser(ctx, "waad|123"); err != nil || u.ConnectionID != a.ID || u.GivenName != "Anne" {
		t.Errorf("the first connection's user changed: %+v (%v)", u, err)
	}
	// Only one key, held by another connection: refused, not handed over.
	if _, err := directory.SaveUser(ctx, st, b, keys(b, "123")[:1], t0, profile("Ann")); !errors.Is(err, directory.ErrUserIDTaken) || !errors.Is(err, directory.ErrUserConflict) {
		t.Errorf("a user of another connection: %v, want ErrUserIDTaken", err)
	}
	// A user_id whose identity is someone else's is not theirs.
	if _, err := directory.SaveUser(ctx, st, a, []directory.Key{{UserID: "waad|123", Provider: "waad", ID: "456"}}, t0, profile("Ann")); !errors.Is(err, directory.ErrUserIDTaken) {
		t.Errorf("another identity's user_id: %v, want ErrUserIDTaken", err)
	}
	// An email another user of the connection has: a conflict, on create
	// and on update.
	if _, err := directory.SaveUser(ctx, st, a, keys(a, "789"), t0, profile("Eve")); !errors.Is(err, directory.ErrUserConflict) {
		t.Errorf("create with a taken email: %v, want ErrUserConflict", err)
	}
	if _, err := directory.SaveUser(ctx, st, a, keys(a, "789"), t0, func(u *store.User) { u.Email = "eve@example.com" }); err != nil {
		t.Fatal(err)
	}
	if _, err := directory.SaveUser(ctx, st, a, keys(a, "789"), t0, profile("Eve")); !errors.Is(err, directory.ErrUserConflict) {
		t.Errorf("update to a taken email: %v, want ErrUserConflict", err)
	}
}
