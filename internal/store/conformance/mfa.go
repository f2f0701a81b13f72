package conformance

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func mfaTests() []test {
	return []test{
		{"AuthenticatorRoundTripKeepsSecretAndState", func(t *testing.T, s store.Store) {
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			a := &store.Authenticator{ID: "totp|dev_1", UserID: "auth0|u1", Kind: "totp", Secret: "JBSWY3DPEHPK3PXP", CreatedAt: at}
			must(t, s.CreateAuthenticator(ctx(t), a))
			must(t, s.CreateAuthenticator(ctx(t), &store.Authenticator{ID: "recovery-code|dev_2", UserID: "auth0|u1", Kind: "recovery-code", CodeHash: []byte{1, 2}, Active: true, CreatedAt: at}))
			must(t, s.CreateAuthenticator(ctx(t), &store.Authenticator{ID: "email|dev_3", UserID: "auth0|u2", Kind: "email", Name: "b@x.test", CreatedAt: at}))
			wantErr(t, s.CreateAuthenticator(ctx(t), a), store.ErrConflict)
			list := ok[[]*store.Authenticator](t)(s.ListAuthenticators(ctx(t), "auth0|u1"))
			wantEqual(t, "authenticators", list, []*store.Authenticator{a,
				{ID: "recovery-code|dev_2", UserID: "auth0|u1", Kind: "recovery-code", CodeHash: []byte{1, 2}, Active: true, CreatedAt: at}})
			got := ok[*store.Authenticator](t)(s.UpdateAuthenticator(ctx(t), a.ID, func(a *store.Authenticator) error {
				a.Active, a.LastStep = true, 42
				return nil
			}))
			wantEqual(t, "updated", got.LastStep, int64(42))
			one := ok[*store.Authenticator](t)(s.GetAuthenticator(ctx(t), a.ID))
			wantEqual(t, "get", []any{one.Secret, one.Active, one.UserID, one.LastStep}, []any{"JBSWY3DPEHPK3PXP", true, "auth0|u1", int64(42)})
			_, err := s.GetAuthenticator(ctx(t), "totp|dev_none")
			wantErr(t, err, store.ErrNotFound)
			list = ok[[]*store.Authenticator](t)(s.ListAuthenticators(ctx(t), "auth0|u1"))
			wantEqual(t, "secret after update", list[0].Secret, "JBSWY3DPEHPK3PXP")
			must(t, s.DeleteAuthenticator(ctx(t), a.ID))
			wantErr(t, s.DeleteAuthenticator(ctx(t), a.ID), store.ErrNotFound)
			wantEqual(t, "deleted count", ok[int](t)(s.DeleteAuthenticators(ctx(t), "auth0|u1")), 1)
			wantEqual(t, "other user's", len(ok[[]*store.Authenticator](t)(s.ListAuthenticators(ctx(t), "auth0|u2"))), 1)
		}},
		{"ConcurrentTOTPStepsAcceptOneCode", func(t *testing.T, s store.Store) {
			must(t, s.CreateAuthenticator(ctx(t), &store.Authenticator{ID: "totp|dev_c", UserID: "auth0|u", Kind: "totp", Secret: "S"}))
			errReplay := errors.New("replay")
			const n = 8
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.UpdateAuthenticator(ctx(t), "totp|dev_c", func(a *store.Authenticator) error {
						if a.LastStep >= 100 {
							return errReplay
						}
						a.LastStep = 100
						return nil
					})
					if err == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					} else if !errors.Is(err, errReplay) {
						t.Errorf("UpdateAuthenticator: %v", err)
					}
				}()
			}
			wg.Wait()
			wantEqual(t, "accepted codes", wins, 1)
		}},
		{"TransactionIsConsumedOnce", func(t *testing.T, s store.Store) {
			tx := &store.MFATransaction{ID: "h1", UserID: "auth0|u", ClientID: "c", Scopes: []string{"openid"}, ConnectorData: []byte(`{"refresh_token":"r"}`),
				CreatedAt: time.Now().UTC().Truncate(time.Second), ExpiresAt: time.Now().Add(time.Minute).UTC().Truncate(time.Second)}
			must(t, s.CreateMFATransaction(ctx(t), tx))
			wantEqual(t, "transaction", ok[*store.MFATransaction](t)(s.GetMFATransaction(ctx(t), "h1")), tx)
			got := ok[*store.MFATransaction](t)(s.UpdateMFATransaction(ctx(t), "h1", func(x *store.MFATransaction) error {
				x.Challenge = &store.OOBChallenge{OOBCode: "o", CodeHash: []byte{9}}
				return nil
			}))
			wantEqual(t, "challenge", got.Challenge.OOBCode, "o")
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if s.DeleteMFATransaction(ctx(t), "h1") == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			wantEqual(t, "consumers", wins, 1)
			_, err := s.GetMFATransaction(ctx(t), "h1")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"BucketStartsEmptyAndKeepsItsState", func(t *testing.T, s store.Store) {
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for i := range 3 {
				b := ok[*store.MFABucket](t)(s.UpdateMFABucket(ctx(t), "auth0|u", func(b *store.MFABucket) error {
					if i == 0 && (b.Tokens != 0 || !b.At.IsZero()) {
						t.Errorf("first bucket = %+v, want zero", b)
					}
					b.Tokens, b.At = b.Tokens+1, at
					return nil
				}))
				wantEqual(t, "tokens", b.Tokens, float64(i+1))
			}
		}},
		{"BucketFirstWritesAreAllCounted", func(t *testing.T, s store.Store) {
			// A user's first attempts, released together, find no row to
			// lock: none may be lost, or a burst of guesses goes uncounted.
			for round := range 10 {
				user := fmt.Sprintf("auth0|burst-%d", round)
				releaseTogether(6, func() {
					if _, err := s.UpdateMFABucket(ctx(t), user, func(b *store.MFABucket) error {
						b.Tokens++
						return nil
					}); err != nil {
						t.Errorf("UpdateMFABucket: %v", err)
					}
				})
				b := ok[*store.MFABucket](t)(s.UpdateMFABucket(ctx(t), user, func(*store.MFABucket) error { return nil }))
				wantEqual(t, "tokens of "+user, b.Tokens, 6.0)
			}
		}},
	}
}
