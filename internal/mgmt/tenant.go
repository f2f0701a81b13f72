package mgmt

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

func (h *handler) getTenantSettings(w http.ResponseWriter, r *http.Request, p Principal) error {
	ts, err := h.tenant.GetSettings(r.Context())
	if err != nil {
		return err
	}
	return h.writeTenant(w, r, ts)
}

// writeTenant shows the settings, with Auth0's defaults for those never set.
func (h *handler) writeTenant(w http.ResponseWriter, r *http.Request, ts *store.TenantSettings) error {
	doc := tenant.SettingsDocument(ts)
	for k, v := range tenant.SettingsDefaults() {
		if _, ok := doc[k]; !ok {
			doc[k] = v
		}
	}
	return writeOne(w, r, http.StatusOK, doc)
}

// updateTenantSettings merges the body into the settings (see
// tenant.Service.UpdateSettings).
func (h *handler) updateTenantSettings(w http.ResponseWriter, r *http.Request, p Principal) error {
	var patch map[string]any
	if err := decodeObject(r, &patch); err != nil {
		return err
	}
	ts, err := h.tenant.UpdateSettings(r.Context(), patch)
	if err != nil {
		return err
	}
	return h.writeTenant(w, r, ts)
}
