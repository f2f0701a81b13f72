package scripts

import (
	"context"
	"time"

	"github.com/dop251/goja"
)

// ActionTest is one run of an Action's draft for
// POST /api/v2/actions/actions/{id}/test: the event comes as the caller
// wrote it (Auth0's dashboard sends a whole sample event), and nothing the
// Action asks for is applied anywhere.
type ActionTest struct {
	Action Action
	// Event is the payload's event; event.secrets is the Action's.
	Event map[string]any
	// AllowedHosts bounds the Action's outbound HTTP, as at login.
	AllowedHosts []string
}

// ActionTestResult is what the Action did: the api commands it issued in
// order ({"name": "SetCustomClaim", "target": "accessToken", "key": ...,
// "value": ...}, "AddScope", "RemoveScope", "Deny", "SetAppMetadata",
// "SetUserMetadata", "EnableMultifactor", "Redirect"), what it logged, and
// how long it ran.
type ActionTestResult struct {
	Commands []any
	Logs     []string
	Duration time.Duration
}

// TestPostLogin runs one Action's onExecutePostLogin with in.Event under
// the login limits. The commands issued before a failure are returned with
// the *Failure (KindError for a throw, KindTimeout, ...); api.access.deny
// is a command, not a failure.
func (s *Sandbox) TestPostLogin(ctx context.Context, in ActionTest) (ActionTestResult, error) {
	var res ActionTestResult
	c := s.compile(shapeModule, in.Action.Source)
	r, err := s.begin(ctx, in.AllowedHosts)
	if err != nil {
		return res, err
	}
	defer r.end()
	r.script = in.Action.label()
	err = r.testAction(c, in, &res)
	res.Logs = r.logs
	res.Duration = time.Since(r.started)
	return res, err
}

func (r *run) testAction(c *compiled, in ActionTest, res *ActionTestResult) error {
	rt := r.v.rt
	userID := ""
	if u, ok := in.Event["user"].(map[string]any); ok {
		userID, _ = u["user_id"].(string)
	}
	var pl, event *goja.Object
	if err := r.guard(func() {
		newPostLogin := r.v.libFunc("newPostLogin")
		v, e := newPostLogin(goja.Undefined(), rt.ToValue(userID), rt.ToValue(true))
		if e != nil {
			panic(e)
		}
		pl = v.ToObject(rt)
		event = toJS(rt, in.Event).ToObject(rt)
		_ = event.Set("secrets", toJS(rt, nonNilStrings(in.Action.Secrets)))
	}); err != nil {
		return err
	}
	runErr := r.runAction(c, event, pl.Get("api"))
	if f, ok := runErr.(*Failure); ok && f.Kind != KindError && f.Kind != KindDenied {
		return runErr
	}
	var commands goja.Value
	if err := r.guard(func() { commands = pl.Get("state").ToObject(rt).Get("commands") }); err != nil {
		return err
	}
	v, err := r.export(commands, r.sb.opts.MaxOutputBytes)
	if err != nil {
		return err
	}
	res.Commands, _ = v.([]any)
	if res.Commands == nil {
		res.Commands = []any{}
	}
	return runErr
}
