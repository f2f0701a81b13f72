package mgmt

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
)

// tenantDefaults are shown for settings never set, as Auth0 shows them.
func tenantDefaults() map[string]json.RawMessage {
	return map[string]json.RawMessage{
		"session_lifetime":           json.RawMessage(`168`),
		"idle_session_lifetime":      json.RawMessage(`72`),
		"resource_parameter_profile": json.RawMessage(`"audience"`),
	}
}

func (h *handler) getTenantSettings(w http.ResponseWriter, r *http.Request, p Principal) error {
	ts, err := h.cfg.Store.GetTenantSettings(r.Context())
	if err != nil {
		return fmt.Errorf("get tenant settings: %w", err)
	}
	return h.writeTenant(w, r, ts)
}

func (h *handler) writeTenant(w http.ResponseWriter, r *http.Request, ts *store.TenantSettings) error {
	doc, err := tenantDoc(ts)
	if err != nil {
		return err
	}
	for k, v := range tenantDefaults() {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
	return writeOne(w, r, http.StatusOK, doc)
}

func tenantDoc(ts *store.TenantSettings) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(ts)
	if err != nil {
		return nil, fmt.Errorf("encode tenant settings: %w", err)
	}
	doc := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("decode tenant settings: %w", err)
	}
	return doc, nil
}

// updateTenantSettings merges the body into the settings: objects (such as
// flags) are merged key by key, a null deletes, anything else replaces.
// default_directory is not checked against the connections, like Auth0,
// so tooling may set it before it creates the connection.
func (h *handler) updateTenantSettings(w http.ResponseWriter, r *http.Request, p Principal) error {
	var patch map[string]any
	if err := decodeObject(r, &patch); err != nil {
		return err
	}
	if err := validateTenantPatch(patch); err != nil {
		return err
	}
	ts, err := h.cfg.Store.UpdateTenantSettings(r.Context(), func(ts *store.TenantSettings) error {
		var cur map[string]any
		b, err := json.Marshal(ts)
		if err != nil {
			return fmt.Errorf("encode tenant settings: %w", err)
		}
		if err := json.Unmarshal(b, &cur); err != nil {
			return fmt.Errorf("decode tenant settings: %w", err)
		}
		merged, err := json.Marshal(deepMerge(cur, patch))
		if err != nil {
			return fmt.Errorf("encode tenant settings: %w", err)
		}
		var next store.TenantSettings
		if err := json.Unmarshal(merged, &next); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return bodyErr(te)
			}
			return invalidBody("%s", err.Error())
		}
		*ts = next
		return nil
	})
	if err != nil {
		return err
	}
	return h.writeTenant(w, r, ts)
}

// validateTenantPatch checks the types of the settings gatehouse acts on.
func validateTenantPatch(patch map[string]any) error {
	for _, k := range []string{"default_directory", "default_audience", "friendly_name", "resource_parameter_profile"} {
		if v, ok := patch[k]; ok && v != nil {
			if _, isStr := v.(string); !isStr {
				return invalidProp(k, "Expected type string")
			}
		}
	}
	if v, ok := patch["resource_parameter_profile"].(string); ok && v != "audience" && v != "compatibility" {
		return invalidProp("resource_parameter_profile", "No enum match for: %s", v)
	}
	for _, k := range []string{"session_lifetime", "idle_session_lifetime"} {
		if v, ok := patch[k]; ok && v != nil {
			if n, isNum := v.(float64); !isNum || n <= 0 {
				return invalidProp(k, "Expected a positive number")
			}
		}
	}
	if v, ok := patch["flags"]; ok && v != nil {
		flags, isObj := v.(map[string]any)
		if !isObj {
			return invalidProp("flags", "Expected type object")
		}
		for name, f := range flags {
			if _, isBool := f.(bool); !isBool && f != nil {
				return invalidProp("flags."+name, "Expected type boolean")
			}
		}
	}
	return nil
}

// deepMerge merges patch into cur: nested objects recursively, null
// deletes, other values replace.
func deepMerge(cur, patch map[string]any) map[string]any {
	if cur == nil {
		cur = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(cur, k)
		case map[string]any:
			cv, _ := cur[k].(map[string]any)
			cur[k] = deepMerge(cv, pv)
		default:
			cur[k] = v
		}
	}
	return cur
}
