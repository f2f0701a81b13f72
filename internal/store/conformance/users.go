package conformance

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func userTests() []test {
	return []test{
		{"CreateThenGetRoundTripsEveryField", func(t *testing.T, s store.Store) {
			want := newUser("auth0|1", "con_1", "db", "Ada@Example.test", "Ada")
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "Ada@Example.test", "Ada")))
			wantEqual(t, "GetUser", ok[*store.User](t)(s.GetUser(ctx(t), "auth0|1")), want)
		}},
		{"UsersWithoutEmailOrUsernameCoexist", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "", "")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_1", "db", "", "")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|3", "con_1", "db", "only@mail.test", "")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|4", "con_1", "db", "", "onlyname")))
			_, err := s.UserByIdentifier(ctx(t), "con_1", "")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"SameEmailOrUsernameInAnotherConnectionIsAllowed", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@x.test", "ann")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_2", "other", "A@X.test", "ANN")))
		}},
		{"UserByIdentifierMatchesEmailOrUsernameCaseInsensitively", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "Ada@Example.test", "AdaL")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_1", "db", "grace@example.test", "grace")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|3", "con_2", "other", "ada@example.test", "adal")))
			for _, tc := range []struct {
				conn, identifier, want string // want "" means ErrNotFound
			}{
				{"con_1", "Ada@Example.test", "auth0|1"},
				{"con_1", "ada@example.test", "auth0|1"},
				{"con_1", "ADA@EXAMPLE.TEST", "auth0|1"},
				{"con_1", "adal", "auth0|1"},
				{"con_1", "ADAL", "auth0|1"},
				{"con_1", "Grace", "auth0|2"},
				{"con_2", "ADA@example.test", "auth0|3"},
				{"con_1", "ada", ""},
				{"con_1", "auth0|1", ""},
				{"con_3", "adal", ""},
			} {
				u, err := s.UserByIdentifier(ctx(t), tc.conn, tc.identifier)
				switch {
				case tc.want == "" && !isNotFound(err):
					t.Errorf("UserByIdentifier(%q, %q) = %v, %v; want ErrNotFound", tc.conn, tc.identifier, u, err)
				case tc.want != "" && err != nil:
					t.Errorf("UserByIdentifier(%q, %q) error = %v", tc.conn, tc.identifier, err)
				case tc.want != "" && u.UserID != tc.want:
					t.Errorf("UserByIdentifier(%q, %q) = %s, want %s", tc.conn, tc.identifier, u.UserID, tc.want)
				}
			}
			wantEqual(t, "UserByIdentifier", ok[*store.User](t)(s.UserByIdentifier(ctx(t), "con_1", "adal")),
				newUser("auth0|1", "con_1", "db", "Ada@Example.test", "AdaL"))
		}},
		{"UserByIdentifierPrefersEmailMatch", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|byname", "con_1", "db", "", "x@y.test")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|bymail", "con_1", "db", "X@y.test", "")))
			if u := ok[*store.User](t)(s.UserByIdentifier(ctx(t), "con_1", "x@y.test")); u.UserID != "auth0|bymail" {
				t.Fatalf("UserByIdentifier = %s, want the email match auth0|bymail", u.UserID)
			}
		}},
		{"ListFiltersByConnectionNameAndEmail", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "A@x.test", "a")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_1", "db", "b@x.test", "b")))
			must(t, s.CreateUser(ctx(t), newUser("auth0|3", "con_2", "other", "a@x.test", "a")))
			for _, tc := range []struct {
				q    store.UserQuery
				want []string
			}{
				{store.UserQuery{}, []string{"auth0|1", "auth0|2", "auth0|3"}},
				{store.UserQuery{Connection: "db"}, []string{"auth0|1", "auth0|2"}},
				{store.UserQuery{Email: "a@X.TEST"}, []string{"auth0|1", "auth0|3"}},
				{store.UserQuery{Connection: "db", Email: "a@x.test"}, []string{"auth0|1"}},
				{store.UserQuery{Connection: "con_1"}, []string{}},
				{store.UserQuery{Email: "a"}, []string{}},
			} {
				got, total, err := s.ListUsers(ctx(t), tc.q, store.Page{})
				must(t, err)
				wantEqual(t, fmt.Sprintf("ListUsers(%+v)", tc.q), ids(got, userID), tc.want)
				if total != len(tc.want) {
					t.Errorf("ListUsers(%+v) total = %d, want %d", tc.q, total, len(tc.want))
				}
			}
		}},
		{"UpdateMovesEmailLookup", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "old@x.test", "old")))
			got := ok[*store.User](t)(s.UpdateUser(ctx(t), "auth0|1", func(u *store.User) error {
				u.Email = "New@X.test"
				u.Username = ""
				u.PasswordHash = "$2b$10$newhash"
				u.LoginsCount++
				return nil
			}))
			want := newUser("auth0|1", "con_1", "db", "New@X.test", "")
			want.PasswordHash = "$2b$10$newhash"
			want.LoginsCount = 8
			wantEqual(t, "UpdateUser result", got, want)
			wantEqual(t, "by new email", ok[*store.User](t)(s.UserByIdentifier(ctx(t), "con_1", "new@x.test")), want)
			for _, old := range []string{"old@x.test", "old"} {
				_, err := s.UserByIdentifier(ctx(t), "con_1", old)
				wantErr(t, err, store.ErrNotFound)
			}
			// The old email is free for another user.
			must(t, s.CreateUser(ctx(t), newUser("auth0|2", "con_1", "db", "old@x.test", "old")))
		}},
		{"DeleteRemovesUser", func(t *testing.T, s store.Store) {
			must(t, s.CreateUser(ctx(t), newUser("auth0|1", "con_1", "db", "a@x.test", "a")))
			must(t, s.DeleteUser(ctx(t), "auth0|1"))
			_, err := s.UserByIdentifier(ctx(t), "con_1", "a@x.test")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.DeleteUser(ctx(t), "auth0|1"), store.ErrNotFound)
		}},
	}
}
