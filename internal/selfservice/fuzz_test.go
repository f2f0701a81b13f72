package selfservice

import (
	"testing"
	"unicode/utf8"
)

// FuzzParseSignup: any body gives a SignupInput or an error, never a
// panic, and what it accepts is valid text.
func FuzzParseSignup(f *testing.F) {
	for _, s := range []string{
		`{"client_id":"c","email":"a@b.c","password":"p","connection":"db","user_metadata":{"k":"v"}}`,
		`{"email":"a@b.c","email":"x"}`,
		`{"user_metadata":{"k":1}}`,
		`[]`, `null`, `{"given_name":null}`, "{\"name\":\"\\u0000\"}",
	} {
		f.Add("application/json", []byte(s))
	}
	f.Add("application/x-www-form-urlencoded", []byte("email=a%40b.c&password=p&email=x"))
	f.Add("text/plain", []byte("x"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		in, err := ParseSignup(ct, body)
		if err != nil {
			return
		}
		for _, s := range []string{in.ClientID, in.Email, in.Password, in.Connection, in.Username.V, in.Name.V} {
			if !utf8.ValidString(s) {
				t.Fatalf("accepted invalid UTF-8 %q", s)
			}
		}
		for k, v := range in.UserMetadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("accepted metadata %q=%q", k, v)
			}
		}
	})
}

func TestParseSignup(t *testing.T) {
	t.Parallel()
	in, err := ParseSignup("application/json; charset=utf-8", []byte(`{"client_id":"c","email":"a@b.c","password":"p","connection":"db","username":"u","user_metadata":{"k":"v"}}`))
	if err != nil || in.ClientID != "c" || !in.Username.Set || in.Username.V != "u" || in.GivenName.Set || in.UserMetadata["k"] != "v" {
		t.Fatalf("%+v %v", in, err)
	}
	for _, bad := range []string{`{"email":1}`, `{"a":"b"} {}`, `{"email":"a","email":"b"}`, `{"user_metadata":[]}`, "{\"email\":\"\\u0000\"}"} {
		if _, err := ParseSignup("application/json", []byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
