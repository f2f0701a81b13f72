package mgmt

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/tenant"
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

// guardianPhoneRoutes are the sms and phone factors' provider and
// template endpoints. Both factors' paths read and write the same
// settings: the phone factor is Auth0's newer name for sms (and voice).
func guardianPhoneRoutes() []route {
	var out []route
	for _, f := range []string{"sms", "phone"} {
		base := "/api/v2/guardian/factors/" + f
		out = append(out,
			route{"GET " + base + "/selected-provider", []string{"read:guardian_factors"}, (*handler).getPhoneProvider},
			route{"PUT " + base + "/selected-provider", []string{"update:guardian_factors"}, (*handler).setPhoneProvider},
			route{"GET " + base + "/providers/twilio", []string{"read:guardian_factors"}, (*handler).getTwilio},
			route{"PUT " + base + "/providers/twilio", []string{"update:guardian_factors"}, (*handler).setTwilio},
			route{"GET " + base + "/templates", []string{"read:guardian_factors"}, (*handler).getPhoneTemplates},
			route{"PUT " + base + "/templates", []string{"update:guardian_factors"}, (*handler).setPhoneTemplates},
		)
	}
	return out
}

// providerBody is GET and PUT .../selected-provider.
type providerBody struct {
	Provider string `json:"provider"`
}

func (h *handler) getPhoneProvider(w http.ResponseWriter, r *http.Request, p Principal) error {
	provider, err := h.tenant.PhoneProvider(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, providerBody{provider})
	return nil
}

func (h *handler) setPhoneProvider(w http.ResponseWriter, r *http.Request, p Principal) error {
	var body providerBody
	if err := decodeObject(r, &body); err != nil {
		return err
	}
	provider, err := h.tenant.SetPhoneProvider(r.Context(), body.Provider)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, providerBody{provider})
	return nil
}

// twilioView is the tenant's Twilio settings as the API shows them: the
// auth token is write-only.
type twilioView struct {
	From                string `json:"from,omitempty"`
	MessagingServiceSID string `json:"messaging_service_sid,omitempty"`
	SID                 string `json:"sid,omitempty"`
}

func (h *handler) getTwilio(w http.ResponseWriter, r *http.Request, p Principal) error {
	tw, err := h.tenant.Twilio(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, twilioView{From: tw.From, MessagingServiceSID: tw.MessagingServiceSID, SID: tw.SID})
	return nil
}

func (h *handler) setTwilio(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.TwilioInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	tw, err := h.tenant.SetTwilio(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, twilioView{From: tw.From, MessagingServiceSID: tw.MessagingServiceSID, SID: tw.SID})
	return nil
}

// templatesBody is GET and PUT .../templates.
type templatesBody struct {
	EnrollmentMessage   *string `json:"enrollment_message"`
	VerificationMessage *string `json:"verification_message"`
}

func (h *handler) getPhoneTemplates(w http.ResponseWriter, r *http.Request, p Principal) error {
	enrollment, verification, err := h.tenant.PhoneTemplates(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templatesBody{&enrollment, &verification})
	return nil
}

func (h *handler) setPhoneTemplates(w http.ResponseWriter, r *http.Request, p Principal) error {
	var body templatesBody
	if err := decodeObject(r, &body); err != nil {
		return err
	}
	if err := h.tenant.SetPhoneTemplates(r.Context(), body.EnrollmentMessage, body.VerificationMessage); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
