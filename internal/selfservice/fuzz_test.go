package selfservice

import (
	"strings"
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

// FuzzParseStart: any /passwordless/start body gives a StartInput or an
// error, never a panic; what it accepts is text without NUL, and
// authParams stays within its bound.
func FuzzParseStart(f *testing.F) {
	for _, s := range []string{
		`{"client_id":"c","connection":"email","email":"a@b.c","send":"code","authParams":{"scope":"openid","state":"x"}}`,
		`{"connection":"sms","phone_number":"+15550100"}`,
		`{"authParams":null}`, `{"authParams":[1]}`, `{"email":{"a":1}}`, `{"email":"a","email":"b"}`,
		`[]`, `null`, "{\"email\":\"\\u0000\"}", `{"a":"b"} {}`,
	} {
		f.Add("application/json", []byte(s))
	}
	f.Add("application/x-www-form-urlencoded", []byte("connection=email&email=a%40b.c&send=code"))
	f.Add("text/plain", []byte("x"))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		in, err := ParseStart(ct, body)
		if err != nil {
			return
		}
		for k, v := range in.Params {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Fatalf("accepted %q=%q", k, v)
			}
		}
		if len(in.AuthParams) > maxAuthParams {
			t.Fatalf("%d authParams", len(in.AuthParams))
		}
	})
}

func TestParseStart(t *testing.T) {
	t.Parallel()
	in, err := ParseStart("application/json", []byte(`{"client_id":"c","connection":"email","email":"a@b.c","send":"code","authParams":{"scope":"openid"}}`))
	if err != nil || in.Params["connection"] != "email" || in.Params["email"] != "a@b.c" || in.AuthParams["scope"] != "openid" {
		t.Fatalf("%+v %v", in, err)
	}
	for _, bad := range []string{`{"email":1}`, `{"authParams":"x"}`, `{"authParams":null}`, `{"a":"b"} {}`, `{"email":"a","email":"b"}`, "{\"email\":\"\\u0000\"}", `[]`} {
		if _, err := ParseStart("application/json", []byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
