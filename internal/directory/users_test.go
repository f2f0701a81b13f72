package directory_test

import (
	"bytes"
	"context"
	"encoding/json"
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
// profile is written, and a user_id another connection holds is refused.
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
	u, err := directory.SaveUser(ctx, st, a, "waad|123", "waad", t0, profile("Ann"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetUser(ctx, "waad|123")
	if err != nil || got.GivenName != "Ann" || got.ConnectionID != a.ID || len(got.Identities) != 1 ||
		got.Identities[0] != (store.Identity{Connection: "corp", UserID: "123", Provider: "waad"}) {
		t.Fatalf("created %+v, stored %+v (%v)", u, got, err)
	}
	if u, err := directory.SaveUser(ctx, st, a, "waad|123", "waad", t0.Add(time.Hour), profile("Ann")); err != nil || !u.UpdatedAt.Equal(t0) {
		t.Errorf("same profile: updated_at %v (%v), want %v (nothing written)", u.UpdatedAt, err, t0)
	}
	if u, err := directory.SaveUser(ctx, st, a, "waad|123", "waad", t0.Add(time.Hour), profile("Anne")); err != nil || u.GivenName != "Anne" || !u.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("changed profile: %+v (%v)", u, err)
	}
	if _, err := directory.SaveUser(ctx, st, b, "waad|123", "waad", t0, profile("Ann")); err == nil {
		t.Error("a user of another connection was handed over")
	}
}
