package conformance

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

func actionTests() []test {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	action := func(id, name string) *store.Action {
		return &store.Action{
			ID: id, Name: name, Code: "exports.onExecutePostLogin = async () => {};", Runtime: "node18",
			SupportedTriggers: []store.ActionTrigger{{ID: "post-login", Version: "v3"}},
			Dependencies:      []store.ActionDependency{{Name: "lodash", Version: "4.17.21"}},
			Secrets:           []store.ActionSecret{{Name: "KEY", Value: "s3cret ünï", UpdatedAt: at}},
			CreatedAt:         at, UpdatedAt: at,
		}
	}
	version := func(id string, a *store.Action) *store.ActionVersion {
		return &store.ActionVersion{ID: id, ActionID: a.ID, Code: a.Code, Runtime: a.Runtime,
			SupportedTriggers: a.SupportedTriggers, Dependencies: a.Dependencies, Secrets: a.Secrets, CreatedAt: at}
	}
	actionID := func(a *store.Action) string { return a.ID }
	return []test{
		{"actions read back whole with their secrets, in creation order", func(t *testing.T, s store.Store) {
			must(t, s.CreateAction(ctx(t), action("act_b", "second")))
			must(t, s.CreateAction(ctx(t), action("act_a", "first")))
			wantEqual(t, "action", ok[*store.Action](t)(s.GetAction(ctx(t), "act_a")), action("act_a", "first"))
			wantEqual(t, "order", ids(ok[[]*store.Action](t)(s.ListActions(ctx(t))), actionID), []string{"act_b", "act_a"})
			wantErr(t, s.CreateAction(ctx(t), action("act_c", "first")), store.ErrConflict)
			wantErr(t, s.CreateAction(ctx(t), action("act_a", "third")), store.ErrConflict)
			_, err := s.UpdateAction(ctx(t), "act_b", func(a *store.Action) error { a.Name = "first"; return nil })
			wantErr(t, err, store.ErrConflict)
			got := ok[*store.Action](t)(s.UpdateAction(ctx(t), "act_b", func(a *store.Action) error {
				a.Secrets = append(a.Secrets, store.ActionSecret{Name: "OTHER", Value: "v2", UpdatedAt: at})
				a.Code = "exports.onExecutePostLogin = async (e, api) => api.access.deny('no');"
				return nil
			}))
			wantEqual(t, "read back", ok[*store.Action](t)(s.GetAction(ctx(t), "act_b")), got)
			_, err = s.GetAction(ctx(t), "act_x")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"deployments number versions and move the deployed one", func(t *testing.T, s store.Store) {
			a := action("act_a", "one")
			must(t, s.CreateAction(ctx(t), a))
			v1, v2 := version("ver_1", a), version("ver_2", a)
			v2.Code = "exports.onExecutePostLogin = async () => { /* 2 */ };"
			must(t, s.DeployActionVersion(ctx(t), v1, true))
			must(t, s.DeployActionVersion(ctx(t), v2, false))
			if v1.Number != 1 || v2.Number != 2 {
				t.Fatalf("numbers %d, %d: want 1, 2", v1.Number, v2.Number)
			}
			got := ok[*store.Action](t)(s.GetAction(ctx(t), "act_a"))
			if got.DeployedVersion != "ver_2" || got.Deployed {
				t.Fatalf("deployed %q (draft deployed %v): want ver_2, false", got.DeployedVersion, got.Deployed)
			}
			wantEqual(t, "version", ok[*store.ActionVersion](t)(s.GetActionVersion(ctx(t), "act_a", "ver_1")), v1)
			list := ok[[]*store.ActionVersion](t)(s.ListActionVersions(ctx(t), "act_a"))
			wantEqual(t, "versions newest first", ids(list, func(v *store.ActionVersion) string { return v.ID }), []string{"ver_2", "ver_1"})
			_, err := s.GetActionVersion(ctx(t), "act_b", "ver_1")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.DeployActionVersion(ctx(t), &store.ActionVersion{ID: "ver_3", ActionID: "act_x"}, true), store.ErrNotFound)
		}},
		{"bindings in order; bound actions are the deployed versions", func(t *testing.T, s store.Store) {
			a, b, c := action("act_a", "a"), action("act_b", "b"), action("act_c", "c")
			for _, x := range []*store.Action{a, b, c} {
				must(t, s.CreateAction(ctx(t), x))
			}
			must(t, s.DeployActionVersion(ctx(t), version("ver_a", a), true))
			must(t, s.DeployActionVersion(ctx(t), version("ver_b", b), true))
			bind := func(id, action string) *store.ActionBinding {
				return &store.ActionBinding{ID: id, ActionID: action, DisplayName: action, CreatedAt: at, UpdatedAt: at}
			}
			must(t, s.SetActionBindings(ctx(t), "post-login", []*store.ActionBinding{bind("bnd_1", "act_b"), bind("bnd_2", "act_c"), bind("bnd_3", "act_a")}))
			list := ok[[]*store.ActionBinding](t)(s.ListActionBindings(ctx(t), "post-login"))
			wantEqual(t, "bindings", ids(list, func(b *store.ActionBinding) string { return b.ID + ":" + b.TriggerID }),
				[]string{"bnd_1:post-login", "bnd_2:post-login", "bnd_3:post-login"})
			bound := ok[[]*store.BoundAction](t)(s.BoundActions(ctx(t), "post-login"))
			wantEqual(t, "bound (act_c never deployed)", ids(bound, func(b *store.BoundAction) string { return b.Version.ID }), []string{"ver_b", "ver_a"})
			wantEqual(t, "secrets of the version", bound[0].Version.Secrets, b.Secrets)
			wantErr(t, s.SetActionBindings(ctx(t), "post-login", []*store.ActionBinding{bind("bnd_4", "act_x")}), store.ErrNotFound)
			wantEqual(t, "unchanged after a refused write", len(ok[[]*store.ActionBinding](t)(s.ListActionBindings(ctx(t), "post-login"))), 3)

			must(t, s.DeleteAction(ctx(t), "act_b"))
			wantErr(t, s.DeleteAction(ctx(t), "act_b"), store.ErrNotFound)
			_, err := s.GetActionVersion(ctx(t), "act_b", "ver_b")
			wantErr(t, err, store.ErrNotFound)
			list = ok[[]*store.ActionBinding](t)(s.ListActionBindings(ctx(t), "post-login"))
			wantEqual(t, "bindings after delete", ids(list, func(b *store.ActionBinding) string { return b.ID }), []string{"bnd_2", "bnd_3"})
			bound = ok[[]*store.BoundAction](t)(s.BoundActions(ctx(t), "post-login"))
			wantEqual(t, "bound after delete", ids(bound, func(b *store.BoundAction) string { return b.Name }), []string{"a"})
			must(t, s.SetActionBindings(ctx(t), "post-login", nil))
			wantEqual(t, "cleared", len(ok[[]*store.BoundAction](t)(s.BoundActions(ctx(t), "post-login"))), 0)
		}},
		{"action writes advance the config version", func(t *testing.T, s store.Store) {
			v0 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			a := action("act_a", "a")
			must(t, s.CreateAction(ctx(t), a))
			v1 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			must(t, s.DeployActionVersion(ctx(t), version("ver_a", a), true))
			v2 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			must(t, s.SetActionBindings(ctx(t), "post-login", []*store.ActionBinding{{ID: "bnd_1", ActionID: "act_a"}}))
			v3 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			if !(v0 < v1 && v1 < v2 && v2 < v3) {
				t.Fatalf("versions %d, %d, %d, %d: want increasing", v0, v1, v2, v3)
			}
		}},
	}
}
