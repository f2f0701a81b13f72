package conformance

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func selfServiceTests() []test {
	return []test{
		{"TicketRoundTripAndSingleUse", func(t *testing.T, s store.Store) {
			future := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
			tk := &store.Ticket{ID: "h1", Kind: store.TicketPasswordChange, UserID: "auth0|u1", ClientID: "c1",
				ResultURL: "https://app.example.com/done", MarkEmailVerified: true, CreatedAt: at(1), ExpiresAt: future}
			must(t, s.CreateTicket(ctx(t), tk))
			wantErr(t, s.CreateTicket(ctx(t), tk), store.ErrConflict)
			wantEqual(t, "ticket", ok[*store.Ticket](t)(s.GetTicket(ctx(t), "h1")), tk)
			enrol := &store.Ticket{ID: "h2", Kind: store.TicketGuardianEnrollment, UserID: "auth0|u1", AllowMultipleEnrollments: true,
				CreatedAt: at(1), ExpiresAt: future}
			must(t, s.CreateTicket(ctx(t), enrol))
			wantEqual(t, "enrolment ticket", ok[*store.Ticket](t)(s.GetTicket(ctx(t), "h2")), enrol)
			// Of many concurrent consumers exactly one wins.
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := s.DeleteTicket(ctx(t), "h1")
					switch {
					case err == nil:
						mu.Lock()
						wins++
						mu.Unlock()
					case !errors.Is(err, store.ErrNotFound):
						t.Errorf("DeleteTicket: %v", err)
					}
				}()
			}
			wg.Wait()
			wantEqual(t, "consumers that won", wins, 1)
			_, err := s.GetTicket(ctx(t), "h1")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"ExpiredTicketsArePrunedAndUsersTakeTheirs", func(t *testing.T, s store.Store) {
			must(t, s.CreateTicket(ctx(t), &store.Ticket{ID: "old", Kind: store.TicketEmailVerification, UserID: "auth0|x", ExpiresAt: at(1)}))
			must(t, s.CreateConnection(ctx(t), newConnection("con_1", "db", "auth0")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|u1", "con_1", "db", "a@x.test", "")))
			must(t, s.CreateTicket(ctx(t), &store.Ticket{ID: "new", Kind: store.TicketEmailVerification, UserID: "auth0|u1", ExpiresAt: time.Now().Add(time.Hour)}))
			_, err := s.GetTicket(ctx(t), "old")
			wantErr(t, err, store.ErrNotFound)
			must(t, s.DeleteUser(ctx(t), "auth0|u1"))
			_, err = s.GetTicket(ctx(t), "new")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"PasswordlessCodeCountsEveryAttempt", func(t *testing.T, s store.Store) {
			id := "con_1|a@x.test"
			c := ok[*store.PasswordlessCode](t)(s.UpdatePasswordlessCode(ctx(t), id, func(c *store.PasswordlessCode) error {
				if c.CodeHash != nil || c.ID != id {
					t.Errorf("fresh record %+v", c)
				}
				c.ConnectionID, c.Identifier, c.ClientID, c.CodeHash, c.ExpiresAt = "con_1", "a@x.test", "c1", []byte{1, 2, 3}, at(100)
				return nil
			}))
			wantEqual(t, "hash", c.CodeHash, []byte{1, 2, 3})
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.UpdatePasswordlessCode(ctx(t), id, func(c *store.PasswordlessCode) error { c.Attempts++; return nil }); err != nil {
						t.Errorf("UpdatePasswordlessCode: %v", err)
					}
				}()
			}
			wg.Wait()
			errAbort := errors.New("abort")
			_, err := s.UpdatePasswordlessCode(ctx(t), id, func(c *store.PasswordlessCode) error { c.Attempts = 0; return errAbort })
			wantErr(t, err, errAbort)
			c = ok[*store.PasswordlessCode](t)(s.UpdatePasswordlessCode(ctx(t), id, func(*store.PasswordlessCode) error { return nil }))
			wantEqual(t, "attempts", c.Attempts, 8)
			wantEqual(t, "kept fields", c.ClientID+"|"+c.Identifier, "c1|a@x.test")
			must(t, s.DeletePasswordlessCode(ctx(t), id))
			wantErr(t, s.DeletePasswordlessCode(ctx(t), id), store.ErrNotFound)
		}},
		{"RateBucketUpdatesDoNotLoseTokens", func(t *testing.T, s store.Store) {
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.UpdateRateBucket(ctx(t), "ip:192.0.2.1", func(b *store.RateBucket) error {
						b.Tokens++
						b.ExpiresAt = time.Now().Add(time.Hour)
						return nil
					}); err != nil {
						t.Errorf("UpdateRateBucket: %v", err)
					}
				}()
			}
			wg.Wait()
			b := ok[*store.RateBucket](t)(s.UpdateRateBucket(ctx(t), "ip:192.0.2.1", func(*store.RateBucket) error { return nil }))
			wantEqual(t, "tokens", b.Tokens, 8.0)
			wantEqual(t, "key", b.Key, "ip:192.0.2.1")
		}},
		{"RateBucketFirstWritesDoNotLoseTokens", func(t *testing.T, s store.Store) {
			// The race is at a bucket's first write, when there is no row
			// to lock yet: writers released together on fresh keys.
			for round := range 10 {
				key := fmt.Sprintf("ip:198.51.100.%d", round)
				releaseTogether(6, func() {
					if _, err := s.UpdateRateBucket(ctx(t), key, func(b *store.RateBucket) error {
						b.Tokens++
						b.ExpiresAt = time.Now().Add(time.Hour)
						return nil
					}); err != nil {
						t.Errorf("UpdateRateBucket: %v", err)
					}
				})
				b := ok[*store.RateBucket](t)(s.UpdateRateBucket(ctx(t), key, func(*store.RateBucket) error { return nil }))
				wantEqual(t, "tokens of "+key, b.Tokens, 6.0)
			}
		}},
	}
}

// releaseTogether runs write on n goroutines released at the same moment
// and waits for all of them: the way to meet a race on a row's first write.
func releaseTogether(n int, write func()) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			write()
		})
	}
	close(start)
	wg.Wait()
}
