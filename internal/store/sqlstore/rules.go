package sqlstore

import (
	"context"
	"fmt"
	"sort"

	"github.com/gatehouse/gatehouse/internal/store"
)

func ruleTable(s *Store) *table[store.Rule] {
	return newTable(s, table[store.Rule]{
		noun:    "rule",
		name:    "rules",
		columns: []string{"id", "name", "doc"},
		keyOf:   func(r *store.Rule) string { return r.ID },
		encode: func(r *store.Rule) ([]any, error) {
			doc, err := marshalDoc(r)
			if err != nil {
				return nil, err
			}
			return []any{r.ID, r.Name, doc}, nil
		},
		decode: func(sc scanner) (*store.Rule, error) {
			var id, name, doc string
			if err := sc.Scan(&id, &name, &doc); err != nil {
				return nil, err
			}
			var r store.Rule
			if err := unmarshalDoc(doc, &r); err != nil {
				return nil, err
			}
			r.ID, r.Name = id, name
			return &r, nil
		},
	})
}

// CreateRule implements store.Rules.
func (s *Store) CreateRule(ctx context.Context, r *store.Rule) error {
	return s.rules.create(ctx, s, r)
}

// GetRule implements store.Rules.
func (s *Store) GetRule(ctx context.Context, id string) (*store.Rule, error) {
	return s.rules.get(ctx, s, "id", id)
}

// ListRules implements store.Rules. A tenant has a few rules: they are
// read whole and ordered here.
func (s *Store) ListRules(ctx context.Context) ([]*store.Rule, error) {
	rules, err := s.rules.query(ctx, s.r, "", "")
	if err != nil {
		return nil, err
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].Order < rules[j].Order })
	return rules, nil
}

// UpdateRule implements store.Rules.
func (s *Store) UpdateRule(ctx context.Context, id string, fn func(*store.Rule) error) (*store.Rule, error) {
	return s.rules.update(ctx, s, id, fn)
}

// DeleteRule implements store.Rules.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, s.rules.deleteSQL, id)
	return deleted(fmt.Sprintf("delete rule %q", id), res, err)
}

func rulesConfigAAD(key string) string { return "rules_config:" + key }

// SetRulesConfig implements store.Rules.
func (s *Store) SetRulesConfig(ctx context.Context, key, value string) error {
	sealed, err := s.sealer.Seal([]byte(value), rulesConfigAAD(key))
	if err != nil {
		return fmt.Errorf("set rules config %q: seal: %w", key, err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO rules_configs (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, sealed); err != nil {
		return writeErr(fmt.Sprintf("set rules config %q", key), err)
	}
	return nil
}

// DeleteRulesConfig implements store.Rules.
func (s *Store) DeleteRulesConfig(ctx context.Context, key string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM rules_configs WHERE key = $1`, key)
	return deleted(fmt.Sprintf("delete rules config %q", key), res, err)
}

// ListRulesConfigs implements store.Rules.
func (s *Store) ListRulesConfigs(ctx context.Context) ([]*store.RulesConfig, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM rules_configs ORDER BY key`)
	if err != nil {
		return nil, fmt.Errorf("list rules configs: %w", err)
	}
	defer rows.Close()
	var out []*store.RulesConfig
	for rows.Next() {
		var key string
		var sealed []byte
		if err := rows.Scan(&key, &sealed); err != nil {
			return nil, fmt.Errorf("list rules configs: %w", err)
		}
		plain, err := s.sealer.Open(sealed, rulesConfigAAD(key))
		if err != nil {
			return nil, fmt.Errorf("list rules configs: open %q: %w", key, err)
		}
		out = append(out, &store.RulesConfig{Key: key, Value: string(plain)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rules configs: %w", err)
	}
	return out, nil
}
