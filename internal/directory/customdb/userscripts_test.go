package customdb_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// oldStore is the tenant's own user store the scripts talk to over HTTP:
// users by email with their passwords, and a count of calls per route.
type oldStore struct {
	mu     sync.Mutex
	nextID int
	users  map[string]*oldUser // by email
	calls  map[string]int
	srv    *httptest.Server
}

type oldUser struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Password string `json:"password,omitempty"`
	Name     string `json:"name"`
	Verified bool   `json:"email_verified"`
}

func startOldStore(t *testing.T) *oldStore {
	s := &oldStore{users: map[string]*oldUser{}, calls: map[string]int{}, nextID: 100}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *oldStore) add(email, password, name string) *oldUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	u := &oldUser{ID: "legacy-" + strconv.Itoa(s.nextID), Email: email, Password: password, Name: name}
	s.users[email] = u
	return u
}

func (s *oldStore) get(email string) (oldUser, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[email]
	if !ok {
		return oldUser{}, false
	}
	return *u, true
}

func (s *oldStore) count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

func (s *oldStore) serve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email, Password, Name, NewEmail string
		Verified                        bool
	}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		var raw map[string]any
		if json.Unmarshal(b, &raw) == nil {
			in.Email, _ = raw["email"].(string)
			in.Password, _ = raw["password"].(string)
			in.Name, _ = raw["name"].(string)
			in.NewEmail, _ = raw["new_email"].(string)
			in.Verified, _ = raw["verified"].(bool)
		}
	}
	route := r.Method + " " + r.URL.Path
	if strings.HasPrefix(r.URL.Path, "/users/") {
		route = r.Method + " /users/{id}"
	}
	var u *oldUser
	if route != "POST /users" {
		u = s.lookup(r, in.Email)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[route]++
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	switch route {
	case "POST /login":
		if u == nil || u.Password != in.Password {
			reply(401, nil)
			return
		}
		reply(200, u)
	case "GET /users":
		if u == nil {
			reply(404, nil)
			return
		}
		reply(200, u)
	case "POST /users":
		if _, taken := s.users[in.Email]; taken {
			reply(409, nil)
			return
		}
		s.nextID++
		nu := &oldUser{ID: "legacy-" + strconv.Itoa(s.nextID), Email: in.Email, Password: in.Password, Name: in.Name}
		s.users[in.Email] = nu
		reply(201, map[string]string{"id": nu.ID})
	case "DELETE /users/{id}":
		if u == nil {
			reply(404, nil)
			return
		}
		delete(s.users, u.Email)
		reply(204, nil)
	case "PUT /password":
		if u == nil {
			reply(404, nil)
			return
		}
		u.Password = in.Password
		reply(204, nil)
	case "POST /verify":
		if u == nil {
			reply(404, nil)
			return
		}
		u.Verified = true
		reply(204, nil)
	case "PUT /email":
		if u == nil {
			reply(404, nil)
			return
		}
		delete(s.users, u.Email)
		u.Email, u.Verified = in.NewEmail, in.Verified
		s.users[u.Email] = u
		reply(204, nil)
	default:
		reply(400, nil)
	}
}

// lookup finds the user a request names: ?email=, the body's email, or
// the id in /users/{id}.
func (s *oldStore) lookup(r *http.Request, bodyEmail string) *oldUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := strings.CutPrefix(r.URL.Path, "/users/"); ok {
		for _, u := range s.users {
			if u.ID == id {
				return u
			}
		}
		return nil
	}
	email := r.URL.Query().Get("email")
	if email == "" {
		email = bodyEmail
	}
	return s.users[email]
}

// The tenant's scripts, as Auth0's templates write them, against oldStore.
var storeScripts = map[string]string{
	"login": `function login(email, password, callback) {
  request.post({ url: configuration.STORE + '/login', json: { email: email, password: password } }, function (err, res, body) {
    if (err) return callback(err);
    if (res.statusCode === 401) return callback(new WrongUsernameOrPasswordError(email));
    if (res.statusCode !== 200) return callback(new Error('the store answered ' + res.statusCode));
    callback(null, { user_id: body.id, email: body.email, name: body.name, email_verified: body.email_verified });
  });
}`,
	"get_user": `function getByEmail(email, callback) {
  request.get({ url: configuration.STORE + '/users', qs: { email: email }, json: true }, function (err, res, body) {
    if (err) return callback(err);
    if (res.statusCode === 404) return callback(null);
    callback(null, { user_id: body.id, email: body.email, name: body.name, email_verified: body.email_verified });
  });
}`,
	"create": `function create(user, callback) {
  if (/@blocked\.example$/.test(user.email)) return callback(new ValidationError('bad_domain', 'Sign ups from this domain are closed.'));
  request.post({ url: configuration.STORE + '/users', json: { email: user.email, password: user.password, name: user.name } }, function (err, res) {
    if (err) return callback(err);
    if (res.statusCode === 409) return callback(new ValidationError('user_exists', 'the user already exists'));
    callback(null);
  });
}`,
	"delete": `function remove(id, callback) {
  request.del({ url: configuration.STORE + '/users/' + encodeURIComponent(id) }, function (err, res) {
    if (err) return callback(err);
    if (res.statusCode !== 204) return callback(new Error('no such user in the store'));
    callback(null);
  });
}`,
	"change_password": `function changePassword(email, newPassword, callback) {
  request.put({ url: configuration.STORE + '/password', json: { email: email, password: newPassword } }, function (err, res) {
    if (err) return callback(err);
    callback(null, res.statusCode === 204);
  });
}`,
	"verify": `function verify(email, callback) {
  request.post({ url: configuration.STORE + '/verify', json: { email: email } }, function (err, res) {
    if (err) return callback(err);
    callback(null, res.statusCode === 204);
  });
}`,
	"change_email": `function changeEmail(email, newEmail, verified, callback) {
  if (newEmail.indexOf('spin@') === 0) for (;;) {}
  request.put({ url: configuration.STORE + '/email', json: { email: email, new_email: newEmail, verified: verified } }, function (err, res) {
    if (err) return callback(err);
    callback(null, res.statusCode === 204);
  });
}`,
}

// scriptEnv is a gatehouse with the seed tenant and a custom database
// connection "legacy-db" whose scripts are storeScripts against st.
func scriptEnv(t *testing.T, st *oldStore, importMode bool, scripts map[string]string) (*testenv.Env, *testenv.Tenant, string) {
	t.Helper()
	e := testenv.Start(t, testenv.WithConfig(func(c *config.Config) { c.ScriptTimeout = 2 * time.Second }))
	tn := e.SeedTenant()
	u, _ := url.Parse(st.srv.URL)
	conn := e.API("POST", "/connections", map[string]any{
		"name": "legacy-db", "strategy": "auth0", "enabled_clients": []string{tn.ClientID},
		"options": map[string]any{
			"enabledDatabaseCustomization": true, "import_mode": importMode, "customScripts": scripts,
			"configuration": map[string]string{"STORE": st.srv.URL}, "allowed_hosts": []string{u.Host},
		},
	}, 201)
	return e, tn, conn["id"].(string)
}

func realmLogin(e *testenv.Env, tn *testenv.Tenant, username, password string) (int, map[string]any) {
	return e.PostForm("/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"legacy-db"},
		"username": {username}, "password": {password}, "scope": {"openid profile email"},
		"client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret},
	})
}

var hiddenField = regexp.MustCompile(`name="(ticket|csrf)" value="([^"]+)"`)

// resetThroughLink opens a password-change ticket's page and posts the new
// password in it, as a browser does; it returns the post's status and page.
func resetThroughLink(t *testing.T, link, password string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := b.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"password": {password}, "confirm": {password}}
	for _, m := range hiddenField.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	resp, err = b.PostForm(link, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// TestLegacyStoreScripts: a custom database connection without import mode
// keeps its users in the tenant's store. Signup and the Management API
// create them through the create script (refusals as Auth0 answers them),
// logins ask the login script, a password change (Management API and
// reset link) goes through change_password, an email change through
// change_email, email verification through verify, a reset for a user
// gatehouse never saw through get_user, and a deletion through delete. A
// script that runs past the limit is 503, never a change.
func TestLegacyStoreScripts(t *testing.T) {
	t.Parallel()
	st := startOldStore(t)
	e, tn, connID := scriptEnv(t, st, false, storeScripts)

	// Signup: the create script makes the user in the store; gatehouse
	// keeps a profile under the store's id and no password.
	status, body := e.PostJSON("/dbconnections/signup", map[string]any{
		"client_id": tn.ClientID, "connection": "legacy-db", "email": "carl@example.com", "password": "Carl's password 1!", "name": "Carl",
	})
	carl, ok := st.get("carl@example.com")
	if status != 200 || !ok || carl.Password != "Carl's password 1!" || body["_id"] != carl.ID {
		t.Fatalf("signup: %d %v; store has %+v", status, body, carl)
	}
	local, err := e.App.Store.GetUser(context.Background(), "auth0|"+carl.ID)
	if err != nil || local.PasswordHash != "" || local.Email != "carl@example.com" {
		t.Fatalf("gatehouse's copy = %+v, %v", local, err)
	}
	// The store's ValidationError('user_exists') is Auth0's signup answer
	// for a taken address; another ValidationError shows its message.
	if status, body := e.PostJSON("/dbconnections/signup", map[string]any{
		"client_id": tn.ClientID, "connection": "legacy-db", "email": "carl@example.com", "password": "Other password 2!",
	}); status != 400 || body["code"] != "invalid_signup" {
		t.Errorf("signup of a taken address: %d %v", status, body)
	}
	if status, body := e.PostJSON("/dbconnections/signup", map[string]any{
		"client_id": tn.ClientID, "connection": "legacy-db", "email": "eve@blocked.example", "password": "Eve's password 3!",
	}); status != 400 || body["description"] != "Sign ups from this domain are closed." {
		t.Errorf("signup refused by the create script: %d %v", status, body)
	}

	// The Management API creates through the same script.
	dora := e.API("POST", "/users", map[string]any{"connection": "legacy-db", "email": "dora@example.com", "password": "Dora's password 4!"}, 201)
	doraStored, _ := st.get("dora@example.com")
	if dora["user_id"] != "auth0|"+doraStored.ID {
		t.Errorf("created user %v; store id %s", dora["user_id"], doraStored.ID)
	}
	refused := e.API("POST", "/users", map[string]any{"connection": "legacy-db", "email": "fred@blocked.example", "password": "Fred's password 5!"}, 400)
	if refused["errorCode"] != "auth0_idp_error" || refused["message"] != "Sign ups from this domain are closed." {
		t.Errorf("create refused by the script = %v", refused)
	}
	e.API("POST", "/users", map[string]any{"connection": "legacy-db", "email": "dora@example.com", "password": "Dora's password 4!"}, 409)

	// Logins ask the store.
	if status, body := realmLogin(e, tn, "carl@example.com", "Carl's password 1!"); status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	// A password change through the Management API reaches the store.
	carlID := "auth0|" + carl.ID
	e.API("PATCH", "/users/"+carlID, map[string]any{"connection": "legacy-db", "password": "Carl's new password 6!"}, 200)
	if got, _ := st.get("carl@example.com"); got.Password != "Carl's new password 6!" {
		t.Fatalf("store password after PATCH = %q", got.Password)
	}
	if status, _ := realmLogin(e, tn, "carl@example.com", "Carl's password 1!"); status != 403 {
		t.Errorf("old password still logs in: %d", status)
	}
	if status, body := realmLogin(e, tn, "carl@example.com", "Carl's new password 6!"); status != 200 {
		t.Errorf("new password: %d %v", status, body)
	}

	// Email verification through a ticket runs verify.
	ticket := e.API("POST", "/tickets/email-verification", map[string]any{"user_id": carlID}, 201)
	resp, err := http.Get(ticket["ticket"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, _ := st.get("carl@example.com"); resp.StatusCode != 200 || !got.Verified {
		t.Errorf("verify link: %d, store verified %v", resp.StatusCode, got.Verified)
	}

	// An email change runs change_email; one that spins is cut: 503.
	e.API("PATCH", "/users/"+carlID, map[string]any{"connection": "legacy-db", "email": "carl@new.example", "email_verified": true}, 200)
	if got, ok := st.get("carl@new.example"); !ok || !got.Verified {
		t.Errorf("store after the email change: %+v %v", got, ok)
	}
	start := time.Now()
	spun := e.API("PATCH", "/users/"+carlID, map[string]any{"connection": "legacy-db", "email": "spin@example.com"}, 503)
	if took := time.Since(start); took > 10*time.Second || spun["errorCode"] != "temporarily_unavailable" {
		t.Errorf("spinning change_email: %v after %v", spun, took)
	}
	if u := e.API("GET", "/users/"+carlID, nil, 200); u["email"] != "carl@new.example" {
		t.Errorf("email after the failed change = %v", u["email"])
	}

	// A user only the store knows resets their password by link: get_user
	// finds them (gatehouse keeps a copy), change_password sets it.
	gil := st.add("gil@example.com", "Gil's old password 7!", "Gil")
	ticket = e.API("POST", "/tickets/password-change", map[string]any{"email": "gil@example.com", "connection_id": connID}, 201)
	if status, page := resetThroughLink(t, ticket["ticket"].(string), "Gil's new password 8!"); status != 200 || !strings.Contains(page, "Your password has been changed.") {
		t.Fatalf("reset page: %d %s", status, page)
	}
	if got, _ := st.get("gil@example.com"); got.Password != "Gil's new password 8!" {
		t.Errorf("store password after the reset = %q", got.Password)
	}
	if u, err := e.App.Store.GetUser(context.Background(), "auth0|"+gil.ID); err != nil || u.PasswordHash != "" {
		t.Errorf("gatehouse's copy of gil = %+v, %v", u, err)
	}
	if status, body := realmLogin(e, tn, "gil@example.com", "Gil's new password 8!"); status != 200 {
		t.Errorf("login after the reset: %d %v", status, body)
	}

	// A store that calls back with an Error refuses the change: 400 with
	// its message, and gatehouse keeps the user.
	st.mu.Lock()
	delete(st.users, "dora@example.com")
	st.mu.Unlock()
	if got := e.API("DELETE", "/users/"+dora["user_id"].(string), nil, 400); got["errorCode"] != "auth0_idp_error" || got["message"] != "no such user in the store" {
		t.Errorf("delete refused by the script = %v", got)
	}
	e.API("GET", "/users/"+dora["user_id"].(string), nil, 200)

	// Delete runs the delete script, then forgets the copy.
	e.API("DELETE", "/users/"+carlID, nil, 204)
	if _, ok := st.get("carl@new.example"); ok {
		t.Error("the store still has the deleted user")
	}
	e.API("GET", "/users/"+carlID, nil, 404)
	if st.count("DELETE /users/{id}") != 2 {
		t.Errorf("delete calls = %d", st.count("DELETE /users/{id}"))
	}
}

// TestImportModeScripts: with import_mode, users move into gatehouse. A
// signup of an address the old store still has is refused after get_user
// (no create script call); a new one is created in gatehouse. A user not
// moved yet who resets their password is found by get_user and moves with
// the new password: their next logins never reach the old store.
func TestImportModeScripts(t *testing.T) {
	t.Parallel()
	st := startOldStore(t)
	st.add("hana@example.com", "Hana's old password 1!", "Hana")
	ivo := st.add("ivo@example.com", "Ivo's old password 2!", "Ivo")
	e, tn, connID := scriptEnv(t, st, true, storeScripts)

	signup := func(email string) (int, map[string]any) {
		return e.PostJSON("/dbconnections/signup", map[string]any{
			"client_id": tn.ClientID, "connection": "legacy-db", "email": email, "password": "A fine password 3!",
		})
	}
	if status, body := signup("hana@example.com"); status != 400 || body["code"] != "invalid_signup" {
		t.Errorf("signup of an address the old store has: %d %v", status, body)
	}
	status, body := signup("jon@example.com")
	if status != 200 {
		t.Fatalf("signup of a new address: %d %v", status, body)
	}
	if st.count("POST /users") != 0 {
		t.Error("import mode called the create script")
	}
	if _, ok := st.get("jon@example.com"); ok {
		t.Error("the new user went to the old store")
	}
	if status, body := realmLogin(e, tn, "jon@example.com", "A fine password 3!"); status != 200 {
		t.Errorf("login of the new user: %d %v", status, body)
	}

	ticket := e.API("POST", "/tickets/password-change", map[string]any{"email": "ivo@example.com", "connection_id": connID}, 201)
	if status, page := resetThroughLink(t, ticket["ticket"].(string), "Ivo's new password 4!"); status != 200 {
		t.Fatalf("reset page: %d %s", status, page)
	}
	if got, _ := st.get("ivo@example.com"); got.Password != "Ivo's old password 2!" || st.count("PUT /password") != 0 {
		t.Error("import mode changed the old store's password")
	}
	logins := st.count("POST /login")
	status, body = realmLogin(e, tn, "ivo@example.com", "Ivo's new password 4!")
	if status != 200 {
		t.Fatalf("login with the reset password: %d %v", status, body)
	}
	if sub := claimsOf(t, body["id_token"].(string))["sub"]; sub != "auth0|"+ivo.ID {
		t.Errorf("sub = %v, want the old store's id", sub)
	}
	if st.count("POST /login") != logins {
		t.Errorf("the login of a moved user reached the old store")
	}

	// Deleting a moved user runs the delete script too.
	e.API("DELETE", "/users/auth0|"+ivo.ID, nil, 204)
	if _, ok := st.get("ivo@example.com"); ok {
		t.Error("the old store still has the deleted user")
	}
}
