package ad_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/ldaptest"
)

var people = []ldaptest.Person{
	{UID: "ann", Password: "ann-pass", Mail: "ann@corp.example", GivenName: "Ann", Surname: "Lee", Groups: []string{"staff", "admins"}},
	{UID: "bob", Password: "bob-pass", Mail: "bob@corp.example", GivenName: "Bob", Surname: "Ray", Groups: []string{"staff"}},
}

// ldapSetup is a real gatehouse with an ad connection "corp-ldap" in front
// of a real slapd, created through the Management API.
type ldapSetup struct {
	e   *testenv.Env
	tn  *testenv.Tenant
	dir *ldaptest.Server
	id  string // the connection's id
}

func startLDAP(t testing.TB, tls string) *ldapSetup {
	t.Helper()
	dir := ldaptest.Start(t, people...)
	e := testenv.Start(t)
	tn := e.SeedTenant()
	opts := map[string]any{
		"bind_dn": ldaptest.ServiceDN, "bind_password": ldaptest.ServicePass,
		"base_dn": ldaptest.PeopleDN, "group_base_dn": ldaptest.GroupsDN,
		"disabled_filter": "(description=disabled)", "ca_bundle": string(dir.CAPEM),
	}
	switch tls {
	case "starttls":
		opts["url"], opts["start_tls"] = dir.URL(), true
	case "ldaps":
		opts["url"] = dir.TLSURL()
	default:
		opts["url"] = dir.URL()
	}
	conn := e.API("POST", "/connections", map[string]any{"name": "corp-ldap", "strategy": "ad",
		"enabled_clients": []string{tn.ClientID}, "options": opts}, 201)
	return &ldapSetup{e: e, tn: tn, dir: dir, id: conn["id"].(string)}
}

func (s *ldapSetup) login(username, password string) (int, map[string]any) {
	return s.e.PostForm("/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"corp-ldap"},
		"username": {username}, "password": {password}, "scope": {"openid profile email offline_access"},
		"audience":  {s.tn.API},
		"client_id": {s.tn.ClientID}, "client_secret": {s.tn.ClientSecret},
	})
}

func (s *ldapSetup) refresh(token string) (int, map[string]any) {
	return s.e.PostForm("/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {token},
		"client_id": {s.tn.ClientID}, "client_secret": {s.tn.ClientSecret},
	})
}

func (s *ldapSetup) admin(t *testing.T) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(s.dir.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(ldaptest.AdminDN, ldaptest.AdminPass); err != nil {
		t.Fatal(err)
	}
	return c
}

// Logins through the directory over StartTLS and LDAPS (the test CA in
// ca_bundle): the right password gets tokens and a stored user with the
// mapped profile and groups; a wrong password, an unknown user and filter
// injections are the same refusal.
func TestLDAPLogin(t *testing.T) {
	t.Parallel()
	for _, tls := range []string{"starttls", "ldaps"} {
		t.Run(tls, func(t *testing.T) {
			t.Parallel()
			s := startLDAP(t, tls)
			status, body := s.login("ann", "ann-pass")
			if status != 200 || body["access_token"] == nil || body["refresh_token"] == nil {
				t.Fatalf("login: %d %v", status, body)
			}
			u := s.e.API("GET", "/users/"+url.PathEscape("ad|corp-ldap|ann"), nil, 200)
			groups := []string{}
			for _, g := range u["groups"].([]any) {
				groups = append(groups, g.(string))
			}
			slices.Sort(groups)
			if u["email"] != "ann@corp.example" || u["given_name"] != "Ann" || u["family_name"] != "Lee" ||
				!slices.Equal(groups, []string{"admins", "staff"}) {
				t.Errorf("stored user: %v", u)
			}
			ids := u["identities"].([]any)
			if id := ids[0].(map[string]any); id["provider"] != "ad" || id["connection"] != "corp-ldap" || id["user_id"] != "corp-ldap|ann" {
				t.Errorf("identity: %v", id)
			}
			// A second login updates the same user.
			if status, body := s.login("ann", "ann-pass"); status != 200 {
				t.Fatalf("second login: %d %v", status, body)
			}
			if u := s.e.API("GET", "/users/"+url.PathEscape("ad|corp-ldap|ann"), nil, 200); u["logins_count"] != float64(2) {
				t.Errorf("logins_count %v, want 2", u["logins_count"])
			}
			for _, tc := range []struct{ name, user, pass string }{
				{"wrong password", "ann", "bob-pass"},
				{"unknown user", "nobody", "ann-pass"},
				{"wildcard injection", "*", "ann-pass"},
				{"filter injection", "ann)(|(uid=*", "ann-pass"},
				{"injection closing the filter", "a*)(uid=ann", "ann-pass"},
			} {
				status, body := s.login(tc.user, tc.pass)
				if status != 403 || body["error"] != "invalid_grant" {
					t.Errorf("%s: %d %v, want 403 invalid_grant", tc.name, status, body)
				}
			}
		})
	}
}

// The Management API never shows the service account's password, and an
// update that leaves it out keeps it.
func TestLDAPBindPasswordNeverShown(t *testing.T) {
	t.Parallel()
	s := startLDAP(t, "starttls")
	c := s.e.API("GET", "/connections/"+s.id, nil, 200)
	opts := c["options"].(map[string]any)
	if _, ok := opts["bind_password"]; ok || opts["bind_dn"] != ldaptest.ServiceDN {
		t.Fatalf("options shown: %v", opts)
	}
	opts["read_timeout_ms"] = 5000
	up := s.e.API("PATCH", "/connections/"+s.id, map[string]any{"options": opts}, 200)
	if strings.Contains(strings.ToLower(toJSON(up)), ldaptest.ServicePass) {
		t.Fatalf("PATCH answer shows the bind password: %v", up)
	}
	if status, body := s.login("ann", "ann-pass"); status != 200 {
		t.Fatalf("login after an update without bind_password: %d %v", status, body)
	}
	// Pointed at another server, the stored password is not carried along:
	// it would be sent there. The update must give it again.
	moved := map[string]any{}
	for k, v := range opts {
		moved[k] = v
	}
	moved["url"] = "ldap://127.0.0.1:1"
	if got := s.e.API("PATCH", "/connections/"+s.id, map[string]any{"options": moved}, 400); !strings.Contains(toJSON(got), "options.bind_password") {
		t.Fatalf("url changed without the password: %v, want options.bind_password named", got)
	}
	moved["bind_password"] = ldaptest.ServicePass
	moved["url"] = opts["url"]
	s.e.API("PATCH", "/connections/"+s.id, map[string]any{"options": moved}, 200)
	if status, body := s.login("ann", "ann-pass"); status != 200 {
		t.Fatalf("login after the password was given again: %d %v", status, body)
	}
	for _, tc := range []struct {
		name, field string
		opts        map[string]any
	}{
		{"bad url", "options.url", map[string]any{"url": "http://x", "base_dn": "dc=x"}},
		{"bad filter", "options.user_filter", map[string]any{"url": "ldap://x", "base_dn": "dc=x", "user_filter": "(uid={0}"}},
	} {
		for _, m := range []string{"PATCH", "POST"} {
			path, body := "/connections/"+s.id, map[string]any{"options": tc.opts}
			if m == "POST" {
				path, body = "/connections", map[string]any{"name": "other", "strategy": "ad", "options": tc.opts}
			}
			got := s.e.API(m, path, body, 400)
			if !strings.Contains(toJSON(got), tc.field) {
				t.Errorf("%s %s: %v, want the field %s named", m, tc.name, got, tc.field)
			}
		}
	}
}

// A user disabled in the directory loses refresh (and login); a user
// deleted from it too.
func TestLDAPDisabledUserLosesRefresh(t *testing.T) {
	t.Parallel()
	s := startLDAP(t, "starttls")
	tokens := map[string]string{}
	for _, p := range people {
		status, body := s.login(p.UID, p.Password)
		if status != 200 {
			t.Fatalf("login %s: %d %v", p.UID, status, body)
		}
		tokens[p.UID] = body["refresh_token"].(string)
		if status, body := s.refresh(tokens[p.UID]); status != 200 {
			t.Fatalf("refresh %s: %d %v", p.UID, status, body)
		}
	}
	admin := s.admin(t)
	mod := ldap.NewModifyRequest(people[1].DN(), nil)
	mod.Add("description", []string{"disabled"})
	if err := admin.Modify(mod); err != nil {
		t.Fatal(err)
	}
	if status, body := s.refresh(tokens["bob"]); status < 400 || status >= 500 {
		t.Errorf("refresh of a disabled user: %d %v, want a refusal", status, body)
	}
	if status, body := s.login("bob", "bob-pass"); status != 401 && status != 403 {
		t.Errorf("login of a disabled user: %d %v, want a refusal", status, body)
	}
	if err := admin.Del(ldap.NewDelRequest(people[0].DN(), nil)); err != nil {
		t.Fatal(err)
	}
	if status, body := s.refresh(tokens["ann"]); status != 403 || body["error"] != "invalid_grant" {
		t.Errorf("refresh of a deleted user: %d %v, want 403 invalid_grant", status, body)
	}
}

// The directory stops mid-test: logins and refreshes answer 503
// temporarily_unavailable (never a wrong password), the status endpoint
// says so, and once slapd is back everything works again without
// restarting gatehouse.
func TestLDAPDirectoryDown(t *testing.T) {
	t.Parallel()
	s := startLDAP(t, "starttls")
	status, body := s.login("ann", "ann-pass")
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	rt := body["refresh_token"].(string)
	s.e.API("GET", "/connections/"+s.id+"/status", nil, 200)

	s.dir.Stop()
	for _, pw := range []string{"ann-pass", "wrong"} {
		if status, body := s.login("ann", pw); status != 503 || body["error"] != "temporarily_unavailable" {
			t.Errorf("login (%s) while down: %d %v, want 503 temporarily_unavailable", pw, status, body)
		}
	}
	if status, body := s.refresh(rt); status != 503 || body["error"] != "temporarily_unavailable" {
		t.Errorf("refresh while down: %d %v, want 503 temporarily_unavailable", status, body)
	}
	s.e.API("GET", "/connections/"+s.id+"/status", nil, 404)

	s.dir.Start()
	if status, body := s.login("ann", "ann-pass"); status != 200 {
		t.Errorf("login once back: %d %v", status, body)
	}
	if status, body := s.refresh(rt); status != 200 {
		t.Errorf("refresh once back: %d %v", status, body)
	}
	s.e.API("GET", "/connections/"+s.id+"/status", nil, 200)
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Two ad connections in front of the same directory each have their own
// user for one person ("ad|<connection>|<uid>"), so neither login is
// refused. A person whose email another stored user of the connection has
// (an address moved to another entry) is refused with 403 access_denied,
// never a server error, and the other user stays as they were.
func TestLDAPTwoConnectionsOneDirectory(t *testing.T) {
	t.Parallel()
	s := startLDAP(t, "starttls")
	s.e.API("POST", "/connections", map[string]any{"name": "corp-ldap-two", "strategy": "ad",
		"enabled_clients": []string{s.tn.ClientID}, "options": map[string]any{
			"url": s.dir.URL(), "start_tls": true, "ca_bundle": string(s.dir.CAPEM),
			"bind_dn": ldaptest.ServiceDN, "bind_password": ldaptest.ServicePass, "base_dn": ldaptest.PeopleDN,
		}}, 201)
	for _, realm := range []string{"corp-ldap", "corp-ldap-two", "corp-ldap"} {
		status, body := s.e.PostForm("/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {realm},
			"username": {"ann"}, "password": {"ann-pass"}, "scope": {"openid"},
			"client_id": {s.tn.ClientID}, "client_secret": {s.tn.ClientSecret},
		})
		if status != 200 {
			t.Fatalf("login through %s: %d %v", realm, status, body)
		}
	}
	for _, realm := range []string{"corp-ldap", "corp-ldap-two"} {
		u := s.e.API("GET", "/users/"+url.PathEscape("ad|"+realm+"|ann"), nil, 200)
		if id := u["identities"].([]any)[0].(map[string]any); id["connection"] != realm || u["email"] != "ann@corp.example" {
			t.Errorf("user of %s: %v", realm, u)
		}
	}

	// bob takes ann's address in the directory.
	mod := ldap.NewModifyRequest(people[1].DN(), nil)
	mod.Replace("mail", []string{"ann@corp.example"})
	if err := s.admin(t).Modify(mod); err != nil {
		t.Fatal(err)
	}
	status, body := s.login("bob", "bob-pass")
	if status != 403 || body["error"] != "access_denied" || !strings.Contains(body["error_description"].(string), "conflicts") {
		t.Errorf("login of a person whose email another user has: %d %v, want 403 access_denied", status, body)
	}
	s.e.API("GET", "/users/"+url.PathEscape("ad|corp-ldap|bob"), nil, 404)
	if status, body := s.login("ann", "ann-pass"); status != 200 {
		t.Errorf("ann after bob's refusal: %d %v", status, body)
	}
}
