package scripts

import (
	"context"

	"github.com/dop251/goja"
)

// DatabaseInput is one call of a custom database script.
type DatabaseInput struct {
	Script Script
	// Configuration is the connection's options.configuration, exposed as
	// `configuration`.
	Configuration map[string]string
	// AllowedHosts bounds the script's outbound HTTP.
	AllowedHosts []string
}

// Profile is the user a database script called back with. Attributes is
// the whole object; the named fields are read from it.
type Profile struct {
	UserID        string
	Email         string
	EmailVerified bool
	Username      string
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	PhoneNumber   string
	AppMetadata   map[string]any
	UserMetadata  map[string]any
	Attributes    map[string]any
}

// DatabaseOutcome is a database script's answer when it did not fail.
type DatabaseOutcome struct {
	// Profile is the user; nil when the credentials are wrong (Login) or
	// there is no such user (GetUser), or when the script called back with
	// no object.
	Profile *Profile
	// Message is the WrongUsernameOrPasswordError's message, if any.
	Message string
	// Result is the callback's second argument when it is a boolean:
	// change_password's and verify's "done" (callback(null, true)).
	Result, HasResult bool
}

// Login runs Auth0's `function login(email, password, callback)`.
// callback(null, profile) logs the user in; callback(null) or
// WrongUsernameOrPasswordError means wrong credentials; any other error
// is a *Failure.
func (s *Sandbox) Login(ctx context.Context, in DatabaseInput, email, password string) (DatabaseOutcome, error) {
	return s.Database(ctx, in, email, password)
}

// GetUser runs Auth0's get_user script, `function getByEmail(email,
// callback)` (any name): callback(null) means no such user.
func (s *Sandbox) GetUser(ctx context.Context, in DatabaseInput, email string) (DatabaseOutcome, error) {
	return s.Database(ctx, in, email)
}

// Database runs any of Auth0's database scripts: the function is called
// with args (strings, booleans, or a map for create's user) and Auth0's
// callback(err, result). A WrongUsernameOrPasswordError is an outcome
// (Message); any other error, a ValidationError included (its code in
// Failure.Code), is a *Failure of KindError.
func (s *Sandbox) Database(ctx context.Context, in DatabaseInput, args ...any) (DatabaseOutcome, error) {
	c := s.compile(shapeFunction, in.Script.Source)
	r, err := s.begin(ctx, in.AllowedHosts)
	if err != nil {
		return DatabaseOutcome{}, err
	}
	defer r.end()
	r.script = in.Script.label()
	out, err := r.database(c, in, args)
	if err != nil {
		s.logFailure(err)
	}
	return out, err
}

func (r *run) database(c *compiled, in DatabaseInput, args []any) (DatabaseOutcome, error) {
	rt := r.v.rt
	fn, err := r.v.entry(r, c, shapeFunction)
	if err != nil {
		return DatabaseOutcome{}, err
	}
	_ = rt.Set("configuration", toJS(rt, nonNilStrings(in.Configuration)))
	called := false
	var cbErr, cbProfile goja.Value
	callback := rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if !called {
			called = true
			cbErr, cbProfile = call.Argument(0), call.Argument(1)
		}
		return goja.Undefined()
	})
	jsArgs := make([]goja.Value, 0, len(args)+1)
	for _, a := range args {
		jsArgs = append(jsArgs, toJS(rt, a))
	}
	jsArgs = append(jsArgs, callback)
	if _, err := r.call(fn, jsArgs...); err != nil {
		return DatabaseOutcome{}, err
	}
	if err := r.wait(func() bool { return called }); err != nil {
		return DatabaseOutcome{}, err
	}
	if !goja.IsUndefined(cbErr) && !goja.IsNull(cbErr) {
		f := r.errorValue(cbErr)
		if f.Name == "WrongUsernameOrPasswordError" {
			return DatabaseOutcome{Message: f.Message}, nil
		}
		return DatabaseOutcome{}, f
	}
	if b, ok := cbProfile.Export().(bool); ok {
		return DatabaseOutcome{Result: b, HasResult: true}, nil
	}
	if _, ok := cbProfile.(*goja.Object); !ok {
		return DatabaseOutcome{}, nil
	}
	v, err := r.export(cbProfile, r.sb.opts.MaxOutputBytes)
	if err != nil {
		return DatabaseOutcome{}, err
	}
	attrs, ok := v.(map[string]any)
	if !ok {
		return DatabaseOutcome{}, &Failure{Kind: KindError, Script: r.script, Message: "the profile is not an object"}
	}
	p := &Profile{Attributes: attrs}
	str := func(k string) string {
		s, _ := attrs[k].(string)
		return s
	}
	p.UserID = str("user_id")
	if p.UserID == "" {
		switch id := attrs["id"].(type) {
		case string:
			p.UserID = id
		case int64:
			p.UserID = formatInt(id)
		}
	}
	p.Email, p.Username, p.Name = str("email"), str("username"), str("name")
	p.GivenName, p.FamilyName, p.Nickname = str("given_name"), str("family_name"), str("nickname")
	p.Picture, p.PhoneNumber = str("picture"), str("phone_number")
	p.EmailVerified, _ = attrs["email_verified"].(bool)
	p.AppMetadata = asMap(attrs["app_metadata"])
	p.UserMetadata = asMap(attrs["user_metadata"])
	return DatabaseOutcome{Profile: p}, nil
}
