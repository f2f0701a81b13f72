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
