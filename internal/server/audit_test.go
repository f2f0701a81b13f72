package server_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// eventRecorder keeps every event emitted.
type eventRecorder struct {
	mu sync.Mutex
	ev []events.Event
}

func (r *eventRecorder) Emit(_ context.Context, e events.Event) {
	r.mu.Lock()
	r.ev = append(r.ev, e)
	r.mu.Unlock()
}

func (r *eventRecorder) ofType(typ string) []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(r.ev), func(e events.Event) bool { return e.Type != typ })
}

// TestManagementChangesAreLogged: the domain layer emits sapi for a change
// and fapi for a refused one, naming the Management API caller; the token
// pipeline's events go to the same emitter.
func TestManagementChangesAreLogged(t *testing.T) {
	t.Parallel()
	rec := &eventRecorder{}
	env := testenv.Start(t, testenv.WithServerOptions(server.WithHooks(oauth.Hooks{Events: rec})))
	env.API("POST", "/clients", map[string]any{"name": "Audited"}, 201)
	env.API("POST", "/clients", map[string]any{"app_type": "spa"}, 400)
	env.API("GET", "/clients", nil, 200)

	byCaller := func(ev []events.Event) []events.Event {
		return slices.DeleteFunc(ev, func(e events.Event) bool { return e.ClientID != testenv.BootstrapID })
	}
	// Bootstrap's own changes at start are logged too, with no caller.
	ok, failed := byCaller(rec.ofType(events.SuccessAPIOperation)), byCaller(rec.ofType(events.FailedAPIOperation))
	if len(ok) != 1 || ok[0].Description != "Create a client" || ok[0].ClientID != testenv.BootstrapID {
		t.Errorf("sapi events = %+v, want one \"Create a client\" by %s", ok, testenv.BootstrapID)
	}
	if len(failed) != 1 || failed[0].ClientID != testenv.BootstrapID || failed[0].Details["error"] == nil {
		t.Errorf("fapi events = %+v, want one refused create with its error", failed)
	}
	if len(rec.ofType(events.SuccessExchangeClientCred)) == 0 {
		t.Error("the management token's client credentials exchange was not emitted to the same emitter")
	}
}
