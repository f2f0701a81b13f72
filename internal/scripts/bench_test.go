package scripts

import (
	"context"
	"testing"
)

// typicalRules are three rules of the kind tenants run on every login.
var typicalRules = []Script{
	{ID: "rul_seed", Name: "Customize tokens", Source: seedRule},
	{ID: "rul_roles", Name: "Add roles", Source: `function (user, context, callback) {
  const namespace = 'https://example.com/';
  const assignedRoles = (context.authorization || {}).roles || [];
  context.idToken[namespace + 'roles'] = assignedRoles;
  context.accessToken[namespace + 'roles'] = assignedRoles;
  context.accessToken[namespace + 'plan'] = (user.app_metadata || {}).plan || 'free';
  callback(null, user, context);
}`},
	{ID: "rul_domain", Name: "Email domain allow-list", Source: `function (user, context, callback) {
  const whitelist = ['example.com', 'example.org'];
  const userHasAccess = whitelist.some(function (domain) {
    const emailSplit = user.email.split('@');
    return emailSplit[emailSplit.length - 1].toLowerCase() === domain;
  });
  if (!userHasAccess) return callback(new UnauthorizedError('Access denied.'));
  return callback(null, user, context);
}`},
}

var typicalAction = Action{Script: Script{ID: "act_1", Name: "Add claims", Source: `exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://example.com';
  if (event.authorization) {
    api.idToken.setCustomClaim(namespace + '/email', event.user.email);
    api.accessToken.setCustomClaim(namespace + '/client', event.client.name);
  }
};`}}

// BenchmarkPostLogin measures three typical rules and one Action, the
// scripts' share of a password grant (the goal: under 1 ms).
func BenchmarkPostLogin(b *testing.B) {
	s := newSandbox(b, Options{})
	in := baseInput()
	in.Roles = []string{"admin"}
	in.Rules = typicalRules
	in.Actions = []Action{typicalAction}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.PostLogin(ctx, in)
		if err != nil || res.AccessTokenClaims["https://example.com/plan"] != "gold" {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkPostLoginParallel is the same under concurrent logins.
func BenchmarkPostLoginParallel(b *testing.B) {
	s := newSandbox(b, Options{})
	in := baseInput()
	in.Roles = []string{"admin"}
	in.Rules = typicalRules
	in.Actions = []Action{typicalAction}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.PostLogin(context.Background(), in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNewRuntime is the cost the pool saves on each run.
func BenchmarkNewRuntime(b *testing.B) {
	s := newSandbox(b, Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.newVM(); err != nil {
			b.Fatal(err)
		}
	}
}
