package mgmt

import (
	"net/http"
)

// The /guardian endpoints: the tenant's MFA policy and factors. The rules
// are tenant.Service's; this file is their wire shape.

func (h *handler) getMFAPolicies(w http.ResponseWriter, r *http.Request, p Principal) error {
	policies, err := h.tenant.MFAPolicies(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, policies)
	return nil
}

func (h *handler) setMFAPolicies(w http.ResponseWriter, r *http.Request, p Principal) error {
	var policies []string
	if err := decodeArray(r, &policies); err != nil {
		return err
	}
	out, err := h.tenant.SetMFAPolicies(r.Context(), policies)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// factorView is one factor in GET /guardian/factors.
type factorView struct {
	Name    string `json:"name"`
	Enabled bool   `json:"enabled"`
	// TrialExpired is always false: gatehouse has no trials.
	TrialExpired bool `json:"trial_expired"`
}

func (h *handler) listMFAFactors(w http.ResponseWriter, r *http.Request, p Principal) error {
	factors, err := h.tenant.MFAFactors(r.Context())
	if err != nil {
		return err
	}
	out := make([]factorView, len(factors))
	for i, f := range factors {
		out[i] = factorView{Name: f.Name, Enabled: f.Enabled}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// factorBody is PUT /guardian/factors/{name}.
type factorBody struct {
	Enabled *bool `json:"enabled"`
}

func (h *handler) setMFAFactor(w http.ResponseWriter, r *http.Request, p Principal) error {
	var body factorBody
	if err := decodeObject(r, &body); err != nil {
		return err
	}
	if body.Enabled == nil {
		return invalidBody("Missing required property: enabled")
	}
	if err := h.tenant.SetMFAFactor(r.Context(), r.PathValue("name"), *body.Enabled); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"enabled": *body.Enabled})
	return nil
}

// messageTypesBody is GET and PUT /guardian/factors/phone/message-types.
type messageTypesBody struct {
	MessageTypes []string `json:"message_types"`
}

func (h *handler) getPhoneMessageTypes(w http.ResponseWriter, r *http.Request, p Principal) error {
	types, err := h.tenant.PhoneMessageTypes(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageTypesBody{types})
	return nil
}

func (h *handler) setPhoneMessageTypes(w http.ResponseWriter, r *http.Request, p Principal) error {
	var body messageTypesBody
	if err := decodeObject(r, &body); err != nil {
		return err
	}
	types, err := h.tenant.SetPhoneMessageTypes(r.Context(), body.MessageTypes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, messageTypesBody{types})
	return nil
}
