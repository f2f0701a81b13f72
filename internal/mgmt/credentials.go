package mgmt

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// credentialView is a credential as the API shows it: never its PEM.
type credentialView struct {
	ID             string `json:"id"`
	Name           string `json:"name,omitempty"`
	CredentialType string `json:"credential_type"`
	KID            string `json:"kid"`
	Alg            string `json:"alg"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
	ExpiresAt      string `json:"expires_at,omitempty"`
}

func viewCredential(c store.ClientCredential) credentialView {
	return credentialView{
		ID: c.ID, Name: c.Name, CredentialType: c.CredentialType, KID: c.KID, Alg: c.Alg,
		CreatedAt: isoTime(c.CreatedAt), UpdatedAt: isoTime(c.UpdatedAt), ExpiresAt: isoTimePtr(c.ExpiresAt),
	}
}

func (h *handler) listCredentials(w http.ResponseWriter, r *http.Request, p Principal) error {
	c, err := h.tenant.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]credentialView, 0, len(c.Credentials))
	for _, k := range c.Credentials {
		out = append(out, viewCredential(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getCredential(w http.ResponseWriter, r *http.Request, p Principal) error {
	k, err := h.tenant.ClientCredential(r.Context(), r.PathValue("id"), r.PathValue("cred"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCredential(k))
	return nil
}

func (h *handler) createCredential(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.CredentialInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	cred, err := h.tenant.AddClientCredential(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewCredential(cred))
	return nil
}

func (h *handler) deleteCredential(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteClientCredential(r.Context(), r.PathValue("id"), r.PathValue("cred")); err != nil {
		return err
	}
	noContent(w)
	return nil
}
