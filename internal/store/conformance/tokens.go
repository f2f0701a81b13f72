package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func familyTests() []test {
	return []test{
		{"CreateThenGetRoundTripsEveryField", func(t *testing.T, s store.Store) {
			want := newFamily("rf1", "auth0|1", "c1", "https://api.test")
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "https://api.test")))
			wantEqual(t, "GetRefreshFamily", ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1")), want)
		}},
		{"GetWithUserReadsBothAndAGoneUserAsNil", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "Ada@Example.test", "Ada")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_1", "db", "bob@example.test", "bob")))
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "https://api.test")))
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf2", "auth0|gone", "c1", "")))
			withUser := func(id string) (*store.RefreshFamily, *store.User) {
				t.Helper()
				f, u, err := s.GetRefreshFamilyWithUser(ctx(t), id)
				must(t, err)
				return f, u
			}
			f, u := withUser("rf1")
			wantEqual(t, "family", f, newFamily("rf1", "auth0|1", "c1", "https://api.test"))
			wantEqual(t, "user", u, newUser("auth0|1", "con_1", "db", "Ada@Example.test", "Ada"))
			f, u = withUser("rf2")
			wantEqual(t, "family of a user never stored", f, newFamily("rf2", "auth0|gone", "c1", ""))
			wantEqual(t, "user never stored", u, (*store.User)(nil))
			must(t, s.DeleteUser(ctx(t), "auth0|1"))
			f, u = withUser("rf1")
			wantEqual(t, "family of a deleted user", f, newFamily("rf1", "auth0|1", "c1", "https://api.test"))
			wantEqual(t, "deleted user", u, (*store.User)(nil))
			_, _, err := s.GetRefreshFamilyWithUser(ctx(t), "nope")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"ReplaceRotatesHashes", func(t *testing.T, s store.Store) {
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "")))
			f := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
			f.Spent = append([]store.SpentToken{{Hash: f.Previous, At: f.PreviousUsedAt}}, f.Spent...)
			f.Previous = f.Current[0]
			f.Current = [][]byte{hash("next")}
			f.PreviousUsedAt = at(60)
			f.LastExchangedAt = at(60)
			must(t, s.ReplaceRefreshFamily(ctx(t), f))
			want := newFamily("rf1", "auth0|1", "c1", "")
			want.Spent = append([]store.SpentToken{{Hash: want.Previous, At: want.PreviousUsedAt}}, want.Spent...)
			want.Previous = want.Current[0]
			want.Current = [][]byte{hash("next")}
			want.PreviousUsedAt = at(60)
			want.LastExchangedAt = at(60)
			want.Version = 1
			wantEqual(t, "family after replace", f, want)
			wantEqual(t, "GetRefreshFamily", ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1")), want)
		}},
		{"ConcurrentReplacesThatRetryLoseNothing", func(t *testing.T, s store.Store) {
			f := newFamily("rf1", "auth0|1", "c1", "")
			f.Scope = nil
			must(t, s.CreateRefreshFamily(ctx(t), f))
			const n = 20
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					// As the refresh grant does: read, change, compare and
					// swap, and read again after a lost race.
					for {
						f, err := s.GetRefreshFamily(ctx(t), "rf1")
						if err != nil {
							t.Errorf("writer %d: %v", i, err)
							return
						}
						f.Scope = append(f.Scope, fmt.Sprintf("s%02d", i))
						err = s.ReplaceRefreshFamily(ctx(t), f)
						if err == nil {
							return
						}
						if !errors.Is(err, store.ErrConflict) {
							t.Errorf("writer %d: %v", i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			got := ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1")).Scope
			slices.Sort(got)
			want := make([]string, n)
			for i := range want {
				want[i] = fmt.Sprintf("s%02d", i)
			}
			wantEqual(t, "scopes after concurrent replaces", got, want)
		}},
		{"ListReturnsAUsersFamiliesOldestFirst", func(t *testing.T, s store.Store) {
			for _, f := range []*store.RefreshFamily{
				newFamily("rf9", "auth0|1", "c1", "a"),
				newFamily("rf5", "auth0|1", "c2", "a"),
				newFamily("rf7", "auth0|1", "c1", "b"),
				newFamily("rf6", "auth0|2", "c1", "a"),
				newFamily("rf1", "auth0|1", "c1", "a"),
			} {
				must(t, s.CreateRefreshFamily(ctx(t), f))
			}
			for _, tc := range []struct {
				user, client string
				want         []string
			}{
				{"auth0|1", "c1", []string{"rf9", "rf7", "rf1"}},
				{"auth0|1", "", []string{"rf9", "rf5", "rf7", "rf1"}},
				{"auth0|2", "c1", []string{"rf6"}},
				{"auth0|2", "c2", []string{}},
				{"auth0|3", "c1", []string{}},
			} {
				got, err := s.ListRefreshFamilies(ctx(t), tc.user, tc.client)
				must(t, err)
				wantEqual(t, fmt.Sprintf("ListRefreshFamilies(%q, %q)", tc.user, tc.client), ids(got, familyID), tc.want)
			}
			got, err := s.ListRefreshFamilies(ctx(t), "auth0|2", "c1")
			must(t, err)
			wantEqual(t, "listed family", got, []*store.RefreshFamily{newFamily("rf6", "auth0|2", "c1", "a")})
		}},
		{"DeleteManySelectsByUserClientAndAudience", func(t *testing.T, s store.Store) {
			for i, tc := range []struct {
				name                   string
				user, client, audience string
				wantDeleted            []string // of f1..f4 below
			}{
				{"user and client", "u1", "c1", "", []string{"f1", "f2"}},
				{"user, client and audience", "u1", "c1", "a1", []string{"f1"}},
				{"user of every client", "u1", "", "", []string{"f1", "f2", "f3"}},
				{"no match", "u1", "c9", "", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					p := fmt.Sprintf("case%d-", i)
					all := []*store.RefreshFamily{
						newFamily(p+"f1", p+"u1", "c1", "a1"),
						newFamily(p+"f2", p+"u1", "c1", "a2"),
						newFamily(p+"f3", p+"u1", "c2", "a1"),
						newFamily(p+"f4", p+"u2", "c1", "a1"),
					}
					for _, f := range all {
						must(t, s.CreateRefreshFamily(ctx(t), f))
					}
					n, err := s.DeleteRefreshFamilies(ctx(t), p+tc.user, tc.client, tc.audience)
					must(t, err)
					if n != len(tc.wantDeleted) {
						t.Errorf("deleted %d, want %d", n, len(tc.wantDeleted))
					}
					for _, f := range all {
						_, err := s.GetRefreshFamily(ctx(t), f.ID)
						gone := slices.Contains(tc.wantDeleted, f.ID[len(p):])
						if gone != isNotFound(err) {
							t.Errorf("%s: gone = %v, want %v (err %v)", f.ID, isNotFound(err), gone, err)
						}
					}
				})
			}
		}},
		{"DeleteManyRefusesEmptyUser", func(t *testing.T, s store.Store) {
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "")))
			if _, err := s.DeleteRefreshFamilies(ctx(t), "", "c1", ""); err == nil {
				t.Fatal("DeleteRefreshFamilies with empty user succeeded")
			}
			ok[*store.RefreshFamily](t)(s.GetRefreshFamily(ctx(t), "rf1"))
		}},
		{"DeleteOneRemovesFamily", func(t *testing.T, s store.Store) {
			must(t, s.CreateRefreshFamily(ctx(t), newFamily("rf1", "auth0|1", "c1", "")))
			must(t, s.DeleteRefreshFamily(ctx(t), "rf1"))
			_, err := s.GetRefreshFamily(ctx(t), "rf1")
			wantErr(t, err, store.ErrNotFound)
		}},
	}
}

func keyTests() []test {
	return []test{
		{"FreshStoreHasNoKeys", func(t *testing.T, s store.Store) {
			if keys := ok[[]*store.SigningKey](t)(s.ListSigningKeys(ctx(t))); len(keys) != 0 {
				t.Fatalf("ListSigningKeys = %d keys, want 0", len(keys))
			}
		}},
		{"ReplaceStoresSetInOrderAndRoundTripsEveryField", func(t *testing.T, s store.Store) {
			k2, k1 := newKey("k2"), newKey("k1")
			k1.Current, k1.Revoked, k1.RevokedAt = false, false, nil
			must(t, s.ReplaceSigningKeys(ctx(t), func(old []*store.SigningKey) ([]*store.SigningKey, error) {
				if len(old) != 0 {
					t.Errorf("fn got %d keys on a fresh store", len(old))
				}
				return []*store.SigningKey{k2, k1}, nil
			}))
			wantEqual(t, "ListSigningKeys", ok[[]*store.SigningKey](t)(s.ListSigningKeys(ctx(t))), []*store.SigningKey{k2, k1})
		}},
		{"ReplaceGetsCurrentSetAndDeletesAbsentKeys", func(t *testing.T, s store.Store) {
			k1, k2, k3 := newKey("k1"), newKey("k2"), newKey("k3")
			must(t, s.ReplaceSigningKeys(ctx(t), func([]*store.SigningKey) ([]*store.SigningKey, error) {
				return []*store.SigningKey{k1, k2}, nil
			}))
			must(t, s.ReplaceSigningKeys(ctx(t), func(old []*store.SigningKey) ([]*store.SigningKey, error) {
				wantEqual(t, "fn input", old, []*store.SigningKey{k1, k2})
				old[1].Current, old[1].Previous = false, true
				return []*store.SigningKey{old[1], k3}, nil
			}))
			k2.Current, k2.Previous = false, true
			wantEqual(t, "ListSigningKeys", ok[[]*store.SigningKey](t)(s.ListSigningKeys(ctx(t))), []*store.SigningKey{k2, k3})

			must(t, s.ReplaceSigningKeys(ctx(t), func([]*store.SigningKey) ([]*store.SigningKey, error) { return nil, nil }))
			if keys := ok[[]*store.SigningKey](t)(s.ListSigningKeys(ctx(t))); len(keys) != 0 {
				t.Fatalf("ListSigningKeys after replacing with none = %d keys", len(keys))
			}
		}},
		{"ConcurrentReplaceCreatesOneSet", func(t *testing.T, s store.Store) {
			const n = 8
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					err := s.ReplaceSigningKeys(ctx(t), func(old []*store.SigningKey) ([]*store.SigningKey, error) {
						if len(old) > 0 {
							return old, nil
						}
						// Widen the window in which an unserialised caller would also see none.
						time.Sleep(20 * time.Millisecond)
						return []*store.SigningKey{newKey(fmt.Sprintf("node-%d", i))}, nil
					})
					if err != nil {
						t.Errorf("caller %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if keys := ok[[]*store.SigningKey](t)(s.ListSigningKeys(ctx(t))); len(keys) != 1 {
				t.Fatalf("ListSigningKeys = %v, want one key", ids(keys, keyID))
			}
		}},
	}
}

func nonceTests() []test {
	return []test{
		{"NonceIsSingleUseUntilItExpires", func(t *testing.T, s store.Store) {
			future := time.Now().Add(time.Hour)
			past := time.Now().Add(-time.Second)
			for _, step := range []struct {
				name      string
				key       string
				expiresAt time.Time
				wantErr   error
			}{
				{"first use", "jti-1", future, nil},
				{"replay", "jti-1", future, store.ErrConflict},
				{"replay with another expiry", "jti-1", past, store.ErrConflict},
				{"other key", "jti-2", future, nil},
				{"already expired record", "jti-3", past, nil},
				{"reuse after expiry", "jti-3", future, nil},
				{"replay of reused key", "jti-3", future, store.ErrConflict},
			} {
				err := s.UseNonce(ctx(t), step.key, step.expiresAt)
				if step.wantErr == nil && err != nil || step.wantErr != nil && !errors.Is(err, step.wantErr) {
					t.Fatalf("%s: UseNonce(%q) error = %v, want %v", step.name, step.key, err, step.wantErr)
				}
			}
		}},
		{"ConcurrentUsesOfOneNonceLetOneThrough", func(t *testing.T, s store.Store) {
			const n = 10
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, conflicts := 0, 0
			for range n {
				wg.Go(func() {
					err := s.UseNonce(ctx(t), "jti-race", time.Now().Add(time.Hour))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case errors.Is(err, store.ErrConflict):
						conflicts++
					default:
						t.Errorf("UseNonce: %v", err)
					}
				})
			}
			wg.Wait()
			if wins != 1 || conflicts != n-1 {
				t.Fatalf("%d uses succeeded and %d conflicted, want 1 and %d", wins, conflicts, n-1)
			}
		}},
	}
}

func tenantTests() []test {
	return []test{
		{"FreshStoreReturnsZeroSettings", func(t *testing.T, s store.Store) {
			wantEqual(t, "GetTenantSettings", ok[*store.TenantSettings](t)(s.GetTenantSettings(ctx(t))), &store.TenantSettings{})
		}},
		{"UpdateRoundTripsKnownAndOtherFields", func(t *testing.T, s store.Store) {
			got := ok[*store.TenantSettings](t)(s.UpdateTenantSettings(ctx(t), func(ts *store.TenantSettings) error {
				wantEqual(t, "fn input on a fresh store", ts, &store.TenantSettings{})
				*ts = *newTenant()
				return nil
			}))
			wantEqual(t, "UpdateTenantSettings result", got, newTenant())
			wantEqual(t, "GetTenantSettings", ok[*store.TenantSettings](t)(s.GetTenantSettings(ctx(t))), newTenant())
		}},
		{"UpdateStartsFromStoredSettings", func(t *testing.T, s store.Store) {
			ok[*store.TenantSettings](t)(s.UpdateTenantSettings(ctx(t), func(ts *store.TenantSettings) error {
				*ts = *newTenant()
				return nil
			}))
			ok[*store.TenantSettings](t)(s.UpdateTenantSettings(ctx(t), func(ts *store.TenantSettings) error {
				wantEqual(t, "fn input", ts, newTenant())
				ts.FriendlyName = "Renamed"
				return nil
			}))
			want := newTenant()
			want.FriendlyName = "Renamed"
			wantEqual(t, "GetTenantSettings", ok[*store.TenantSettings](t)(s.GetTenantSettings(ctx(t))), want)
		}},
		{"TwilioAuthTokenRoundTrips", func(t *testing.T, s store.Store) {
			// The backend seals the token on the way down and opens it on
			// the way up: callers see it in clear and never sealed.
			want := newTenant()
			want.Guardian = &store.Guardian{Factors: map[string]bool{"sms": true}, Phone: &store.PhoneDelivery{Provider: "twilio",
				Twilio: &store.TwilioSettings{SID: "AC1", From: "+15551234567", AuthToken: "tok"}, VerificationMessage: "{{code}}"}}
			got := ok[*store.TenantSettings](t)(s.UpdateTenantSettings(ctx(t), func(ts *store.TenantSettings) error {
				*ts = *want.Clone()
				return nil
			}))
			wantEqual(t, "UpdateTenantSettings result", got, want)
			wantEqual(t, "GetTenantSettings", ok[*store.TenantSettings](t)(s.GetTenantSettings(ctx(t))), want)
			ok[*store.TenantSettings](t)(s.UpdateTenantSettings(ctx(t), func(ts *store.TenantSettings) error {
				wantEqual(t, "fn input", ts, want)
				ts.Guardian.Phone.Twilio.From = "+15557654321"
				return nil
			}))
			want.Guardian.Phone.Twilio.From = "+15557654321"
			wantEqual(t, "after a second update", ok[*store.TenantSettings](t)(s.GetTenantSettings(ctx(t))), want)
		}},
	}
}
