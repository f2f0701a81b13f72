package mgmt

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// A user's second factors: guardian enrollments, authentication methods,
// the MFA reset, the recovery code. The rules are tenant.Service's; this
// file is their wire shape.

// enrollmentView is one guardian enrollment (GET /users/{id}/enrollments,
// GET /guardian/enrollments/{id}).
type enrollmentView struct {
	ID          string `json:"id"`
	Status      string `json:"status"` // pending or confirmed
	Type        string `json:"type"`
	Name        string `json:"name,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
	AuthMethod  string `json:"auth_method"`
	EnrolledAt  string `json:"enrolled_at,omitempty"`
}

func viewEnrollment(a *store.Authenticator) enrollmentView {
	v := enrollmentView{ID: tenant.EnrollmentID(a), Status: "pending", Type: a.Kind, AuthMethod: a.Kind}
	if a.Active {
		v.Status, v.EnrolledAt = "confirmed", optTime(a.ConfirmedAt)
	}
	switch a.Kind {
	case "totp":
		v.AuthMethod = "authenticator"
	case "push":
		v.Type, v.AuthMethod = "pn", "guardian"
	case "sms", "voice":
		v.PhoneNumber, v.AuthMethod = a.Name, "sms"
	case "email":
		v.Name = a.Name
	}
	return v
}

// authMethodView is one authentication method
// (GET /users/{id}/authentication-methods[/{method_id}]).
type authMethodView struct {
	ID                            string          `json:"id"`
	Type                          string          `json:"type"`
	Confirmed                     bool            `json:"confirmed"`
	Name                          string          `json:"name,omitempty"`
	PhoneNumber                   string          `json:"phone_number,omitempty"`
	Email                         string          `json:"email,omitempty"`
	PreferredAuthenticationMethod string          `json:"preferred_authentication_method,omitempty"`
	AuthenticationMethods         []methodRefView `json:"authentication_methods,omitempty"`
	CreatedAt                     string          `json:"created_at"`
	EnrolledAt                    string          `json:"enrolled_at,omitempty"`
}

type methodRefView struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

func viewAuthMethod(a *store.Authenticator) authMethodView {
	v := authMethodView{ID: a.ID, Type: a.Kind, Confirmed: a.Active, CreatedAt: isoTime(a.CreatedAt), EnrolledAt: optTime(a.ConfirmedAt)}
	switch a.Kind {
	case "sms", "voice":
		v.Type, v.PhoneNumber, v.PreferredAuthenticationMethod = "phone", a.Name, a.Kind
		v.AuthenticationMethods = []methodRefView{{ID: a.ID, Type: a.Kind}}
	case "email":
		v.Email, v.Name = a.Name, a.Name
	}
	return v
}

func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return isoTime(t)
}

func (h *handler) listEnrollments(w http.ResponseWriter, r *http.Request, p Principal) error {
	list, err := h.tenant.UserAuthenticators(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := []enrollmentView{}
	for _, a := range list {
		if tenant.IsEnrollment(a) {
			out = append(out, viewEnrollment(a))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *handler) getEnrollment(w http.ResponseWriter, r *http.Request, p Principal) error {
	a, err := h.tenant.Enrollment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewEnrollment(a))
	return nil
}

func (h *handler) deleteEnrollment(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteEnrollment(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// listAuthMethods pages like Auth0: a bare array, or with include_totals
// {authenticators,start,limit,length,total} (the shape the SDKs page on).
func (h *handler) listAuthMethods(w http.ResponseWriter, r *http.Request, p Principal) error {
	lq, err := parseListQuery(r.URL.Query(), false)
	if err != nil {
		return err
	}
	list, err := h.tenant.UserAuthenticators(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeSlice(w, lq, "authenticators", list, func(a *store.Authenticator) any { return viewAuthMethod(a) })
}

func (h *handler) getAuthMethod(w http.ResponseWriter, r *http.Request, p Principal) error {
	a, err := h.tenant.UserAuthenticator(r.Context(), r.PathValue("id"), r.PathValue("method"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAuthMethod(a))
	return nil
}

func (h *handler) deleteAuthMethod(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.DeleteUserAuthenticator(r.Context(), r.PathValue("id"), r.PathValue("method")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// resetMFA serves both DELETE /users/{id}/authenticators and DELETE
// /users/{id}/authentication-methods: every second factor goes.
func (h *handler) resetMFA(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.ResetUserMFA(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

func (h *handler) regenerateRecoveryCode(w http.ResponseWriter, r *http.Request, p Principal) error {
	code, err := h.tenant.RegenerateRecoveryCode(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"recovery_code": code})
	return nil
}

func (h *handler) invalidateRememberBrowser(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.InvalidateRememberBrowser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// userMFARoutes are the endpoints above with Auth0's scopes.
func userMFARoutes() []route {
	return []route{
		{"GET /api/v2/users/{id}/enrollments", []string{"read:users"}, (*handler).listEnrollments},
		{"GET /api/v2/users/{id}/authentication-methods", []string{"read:authentication_methods"}, (*handler).listAuthMethods},
		{"GET /api/v2/users/{id}/authentication-methods/{method}", []string{"read:authentication_methods"}, (*handler).getAuthMethod},
		{"DELETE /api/v2/users/{id}/authentication-methods", []string{"delete:authentication_methods"}, (*handler).resetMFA},
		{"DELETE /api/v2/users/{id}/authentication-methods/{method}", []string{"delete:authentication_methods"}, (*handler).deleteAuthMethod},
		{"DELETE /api/v2/users/{id}/authenticators", []string{"delete:guardian_enrollments"}, (*handler).resetMFA},
		{"POST /api/v2/users/{id}/recovery-code-regeneration", []string{"update:users"}, (*handler).regenerateRecoveryCode},
		{"POST /api/v2/users/{id}/multifactor/actions/invalidate-remember-browser", []string{"update:users"}, (*handler).invalidateRememberBrowser},
		{"GET /api/v2/guardian/enrollments/{id}", []string{"read:guardian_enrollments"}, (*handler).getEnrollment},
		{"DELETE /api/v2/guardian/enrollments/{id}", []string{"delete:guardian_enrollments"}, (*handler).deleteEnrollment},
		{"POST /api/v2/guardian/enrollments/ticket", []string{"create:guardian_enrollment_tickets"}, (*handler).enrollmentTicket},
	}
}
