package scripts

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// oldTenantLogin is the kind of login script a tenant migrating from
// another Auth0 tenant writes: it asks the old tenant's /oauth/token.
const oldTenantLogin = `function login(email, password, callback) {
  const request = require('request');
  request.post({
    url: configuration.OLD_TENANT + '/oauth/token',
    json: { grant_type: 'password', username: email, password: password, client_id: configuration.CLIENT_ID, scope: 'openid' }
  }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode === 403) return callback(new WrongUsernameOrPasswordError(email, 'Wrong email or password.'));
    if (response.statusCode !== 200) return callback(new Error('old tenant answered ' + response.statusCode));
    callback(null, { user_id: body.sub, email: email, email_verified: true, name: body.name, app_metadata: { migrated: true } });
  });
}`

func TestDatabaseScripts(t *testing.T) {
	t.Parallel()
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if r.URL.Path != "/oauth/token" || body["client_id"] != "old-client" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if body["username"] != "ann@example.com" || body["password"] != "correct horse" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"sub":"old|42","name":"Ann"}`))
	}))
	t.Cleanup(old.Close)
	u, _ := url.Parse(old.URL)
	s := newSandbox(t, Options{})
	oldIn := DatabaseInput{
		Script:        Script{Name: "login", Source: oldTenantLogin},
		Configuration: map[string]string{"OLD_TENANT": old.URL, "CLIENT_ID": "old-client"},
		AllowedHosts:  []string{u.Host},
	}

	t.Run("login", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name     string
			in       DatabaseInput
			email    string
			password string
			userID   string
			message  string
			kind     Kind
		}{
			{name: "the old tenant knows the user", in: oldIn, email: "ann@example.com", password: "correct horse", userID: "old|42"},
			{name: "the old tenant refuses the password", in: oldIn, email: "ann@example.com", password: "nope", message: "Wrong email or password."},
			{name: "the old tenant is off the allow-list", in: DatabaseInput{Script: oldIn.Script, Configuration: oldIn.Configuration}, email: "ann@example.com", password: "correct horse", kind: KindError},
			{name: "callback(null) is wrong credentials", in: DatabaseInput{Script: Script{Source: `function login(email, password, callback) { callback(null); }`}}, email: "a"},
			{name: "a numeric id becomes the user id", in: DatabaseInput{Script: Script{Source: `function login(email, password, callback) { callback(null, { id: 7, email: email }); }`}}, email: "a", userID: "7"},
			{name: "another error fails", in: DatabaseInput{Script: Script{Source: `function login(email, password, callback) { callback(new Error('db down')); }`}}, email: "a", kind: KindError},
			{name: "a thrown error fails", in: DatabaseInput{Script: Script{Source: `function login(email, password, callback) { throw new Error('oops'); }`}}, email: "a", kind: KindError},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				out, err := s.Login(context.Background(), tc.in, tc.email, tc.password)
				if tc.kind != 0 {
					if KindOf(err) != tc.kind {
						t.Fatalf("err = %v, want %v", err, tc.kind)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if tc.userID == "" {
					if out.Profile != nil || out.Message != tc.message {
						t.Fatalf("outcome = %+v, want wrong credentials %q", out, tc.message)
					}
					return
				}
				if out.Profile == nil || out.Profile.UserID != tc.userID {
					t.Fatalf("profile = %+v", out.Profile)
				}
			})
		}
	})

	t.Run("get user", func(t *testing.T) {
		t.Parallel()
		found, err := s.GetUser(context.Background(), DatabaseInput{Script: Script{Source: `function getByEmail(email, callback) {
			if (email === 'ann@example.com') return callback(null, { user_id: 'u1', email: email, email_verified: true, user_metadata: { a: 1 } });
			callback(null);
		}`}}, "ann@example.com")
		if err != nil || found.Profile == nil || found.Profile.Email != "ann@example.com" || !found.Profile.EmailVerified || found.Profile.UserMetadata["a"] != int64(1) {
			t.Fatalf("found = %+v, %v", found.Profile, err)
		}
		missing, err := s.GetUser(context.Background(), DatabaseInput{Script: Script{Source: `function getByEmail(email, callback) { callback(null); }`}}, "bob@example.com")
		if err != nil || missing.Profile != nil {
			t.Fatalf("missing = %+v, %v", missing, err)
		}
	})

	t.Run("other scripts", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			name   string
			source string
			args   []any
			want   DatabaseOutcome
			kind   Kind
			code   string
		}{
			{name: "change_password done", source: `function changePassword(email, pw, callback) { callback(null, email === 'a@b' && pw === 'p'); }`,
				args: []any{"a@b", "p"}, want: DatabaseOutcome{Result: true, HasResult: true}},
			{name: "verify refused with false", source: `function verify(email, callback) { callback(null, false); }`,
				args: []any{"a@b"}, want: DatabaseOutcome{HasResult: true}},
			{name: "create takes the user object", source: `function create(user, callback) { callback(user.email === 'a@b' && user.user_metadata.x === 1 ? null : new Error('bad user')); }`,
				args: []any{map[string]any{"email": "a@b", "user_metadata": map[string]any{"x": 1}}}},
			{name: "change_email takes a boolean", source: `function changeEmail(email, newEmail, verified, callback) { callback(null, verified === true && newEmail === 'c@d'); }`,
				args: []any{"a@b", "c@d", true}, want: DatabaseOutcome{Result: true, HasResult: true}},
			{name: "ValidationError keeps its code", source: `function create(user, callback) { callback(new ValidationError('user_exists', 'taken')); }`,
				args: []any{map[string]any{}}, kind: KindError, code: "user_exists"},
			{name: "a thrown error", source: `function remove(id, callback) { throw new TypeError('no'); }`,
				args: []any{"1"}, kind: KindError},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				out, err := s.Database(context.Background(), DatabaseInput{Script: Script{Source: tc.source}}, tc.args...)
				if tc.kind != 0 {
					var f *Failure
					if KindOf(err) != tc.kind || !errors.As(err, &f) || f.Code != tc.code {
						t.Fatalf("err = %#v, want %v with code %q", err, tc.kind, tc.code)
					}
					return
				}
				if err != nil || out != tc.want {
					t.Fatalf("out = %+v, %v; want %+v", out, err, tc.want)
				}
			})
		}
	})
}
