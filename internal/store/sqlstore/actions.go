package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/store"
)

// sealedSecret is an Action secret on disk: its value sealed, bound to the
// Action (or version) and the secret's name.
type sealedSecret struct {
	store.ActionSecret
	Sealed []byte `json:"sealed"`
}

type actionDoc struct {
	store.Action
	Secrets []sealedSecret `json:"secrets,omitempty"`
}

type actionVersionDoc struct {
	store.ActionVersion
	Secrets []sealedSecret `json:"secrets,omitempty"`
}

func secretAAD(owner, id, name string) string { return owner + "_secret:" + id + ":" + name }

func (s *Store) sealSecrets(owner, id string, list []store.ActionSecret) ([]sealedSecret, error) {
	out := make([]sealedSecret, len(list))
	for i, sec := range list {
		ct, err := s.sealer.Seal([]byte(sec.Value), secretAAD(owner, id, sec.Name))
		if err != nil {
			return nil, fmt.Errorf("seal secret %s: %w", sec.Name, err)
		}
		out[i] = sealedSecret{ActionSecret: store.ActionSecret{Name: sec.Name, UpdatedAt: sec.UpdatedAt}, Sealed: ct}
	}
	return out, nil
}

func (s *Store) openSecrets(owner, id string, list []sealedSecret) ([]store.ActionSecret, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]store.ActionSecret, len(list))
	for i, sec := range list {
		plain, err := s.sealer.Open(sec.Sealed, secretAAD(owner, id, sec.Name))
		if err != nil {
			return nil, fmt.Errorf("open secret %s: %w", sec.Name, err)
		}
		out[i] = store.ActionSecret{Name: sec.Name, Value: string(plain), UpdatedAt: sec.UpdatedAt}
	}
	return out, nil
}

func actionTable(s *Store) *table[store.Action] {
	return newTable(s, table[store.Action]{
		noun:    "action",
		name:    "actions",
		columns: []string{"id", "name", "doc"},
		keyOf:   func(a *store.Action) string { return a.ID },
		encode: func(a *store.Action) ([]any, error) {
			sealed, err := s.sealSecrets("action", a.ID, a.Secrets)
			if err != nil {
				return nil, err
			}
			doc, err := marshalDoc(actionDoc{Action: *a, Secrets: sealed})
			if err != nil {
				return nil, err
			}
			return []any{a.ID, a.Name, doc}, nil
		},
		decode: func(sc scanner) (*store.Action, error) {
			var id, name, doc string
			if err := sc.Scan(&id, &name, &doc); err != nil {
				return nil, err
			}
			var d actionDoc
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			a := d.Action
			a.ID, a.Name = id, name
			var err error
			if a.Secrets, err = s.openSecrets("action", id, d.Secrets); err != nil {
				return nil, fmt.Errorf("action %s: %w", id, err)
			}
			return &a, nil
		},
	})
}

func actionVersionTable(s *Store) *table[store.ActionVersion] {
	return newTable(s, table[store.ActionVersion]{
		noun:    "action version",
		name:    "action_versions",
		columns: []string{"id", "action_id", "number", "doc"},
		keyOf:   func(v *store.ActionVersion) string { return v.ID },
		encode: func(v *store.ActionVersion) ([]any, error) {
			sealed, err := s.sealSecrets("action_version", v.ID, v.Secrets)
			if err != nil {
				return nil, err
			}
			doc, err := marshalDoc(actionVersionDoc{ActionVersion: *v, Secrets: sealed})
			if err != nil {
				return nil, err
			}
			return []any{v.ID, v.ActionID, v.Number, doc}, nil
		},
		decode: func(sc scanner) (*store.ActionVersion, error) {
			var id, actionID, doc string
			var number int
			if err := sc.Scan(&id, &actionID, &number, &doc); err != nil {
				return nil, err
			}
			var d actionVersionDoc
			if err := unmarshalDoc(doc, &d); err != nil {
				return nil, err
			}
			v := d.ActionVersion
			v.ID, v.ActionID, v.Number = id, actionID, number
			var err error
			if v.Secrets, err = s.openSecrets("action_version", id, d.Secrets); err != nil {
				return nil, fmt.Errorf("action version %s: %w", id, err)
			}
			return &v, nil
		},
	})
}

// CreateAction implements store.Actions.
func (s *Store) CreateAction(ctx context.Context, a *store.Action) error {
	return s.actions.create(ctx, s, a)
}

// GetAction implements store.Actions.
func (s *Store) GetAction(ctx context.Context, id string) (*store.Action, error) {
	return s.actions.get(ctx, s, "id", id)
}

// ListActions implements store.Actions. A tenant has a few Actions.
func (s *Store) ListActions(ctx context.Context) ([]*store.Action, error) {
	return s.actions.query(ctx, s.r, "", "")
}

// UpdateAction implements store.Actions.
func (s *Store) UpdateAction(ctx context.Context, id string, fn func(*store.Action) error) (*store.Action, error) {
	return s.actions.update(ctx, s, id, fn)
}

// DeleteAction implements store.Actions; versions and bindings go with
// the Action (ON DELETE CASCADE).
func (s *Store) DeleteAction(ctx context.Context, id string) error {
	return s.actions.delete(ctx, s, id)
}

// DeployActionVersion implements store.Actions.
func (s *Store) DeployActionVersion(ctx context.Context, v *store.ActionVersion, draft bool) error {
	what := fmt.Sprintf("deploy action %q", v.ActionID)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	var seq int64
	a, err := s.actions.decode(prefixScanner{tx.QueryRowContext(ctx, s.actions.lockSQL, v.ActionID), &seq})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(number) FROM action_versions WHERE action_id = $1`, v.ActionID).Scan(&last); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	v.Number = int(last.Int64) + 1
	args, err := s.actionVersions.encode(v)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := tx.ExecContext(ctx, s.actionVersions.insertSQL, args...); err != nil {
		return writeErr(what, err)
	}
	a.DeployedVersion, a.Deployed = v.ID, draft
	if args, err = s.actions.encode(a); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if _, err := tx.ExecContext(ctx, s.actions.updateSQL, append(args, seq)...); err != nil {
		return writeErr(what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// GetActionVersion implements store.Actions.
func (s *Store) GetActionVersion(ctx context.Context, actionID, versionID string) (*store.ActionVersion, error) {
	return s.actionVersions.one(ctx, s, fmt.Sprintf("get action version %q", versionID),
		" WHERE id = $1 AND action_id = $2", versionID, actionID)
}

// ListActionVersions implements store.Actions.
func (s *Store) ListActionVersions(ctx context.Context, actionID string) ([]*store.ActionVersion, error) {
	list, err := s.actionVersions.query(ctx, s.r, " WHERE action_id = $1", "", actionID)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list, nil
}

// ListActionBindings implements store.Actions.
func (s *Store) ListActionBindings(ctx context.Context, triggerID string) ([]*store.ActionBinding, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT doc FROM action_bindings WHERE trigger_id = $1 ORDER BY position`, triggerID)
	if err != nil {
		return nil, fmt.Errorf("list bindings of %q: %w", triggerID, err)
	}
	defer rows.Close()
	var out []*store.ActionBinding
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("list bindings of %q: %w", triggerID, err)
		}
		var b store.ActionBinding
		if err := unmarshalDoc(doc, &b); err != nil {
			return nil, fmt.Errorf("list bindings of %q: %w", triggerID, err)
		}
		out = append(out, &b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list bindings of %q: %w", triggerID, err)
	}
	return out, nil
}

// SetActionBindings implements store.Actions.
func (s *Store) SetActionBindings(ctx context.Context, triggerID string, bindings []*store.ActionBinding) error {
	what := fmt.Sprintf("set bindings of %q", triggerID)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM action_bindings WHERE trigger_id = $1`, triggerID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	for i, b := range bindings {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM actions WHERE id = $1`, b.ActionID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: action %q: %w", what, b.ActionID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		b.TriggerID = triggerID
		doc, err := marshalDoc(b)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO action_bindings (trigger_id, position, id, action_id, doc) VALUES ($1, $2, $3, $4, $5)`,
			triggerID, i, b.ID, b.ActionID, doc); err != nil {
			return writeErr(what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// BoundActions implements store.Actions.
func (s *Store) BoundActions(ctx context.Context, triggerID string) ([]*store.BoundAction, error) {
	bindings, err := s.ListActionBindings(ctx, triggerID)
	if err != nil {
		return nil, err
	}
	var out []*store.BoundAction
	for _, b := range bindings {
		a, err := s.GetAction(ctx, b.ActionID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if a.DeployedVersion == "" {
			continue
		}
		v, err := s.GetActionVersion(ctx, a.ID, a.DeployedVersion)
		if err != nil {
			return nil, fmt.Errorf("bound actions of %q: %w", triggerID, err)
		}
		out = append(out, &store.BoundAction{Binding: *b, Name: a.Name, Version: *v})
	}
	return out, nil
}
