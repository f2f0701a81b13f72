package mgmt

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// Auth0 builds an Action's npm dependencies before it can run and shows
// the build's progress in status (pending, building, built, failed...).
// gatehouse has nothing to build: an Action is "built" once saved.
const actionBuilt = "built"

type actionSecretView struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

type actionView struct {
	ID                 string                   `json:"id"`
	Name               string                   `json:"name"`
	SupportedTriggers  []store.ActionTrigger    `json:"supported_triggers"`
	Code               string                   `json:"code"`
	Dependencies       []store.ActionDependency `json:"dependencies"`
	Runtime            string                   `json:"runtime"`
	Secrets            []actionSecretView       `json:"secrets"`
	DeployedVersion    *versionView             `json:"deployed_version,omitempty"`
	AllChangesDeployed bool                     `json:"all_changes_deployed"`
	Status             string                   `json:"status"`
	BuiltAt            time.Time                `json:"built_at"`
	CreatedAt          time.Time                `json:"created_at"`
	UpdatedAt          time.Time                `json:"updated_at"`
}

// versionAction is the short Action a version embeds.
type versionAction struct {
	ID                 string                `json:"id"`
	Name               string                `json:"name"`
	SupportedTriggers  []store.ActionTrigger `json:"supported_triggers"`
	AllChangesDeployed bool                  `json:"all_changes_deployed"`
	CreatedAt          time.Time             `json:"created_at"`
	UpdatedAt          time.Time             `json:"updated_at"`
}

type versionView struct {
	ID                string                   `json:"id"`
	ActionID          string                   `json:"action_id"`
	Code              string                   `json:"code"`
	Dependencies      []store.ActionDependency `json:"dependencies"`
	Deployed          bool                     `json:"deployed"`
	Runtime           string                   `json:"runtime"`
	Secrets           []actionSecretView       `json:"secrets"`
	Status            string                   `json:"status"`
	Number            int                      `json:"number"`
	Errors            []any                    `json:"errors"`
	Action            *versionAction           `json:"action,omitempty"`
	BuiltAt           time.Time                `json:"built_at"`
	CreatedAt         time.Time                `json:"created_at"`
	UpdatedAt         time.Time                `json:"updated_at"`
	SupportedTriggers []store.ActionTrigger    `json:"supported_triggers"`
}

type bindingView struct {
	ID          string      `json:"id"`
	TriggerID   string      `json:"trigger_id"`
	DisplayName string      `json:"display_name"`
	Action      *actionView `json:"action"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// secretViews shows names and dates only: values are write-only.
func secretViews(list []store.ActionSecret) []actionSecretView {
	out := make([]actionSecretView, len(list))
	for i, s := range list {
		out[i] = actionSecretView{Name: s.Name, UpdatedAt: s.UpdatedAt}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func viewAction(a *store.Action, deployed *store.ActionVersion) *actionView {
	v := &actionView{
		ID: a.ID, Name: a.Name, SupportedTriggers: nonNil(a.SupportedTriggers), Code: a.Code,
		Dependencies: nonNil(a.Dependencies), Runtime: a.Runtime, Secrets: secretViews(a.Secrets),
		AllChangesDeployed: a.Deployed, Status: actionBuilt, BuiltAt: a.UpdatedAt, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
	}
	if deployed != nil {
		v.DeployedVersion = viewVersion(a, deployed)
	}
	return v
}

func viewVersion(a *store.Action, v *store.ActionVersion) *versionView {
	return &versionView{
		ID: v.ID, ActionID: v.ActionID, Code: v.Code, Dependencies: nonNil(v.Dependencies),
		Deployed: a.DeployedVersion == v.ID, Runtime: v.Runtime, Secrets: secretViews(v.Secrets),
		Status: actionBuilt, Number: v.Number, Errors: []any{},
		Action: &versionAction{ID: a.ID, Name: a.Name, SupportedTriggers: nonNil(a.SupportedTriggers),
			AllChangesDeployed: a.Deployed, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt},
		BuiltAt: v.CreatedAt, CreatedAt: v.CreatedAt, UpdatedAt: v.CreatedAt, SupportedTriggers: nonNil(v.SupportedTriggers),
	}
}

// actionWithVersion renders an Action with its deployed version.
func (h *handler) actionWithVersion(r *http.Request, a *store.Action) (*actionView, error) {
	if a.DeployedVersion == "" {
		return viewAction(a, nil), nil
	}
	v, err := h.tenant.GetActionVersion(r.Context(), a.ID, a.DeployedVersion)
	if err != nil {
		return nil, err
	}
	return viewAction(a, v), nil
}

// writeAction answers with a single Action and its deployed version.
func (h *handler) writeAction(w http.ResponseWriter, r *http.Request, status int, a *store.Action) error {
	v, err := h.actionWithVersion(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// writeActionsPage renders Auth0's paged envelope for the Actions
// collections: {collection, total, page, per_page}.
func writeActionsPage[T any](w http.ResponseWriter, r *http.Request, collection string, all []T, view func(T) (any, error)) error {
	q := r.URL.Query()
	page, err := intParam(q, "page", 0, 0, 1<<20)
	if err != nil {
		return err
	}
	perPage, err := intParam(q, "per_page", 50, 1, 100)
	if err != nil {
		return err
	}
	start := min(page*perPage, len(all))
	end := min(start+perPage, len(all))
	items := make([]any, 0, end-start)
	for _, v := range all[start:end] {
		x, err := view(v)
		if err != nil {
			return err
		}
		items = append(items, x)
	}
	writeJSON(w, http.StatusOK, map[string]any{collection: items, "total": len(all), "page": page, "per_page": perPage})
	return nil
}

func (h *handler) listActions(w http.ResponseWriter, r *http.Request, p Principal) error {
	q := r.URL.Query()
	var deployed *bool
	if q.Has("deployed") {
		v, err := boolParam(q, "deployed", false)
		if err != nil {
			return err
		}
		deployed = &v
	}
	installed, err := boolParam(q, "installed", false)
	if err != nil {
		return err
	}
	all, err := h.tenant.ListActions(r.Context())
	if err != nil {
		return err
	}
	kept := all[:0]
	for _, a := range all {
		switch {
		case installed: // no marketplace integrations here
			continue
		case q.Get("actionName") != "" && a.Name != q.Get("actionName"):
			continue
		case q.Get("triggerId") != "" && !supports(a, q.Get("triggerId")):
			continue
		case deployed != nil && (a.DeployedVersion != "") != *deployed:
			continue
		}
		kept = append(kept, a)
	}
	return writeActionsPage(w, r, "actions", kept, func(a *store.Action) (any, error) { return h.actionWithVersion(r, a) })
}

func supports(a *store.Action, trigger string) bool {
	for _, t := range a.SupportedTriggers {
		if t.ID == trigger {
			return true
		}
	}
	return false
}

func (h *handler) getAction(w http.ResponseWriter, r *http.Request, p Principal) error {
	a, err := h.tenant.GetAction(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.writeAction(w, r, http.StatusOK, a)
}

func (h *handler) createAction(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ActionInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	a, err := h.tenant.CreateAction(r.Context(), &in)
	if err != nil {
		return err
	}
	return h.writeAction(w, r, http.StatusCreated, a)
}

func (h *handler) updateAction(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.ActionInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	a, err := h.tenant.UpdateAction(r.Context(), r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	return h.writeAction(w, r, http.StatusOK, a)
}

func (h *handler) deleteAction(w http.ResponseWriter, r *http.Request, p Principal) error {
	force, err := boolParam(r.URL.Query(), "force", false)
	if err != nil {
		return err
	}
	if err := h.tenant.DeleteAction(r.Context(), r.PathValue("id"), force); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// deployAction takes no body (go-auth0 sends "null"); whatever came is
// left unread.
func (h *handler) deployAction(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := h.tenant.DeployAction(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.writeVersion(w, r, v, http.StatusOK)
}

// testAction runs the Action's draft with {"payload": {"event": ...}} and
// answers {"payload": {...}} (tenant.TestAction says what it holds).
func (h *handler) testAction(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in struct {
		Payload map[string]any `json:"payload"`
	}
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	if in.Payload == nil {
		return invalidBody("Missing required property: payload")
	}
	out, err := h.tenant.TestAction(r.Context(), r.PathValue("id"), in.Payload)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"payload": out})
	return nil
}

func (h *handler) deployActionVersion(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := h.tenant.DeployActionVersion(r.Context(), r.PathValue("id"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return h.writeVersion(w, r, v, http.StatusOK)
}

func (h *handler) writeVersion(w http.ResponseWriter, r *http.Request, v *store.ActionVersion, status int) error {
	a, err := h.tenant.GetAction(r.Context(), v.ActionID)
	if err != nil {
		return err
	}
	writeJSON(w, status, viewVersion(a, v))
	return nil
}

func (h *handler) getActionVersion(w http.ResponseWriter, r *http.Request, p Principal) error {
	v, err := h.tenant.GetActionVersion(r.Context(), r.PathValue("id"), r.PathValue("version"))
	if err != nil {
		return err
	}
	return h.writeVersion(w, r, v, http.StatusOK)
}

func (h *handler) listActionVersions(w http.ResponseWriter, r *http.Request, p Principal) error {
	a, err := h.tenant.GetAction(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := h.tenant.ListActionVersions(r.Context(), a.ID)
	if err != nil {
		return err
	}
	return writeActionsPage(w, r, "versions", list, func(v *store.ActionVersion) (any, error) { return viewVersion(a, v), nil })
}

func (h *handler) listActionTriggers(w http.ResponseWriter, r *http.Request, p Principal) error {
	var out []map[string]any
	for _, t := range h.tenant.ActionTriggers() {
		out = append(out, map[string]any{
			"id": t.ID, "version": t.Version, "status": "CURRENT",
			"runtimes": tenant.ActionRuntimes, "default_runtime": tenant.DefaultActionRuntime, "compatible_triggers": []any{},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"triggers": out})
	return nil
}

func (h *handler) bindingViews(r *http.Request, list []*store.ActionBinding) ([]any, error) {
	out := make([]any, 0, len(list))
	for _, b := range list {
		a, err := h.tenant.GetAction(r.Context(), b.ActionID)
		if err != nil {
			return nil, err
		}
		av, err := h.actionWithVersion(r, a)
		if err != nil {
			return nil, err
		}
		out = append(out, &bindingView{ID: b.ID, TriggerID: b.TriggerID, DisplayName: b.DisplayName, Action: av, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt})
	}
	return out, nil
}

func (h *handler) listActionBindings(w http.ResponseWriter, r *http.Request, p Principal) error {
	list, err := h.tenant.ListActionBindings(r.Context(), r.PathValue("trigger"))
	if err != nil {
		return err
	}
	views, err := h.bindingViews(r, list)
	if err != nil {
		return err
	}
	return writeActionsPage(w, r, "bindings", views, func(v any) (any, error) { return v, nil })
}

func (h *handler) updateActionBindings(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.BindingsInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	list, err := h.tenant.SetActionBindings(r.Context(), r.PathValue("trigger"), &in)
	if err != nil {
		return err
	}
	views, err := h.bindingViews(r, list)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"bindings": views})
	return nil
}
