package mgmt

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// ruleResponse is a rule as the API shows it.
type ruleResponse struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Script  string `json:"script"`
	Order   int    `json:"order"`
	Enabled bool   `json:"enabled"`
	Stage   string `json:"stage"`
}

func ruleView(r *store.Rule) *ruleResponse {
	return &ruleResponse{ID: r.ID, Name: r.Name, Script: r.Script, Order: r.Order, Enabled: r.Enabled, Stage: r.Stage}
}

func (h *handler) listRules(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	lq, err := parseListQuery(q, false)
	if err != nil {
		return err
	}
	var enabled *bool
	if q.Has("enabled") {
		v, err := boolParam(q, "enabled", true)
		if err != nil {
			return err
		}
		enabled = &v
	}
	all, err := h.tenant.ListRules(r.Context())
	if err != nil {
		return err
	}
	if enabled != nil {
		kept := all[:0]
		for _, rule := range all {
			if rule.Enabled == *enabled {
				kept = append(kept, rule)
			}
		}
		all = kept
	}
	return writeSlice(w, lq, "rules", all, func(rule *store.Rule) any { return ruleView(rule) })
}

func (h *handler) getRule(w http.ResponseWriter, r *http.Request, p Principal) error {
	rule, err := h.tenant.GetRule(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleView(rule))
	return nil
}

func (h *handler) createRule(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.RuleInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	rule, err := h.tenant.CreateRule(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ruleView(rule))
	return nil
}

func (h *handler) updateRule(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.RuleInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	rule, err := h.tenant.UpdateRule(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleView(rule))
	return nil
}

func (h *handler) deleteRule(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteRule(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// listRulesConfigs shows the keys only: values are secrets.
func (h *handler) listRulesConfigs(w http.ResponseWriter, r *http.Request, p Principal) error {
	keys, err := h.tenant.RulesConfigKeys(r.Context())
	if err != nil {
		return err
	}
	out := make([]map[string]string, len(keys))
	for i, k := range keys {
		out[i] = map[string]string{"key": k}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) setRulesConfig(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.RulesConfigInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	key := r.PathValue("key")
	if err := h.tenant.SetRulesConfig(r.Context(), key, &in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"key": key, "value": in.Value.V})
	return nil
}

func (h *handler) deleteRulesConfig(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteRulesConfig(r.Context(), r.PathValue("key")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
