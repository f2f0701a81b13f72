package server_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/events"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/server"
)

// selfEvents keeps the Auth0 log events a server emits.
type selfEvents struct {
	mu  sync.Mutex
	all []events.Event
}

func (r *selfEvents) Emit(_ context.Context, e events.Event) {
	r.mu.Lock()
	r.all = append(r.all, e)
	r.mu.Unlock()
}

func (r *selfEvents) option() server.Option { return server.WithHooks(oauth.Hooks{Events: r}) }

// wait returns the first event of type typ within a few seconds.
func (r *selfEvents) wait(t *testing.T, typ string) events.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		i := slices.IndexFunc(r.all, func(e events.Event) bool { return e.Type == typ })
		var e events.Event
		if i >= 0 {
			e = r.all[i]
		}
		r.mu.Unlock()
		if i >= 0 {
			return e
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %s event", typ)
	return events.Event{}
}
