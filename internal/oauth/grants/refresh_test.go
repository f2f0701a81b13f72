package grants_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/directory"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/oauth/grants"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// userChecker is a directory that answers CheckUser with err.
type userChecker struct {
	err  error
	seen *store.Connection
}

func (c *userChecker) CheckUser(_ context.Context, conn *store.Connection, _ *store.User) error {
	c.seen = conn
	return c.err
}

// TestRefreshAsksTheUsersDirectory: at refresh time a directory that can
// tell says whether the user is still there and enabled, and each answer
// maps to Auth0's (an unreachable directory is not invalid_grant).
func TestRefreshAsksTheUsersDirectory(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		desc   string
	}{
		{"still there", nil, 0, "", ""},
		{"gone", fmt.Errorf("ldap: %w", directory.ErrUserGone), 403, "invalid_grant", oauth.ErrRefreshUserDeleted.Description},
		{"disabled", fmt.Errorf("ldap: %w", directory.ErrUserBlocked), 401, "unauthorized", "user is blocked"},
		{"unreachable", fmt.Errorf("ldap: %w", directory.ErrUnavailable), 503, "temporarily_unavailable", "The connection corp-ldap is not available. Try again later."},
		{"failed", errors.New("ldap: protocol error"), 500, "server_error", "Internal server error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			sealer, err := seal.New(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "refresh.db"), sealer)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			conn := &store.Connection{ID: "con_ldap", Name: "corp-ldap", Strategy: "ad", Realms: []string{"corp-ldap"}, EnabledClients: []string{"app"}}
			user := &store.User{UserID: "ad|ann", ConnectionID: conn.ID, Connection: conn.Name, Email: "ann@corp.example"}
			now := time.Now()
			f := &store.RefreshFamily{ID: tokens.NewFamilyID(), ClientID: "app", UserID: user.UserID,
				Scope: []string{"openid", "offline_access"}, CreatedAt: now, LastExchangedAt: now}
			token, hash := tokens.NewRefreshToken(f.ID)
			f.Current = [][]byte{hash}
			for _, err := range []error{st.CreateConnection(ctx, conn), st.CreateUser(ctx, user), st.CreateRefreshFamily(ctx, f)} {
				if err != nil {
					t.Fatal(err)
				}
			}
			dir := &userChecker{err: c.err}
			g := &grants.Refresh{Store: st, Now: time.Now, Users: dir}
			x, err := g.Check(ctx, &oauth.Request{GrantType: "refresh_token", RefreshToken: token}, &store.Client{ClientID: "app"})
			if err != nil {
				t.Fatal(err)
			}
			auth, err := x.Authenticate(ctx)
			if dir.seen == nil || dir.seen.Name != conn.Name {
				t.Fatalf("the directory was asked about connection %v", dir.seen)
			}
			if c.status == 0 {
				if err != nil || auth.User.UserID != user.UserID || auth.Connection.Name != conn.Name {
					t.Fatalf("Authenticate = %+v, %v", auth, err)
				}
				return
			}
			e := oauth.AsError(err)
			if err == nil || e.Status != c.status || e.Code != c.code || e.Description != c.desc {
				t.Fatalf("Authenticate error = %v, want %d %s %q", err, c.status, c.code, c.desc)
			}
		})
	}
}
