package mgmt

import (
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/tenant"
)

// The /attack-protection, /user-blocks and /anomaly endpoints. The rules
// are tenant.Service's; this file is their wire shape.

// bruteForceView is GET /attack-protection/brute-force-protection.
type bruteForceView struct {
	Enabled     bool     `json:"enabled"`
	Shields     []string `json:"shields"`
	Allowlist   []string `json:"allowlist"`
	Mode        string   `json:"mode"`
	MaxAttempts int      `json:"max_attempts"`
}

func viewBruteForce(b store.BruteForceProtection) bruteForceView {
	return bruteForceView{Enabled: b.Enabled, Shields: orEmpty(b.Shields), Allowlist: orEmpty(b.Allowlist), Mode: b.Mode, MaxAttempts: b.MaxAttempts}
}

type stageView struct {
	MaxAttempts int   `json:"max_attempts"`
	Rate        int64 `json:"rate"`
}

// suspiciousIPView is GET /attack-protection/suspicious-ip-throttling.
type suspiciousIPView struct {
	Enabled   bool                 `json:"enabled"`
	Shields   []string             `json:"shields"`
	Allowlist []string             `json:"allowlist"`
	Stage     map[string]stageView `json:"stage"`
}

func viewSuspiciousIP(t store.SuspiciousIPThrottling) suspiciousIPView {
	v := suspiciousIPView{Enabled: t.Enabled, Shields: orEmpty(t.Shields), Allowlist: orEmpty(t.Allowlist), Stage: map[string]stageView{}}
	for name, st := range t.Stages {
		v.Stage[name] = stageView{MaxAttempts: st.MaxAttempts, Rate: st.Rate}
	}
	return v
}

type breachedStageView struct {
	Shields []string `json:"shields"`
}

// breachedView is GET /attack-protection/breached-password-detection.
type breachedView struct {
	Enabled                    bool                         `json:"enabled"`
	Shields                    []string                     `json:"shields"`
	AdminNotificationFrequency []string                     `json:"admin_notification_frequency"`
	Method                     string                       `json:"method"`
	Stage                      map[string]breachedStageView `json:"stage"`
}

func viewBreached(b store.BreachedPasswordDetection) breachedView {
	v := breachedView{Enabled: b.Enabled, Shields: orEmpty(b.Shields), AdminNotificationFrequency: orEmpty(b.AdminNotificationFrequency),
		Method: b.Method, Stage: map[string]breachedStageView{}}
	for name, list := range b.StageShields {
		v.Stage[name] = breachedStageView{Shields: orEmpty(list)}
	}
	return v
}

func orEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return slices.Clone(list)
}

func (h *handler) getBruteForce(w http.ResponseWriter, r *http.Request, p Principal) error {
	ap, err := h.tenant.Protection(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewBruteForce(ap.BruteForce))
	return nil
}

func (h *handler) updateBruteForce(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.BruteForceInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	out, err := h.tenant.UpdateBruteForce(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewBruteForce(out))
	return nil
}

func (h *handler) getSuspiciousIP(w http.ResponseWriter, r *http.Request, p Principal) error {
	ap, err := h.tenant.Protection(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewSuspiciousIP(ap.SuspiciousIP))
	return nil
}

func (h *handler) updateSuspiciousIP(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.SuspiciousIPInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	out, err := h.tenant.UpdateSuspiciousIP(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewSuspiciousIP(out))
	return nil
}

func (h *handler) getBreached(w http.ResponseWriter, r *http.Request, p Principal) error {
	ap, err := h.tenant.Protection(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewBreached(ap.Breached))
	return nil
}

func (h *handler) updateBreached(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tenant.BreachedInput
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	out, err := h.tenant.UpdateBreached(r.Context(), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewBreached(out))
	return nil
}

// blockView is one entry of a user-blocks answer.
type blockView struct {
	Identifier string `json:"identifier"`
	IP         string `json:"ip,omitempty"`
	Connection string `json:"connection"`
}

type blocksView struct {
	BlockedFor []blockView `json:"blocked_for"`
}

func writeBlocks(w http.ResponseWriter, blocks []tenant.Block) {
	out := blocksView{BlockedFor: make([]blockView, len(blocks))}
	for i, b := range blocks {
		out.BlockedFor[i] = blockView{Identifier: b.Identifier, IP: b.IP, Connection: b.Connection}
	}
	writeJSON(w, http.StatusOK, out)
}

// considerEnablement reads consider_brute_force_enablement (default false).
func considerEnablement(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("consider_brute_force_enablement"); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, invalidQuery("consider_brute_force_enablement", "Expected type boolean but found type string")
	}
}

// identifierQuery reads the identifier of /user-blocks?identifier=.
func identifierQuery(r *http.Request) (string, error) {
	id := r.URL.Query().Get("identifier")
	if id == "" {
		return "", invalidQuery("identifier", "Missing required property: identifier")
	}
	return id, nil
}

func (h *handler) listUserBlocks(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := identifierQuery(r)
	if err != nil {
		return err
	}
	consider, err := considerEnablement(r)
	if err != nil {
		return err
	}
	blocks, err := h.tenant.UserBlocks(r.Context(), id, consider)
	if err != nil {
		return err
	}
	writeBlocks(w, blocks)
	return nil
}

func (h *handler) deleteUserBlocks(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := identifierQuery(r)
	if err != nil {
		return err
	}
	if err := h.tenant.Unblock(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) getUserBlocks(w http.ResponseWriter, r *http.Request, p Principal) error {
	consider, err := considerEnablement(r)
	if err != nil {
		return err
	}
	blocks, err := h.tenant.UserBlocksOf(r.Context(), r.PathValue("id"), consider)
	if err != nil {
		return err
	}
	writeBlocks(w, blocks)
	return nil
}

func (h *handler) deleteUserBlocksOf(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.UnblockUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkIPBlock answers 200 when suspicious IP throttling blocks the IP,
// 404 when it does not (as Auth0 does).
func (h *handler) checkIPBlock(w http.ResponseWriter, r *http.Request, p Principal) error {
	blocked, err := h.tenant.IPBlocked(r.Context(), r.PathValue("ip"))
	if err != nil {
		return err
	}
	if !blocked {
		return &apiError{Status: http.StatusNotFound, Message: "IP address specified is not currently blocked."}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *handler) deleteIPBlock(w http.ResponseWriter, r *http.Request, p Principal) error {
	if err := h.tenant.UnblockIP(r.Context(), r.PathValue("ip")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
