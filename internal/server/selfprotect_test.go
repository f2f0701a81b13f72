package server_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// Signups meet attack protection: the per-IP signup throttle, and breached
// password detection's registration stage.
func TestSignupMeetsAttackProtection(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	tn := e.SeedTenant()
	signup := func(email, password string) (int, map[string]any) {
		return e.PostJSON("/dbconnections/signup", map[string]any{"client_id": tn.ClientID, "connection": tn.Connection,
			"email": email, "password": password})
	}
	e.API("PATCH", "/attack-protection/breached-password-detection", map[string]any{"enabled": true,
		"stage": map[string]any{"pre-user-registration": map[string]any{"shields": []string{"block"}}}}, 200)
	if status, body := signup("leaky@example.com", "letmein"); status != 400 || body["code"] != "password_leaked" {
		t.Fatalf("signup with a leaked password = %d %v", status, body)
	}

	e.API("PATCH", "/attack-protection/suspicious-ip-throttling", map[string]any{
		"stage": map[string]any{"pre-user-registration": map[string]any{"max_attempts": 3, "rate": 3600000}}}, 200)
	// The refused signup above used the first of the three.
	for i, email := range []string{"one@example.com", "two@example.com"} {
		if status, body := signup(email, "a long and unusual passphrase"); status != 200 {
			t.Fatalf("signup %d = %d %v", i+1, status, body)
		}
	}
	status, body := signup("three@example.com", "a long and unusual passphrase")
	if status != 429 || body["code"] != "too_many_attempts" {
		t.Fatalf("third signup from one IP = %d %v, want 429 too_many_attempts", status, body)
	}
	e.API("DELETE", "/anomaly/blocks/ips/127.0.0.1", nil, 204)
	if status, body := signup("three@example.com", "a long and unusual passphrase"); status != 200 {
		t.Fatalf("signup after the unblock = %d %v", status, body)
	}
}
