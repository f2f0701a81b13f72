package mgmt

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/tenant"
)

// The tenant's email templates, shown as stored (store.EmailTemplate has
// the Management API's shape).

func (h *handler) createEmailTemplate(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.EmailTemplateInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	t, err := h.tenant.CreateEmailTemplate(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (h *handler) getEmailTemplate(w http.ResponseWriter, r *http.Request, p Principal) error {
	t, err := h.tenant.GetEmailTemplate(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, t)
}

func (h *handler) updateEmailTemplate(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.EmailTemplateInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	t, err := h.tenant.UpdateEmailTemplate(r.Context(), r.PathValue("name"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (h *handler) putEmailTemplate(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.EmailTemplateInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	t, err := h.tenant.PutEmailTemplate(r.Context(), r.PathValue("name"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
