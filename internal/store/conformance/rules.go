package conformance

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func ruleID(r *store.Rule) string { return r.ID }

func ruleTests() []test {
	rule := func(id, name string, order int) *store.Rule {
		return &store.Rule{ID: id, Name: name, Script: "function (user, context, callback) { callback(null, user, context); }", Order: order, Enabled: true, Stage: "login_success"}
	}
	return []test{
		{"created rules read back whole, listed by order", func(t *testing.T, s store.Store) {
			must(t, s.CreateRule(ctx(t), rule("rul_b", "second", 2)))
			must(t, s.CreateRule(ctx(t), rule("rul_a", "first", 1)))
			must(t, s.CreateRule(ctx(t), rule("rul_c", "also second", 2)))
			got := ok[*store.Rule](t)(s.GetRule(ctx(t), "rul_a"))
			wantEqual(t, "rule", got, rule("rul_a", "first", 1))
			list := ok[[]*store.Rule](t)(s.ListRules(ctx(t)))
			wantEqual(t, "order", ids(list, ruleID), []string{"rul_a", "rul_b", "rul_c"})
		}},
		{"duplicate names and ids conflict", func(t *testing.T, s store.Store) {
			must(t, s.CreateRule(ctx(t), rule("rul_a", "one", 1)))
			wantErr(t, s.CreateRule(ctx(t), rule("rul_b", "one", 2)), store.ErrConflict)
			wantErr(t, s.CreateRule(ctx(t), rule("rul_a", "two", 2)), store.ErrConflict)
			must(t, s.CreateRule(ctx(t), rule("rul_b", "two", 2)))
			_, err := s.UpdateRule(ctx(t), "rul_b", func(r *store.Rule) error { r.Name = "one"; return nil })
			wantErr(t, err, store.ErrConflict)
		}},
		{"update and delete", func(t *testing.T, s store.Store) {
			must(t, s.CreateRule(ctx(t), rule("rul_a", "one", 1)))
			got := ok[*store.Rule](t)(s.UpdateRule(ctx(t), "rul_a", func(r *store.Rule) error {
				r.Enabled, r.Order, r.Script = false, 7, "function (u, c, cb) { cb(null, u, c); }"
				return nil
			}))
			wantEqual(t, "updated", got, &store.Rule{ID: "rul_a", Name: "one", Script: "function (u, c, cb) { cb(null, u, c); }", Order: 7, Stage: "login_success"})
			wantEqual(t, "read back", ok[*store.Rule](t)(s.GetRule(ctx(t), "rul_a")), got)
			must(t, s.DeleteRule(ctx(t), "rul_a"))
			_, err := s.GetRule(ctx(t), "rul_a")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.DeleteRule(ctx(t), "rul_a"), store.ErrNotFound)
			_, err = s.UpdateRule(ctx(t), "rul_a", func(*store.Rule) error { return nil })
			wantErr(t, err, store.ErrNotFound)
		}},
		{"rules configs are set, replaced, listed by key and deleted", func(t *testing.T, s store.Store) {
			must(t, s.SetRulesConfig(ctx(t), "B", "2"))
			must(t, s.SetRulesConfig(ctx(t), "A", "old"))
			must(t, s.SetRulesConfig(ctx(t), "A", "new ünïcode"))
			list := ok[[]*store.RulesConfig](t)(s.ListRulesConfigs(ctx(t)))
			wantEqual(t, "configs", list, []*store.RulesConfig{{Key: "A", Value: "new ünïcode"}, {Key: "B", Value: "2"}})
			must(t, s.DeleteRulesConfig(ctx(t), "A"))
			wantErr(t, s.DeleteRulesConfig(ctx(t), "A"), store.ErrNotFound)
			list = ok[[]*store.RulesConfig](t)(s.ListRulesConfigs(ctx(t)))
			wantEqual(t, "after delete", ids(list, func(c *store.RulesConfig) string { return c.Key }), []string{"B"})
		}},
		{"rule and rules config writes advance the config version", func(t *testing.T, s store.Store) {
			v0 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			must(t, s.CreateRule(ctx(t), rule("rul_a", "one", 1)))
			v1 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			must(t, s.SetRulesConfig(ctx(t), "K", "v"))
			v2 := ok[int64](t)(s.ConfigVersion(ctx(t)))
			if !(v0 < v1 && v1 < v2) {
				t.Fatalf("versions %d, %d, %d: want increasing", v0, v1, v2)
			}
		}},
	}
}
