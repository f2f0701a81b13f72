package mgmt

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// POST /api/v2/tickets/password-change and /email-verification: a
// single-use link for a user, answered as {ticket}.

func (h *handler) passwordChangeTicket(w http.ResponseWriter, r *http.Request, p Principal) error {
	return h.ticket(w, r, store.TicketPasswordChange)
}

func (h *handler) emailVerificationTicket(w http.ResponseWriter, r *http.Request, p Principal) error {
	return h.ticket(w, r, store.TicketEmailVerification)
}

// enrollmentTicket is POST /api/v2/guardian/enrollments/ticket: a link to
// the page where the user sets up an authenticator app, answered 200 as
// {ticket_id, ticket_url} (what go-auth0 expects); with send_mail the
// link is also mailed, after the answer.
func (h *handler) enrollmentTicket(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.EnrollmentTicketInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	t, err := h.tenant.CreateEnrollmentTicket(r.Context(), &in)
	if err != nil {
		return err
	}
	if t.MailTo != "" {
		if h.cfg.SendEnrollment == nil {
			h.cfg.Logger.WarnContext(r.Context(), "enrolment ticket: no mailer, the link was not sent")
		} else {
			h.cfg.SendEnrollment(r.Context(), t.MailTo, t.URL)
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"ticket_id": t.ID, "ticket_url": t.URL})
	return nil
}

func (h *handler) ticket(w http.ResponseWriter, r *http.Request, kind string) error {
	var in tenant.TicketInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	link, _, err := h.tenant.CreateTicket(r.Context(), kind, &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"ticket": link})
	return nil
}
