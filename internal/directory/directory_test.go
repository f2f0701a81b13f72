package directory

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// optionsOnly is a strategy that checks no passwords and no users.
type optionsOnly struct{ name string }

func (s optionsOnly) Name() string { return s.name }
func (optionsOnly) ValidateOptions(o json.RawMessage) (json.RawMessage, error) {
	return o, nil
}

// full verifies every password and reports every user blocked.
type full struct{ optionsOnly }

func (full) Verify(ctx context.Context, conn *store.Connection, username, password string) (Result, bool, error) {
	return Result{User: &store.User{UserID: username}}, true, nil
}
func (full) CheckUser(ctx context.Context, conn *store.Connection, user *store.User) error {
	return ErrUserBlocked
}

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := NewRegistry(optionsOnly{"waad"}, full{optionsOnly{"auth0"}})
	tests := []struct {
		strategy   string
		wantVerify error
		wantCheck  error
	}{
		{"auth0", nil, ErrUserBlocked},
		{"waad", ErrUnsupportedStrategy, nil},
		{"github", ErrUnsupportedStrategy, nil},
	}
	for _, tt := range tests {
		t.Run(tt.strategy, func(t *testing.T) {
			conn := &store.Connection{Strategy: tt.strategy}
			_, _, err := r.Verify(context.Background(), conn, "u", "p")
			if !errors.Is(err, tt.wantVerify) || (tt.wantVerify == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantVerify)
			}
			err = r.CheckUser(context.Background(), conn, &store.User{UserID: "u"})
			if !errors.Is(err, tt.wantCheck) || (tt.wantCheck == nil && err != nil) {
				t.Errorf("CheckUser = %v, want %v", err, tt.wantCheck)
			}
			_, found := r.Lookup(tt.strategy)
			if found != (tt.strategy != "github") {
				t.Errorf("Lookup found = %v", found)
			}
		})
	}
}
