package oauth

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tokens"
)

// Revoke serves POST /oauth/revoke (RFC 7009): the authenticated client
// revokes one of its refresh tokens, which ends the token's whole family.
// With the tenant flag revoke_refresh_token_grant it ends every family of
// the same user, client and API.
func (h *Handler) Revoke(w http.ResponseWriter, r *http.Request) {
	if err := h.revoke(r); err != nil {
		e := AsError(err)
		h.Logger.LogAttrs(r.Context(), slog.LevelInfo, "revoke refused", slog.String("error", e.Code), slog.Any("cause", e.cause))
		WriteError(w, e)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) revoke(r *http.Request) error {
	ctx := r.Context()
	req, perr := ParseRequest(r)
	if perr != nil {
		return perr
	}
	client, _, err := h.Clients.Authenticate(ctx, req)
	if err != nil {
		return err
	}
	if req.Token == "" {
		return MissingParam("token")
	}
	familyID, hash, err := tokens.ParseRefreshToken(req.Token)
	if err != nil {
		return nil // RFC 7009 §2.2: an unknown token is not an error.
	}
	f, err := h.Families.GetRefreshFamily(ctx, familyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return ErrServer.WithCause(err)
	}
	if tokens.Judge(f, hash, h.Now(), 0) == tokens.Refused {
		return nil // not a token of this family, or already expired
	}
	if f.ClientID != client.ClientID {
		return Errorf(http.StatusBadRequest, "invalid_request", "The refresh token was not issued to this client")
	}
	tenant, err := h.Tenants.GetTenantSettings(ctx)
	if err != nil {
		return ErrServer.WithCause(err)
	}
	if tenant.Flags["revoke_refresh_token_grant"] {
		_, err = h.Families.DeleteRefreshFamilies(ctx, f.UserID, f.ClientID, f.Audience)
	} else {
		err = h.Families.DeleteRefreshFamily(ctx, f.ID)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return ErrServer.WithCause(err)
	}
	h.Hooks.Events.Emit(ctx, events.Event{Type: events.SuccessRevocation, Date: h.Now(), ClientID: client.ClientID,
		ClientName: client.Name, IP: ClientIP(ctx), UserAgent: truncate(r.UserAgent()), UserID: f.UserID, Audience: f.Audience})
	return nil
}
