package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-auth0/management"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/seal"
	"github.com/gatehouse/gatehouse/internal/server"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse/gatehouse/internal/tenantlog"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// storedLogs flushes the server's tenant log and reads every event back
// by checkpoint over HTTP.
func storedLogs(t *testing.T, e *testenv.Env) []map[string]any {
	t.Helper()
	if err := e.App.FlushLogs(t.Context()); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	from := ""
	for {
		body := e.API("GET", "/logs?take=100&from="+from, nil, 200)
		list, _ := body["list"].([]any)
		if len(list) == 0 {
			return out
		}
		for _, it := range list {
			out = append(out, it.(map[string]any))
		}
		from = out[len(out)-1]["log_id"].(string)
	}
}

func ofType(evs []map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["type"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// Real flows write the tenant log; it reads back over HTTP and through
// go-auth0, and holds none of the secrets the flows used.
func TestTenantLogRecordsRealFlows(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{{"sqlite", nil}, {"postgres", []testenv.Option{testenv.WithPostgres()}}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			streamPath := filepath.Join(t.TempDir(), "events.jsonl")
			e := testenv.Start(t, append(c.opts, testenv.WithConfig(func(cfg *config.Config) { cfg.LogStream = streamPath }))...)
			tn := e.SeedTenant(rotating(0, 2592000, 1296000))
			secrets := []string{tn.Password, tn.ClientSecret, e.Mgmt, testenv.BootstrapSecret}

			// A password login, its refresh, the old token used again, a
			// revocation, wrong passwords, an unknown user, a wrong client
			// secret and a Management change.
			status, body := e.PasswordGrant(tn, nil)
			if status != 200 {
				t.Fatalf("password grant: %d %v", status, body)
			}
			rt1, at := body["refresh_token"].(string), body["access_token"].(string)
			secrets = append(secrets, rt1, at, body["id_token"].(string))
			status, body = refresh(e, tn, rt1)
			if status != 200 {
				t.Fatalf("refresh: %d %v", status, body)
			}
			rt2 := body["refresh_token"].(string)
			secrets = append(secrets, rt2, body["access_token"].(string))
			if status, _ := refresh(e, tn, rt1); status != 403 {
				t.Fatalf("reuse: %d", status)
			}
			_, body = e.PasswordGrant(tn, nil)
			rt3 := body["refresh_token"].(string)
			secrets = append(secrets, rt3)
			if status, body := e.PostForm("/oauth/revoke", url.Values{"token": {rt3}, "client_id": {tn.ClientID}, "client_secret": {tn.ClientSecret}}); status != 200 {
				t.Fatalf("revoke: %d %v", status, body)
			}
			wrong := "Wrong-Password-Never-Logged-42"
			secrets = append(secrets, wrong)
			if status, _ := e.PasswordGrant(tn, url.Values{"password": {wrong}}); status != 403 {
				t.Fatalf("wrong password: %d", status)
			}
			if status, _ := e.PasswordGrant(tn, url.Values{"username": {"nobody@example.com"}, "password": {wrong}}); status != 403 {
				t.Fatalf("unknown user: %d", status)
			}
			badSecret := "not-the-secret-of-this-client-0000"
			secrets = append(secrets, badSecret)
			if status, _ := e.PasswordGrant(tn, url.Values{"client_secret": {badSecret}}); status != 401 {
				t.Fatalf("wrong client secret: %d", status)
			}
			e.API("PATCH", "/users/"+url.PathEscape(tn.UserID), map[string]any{"given_name": "Annie"}, 200)

			evs := storedLogs(t, e)
			for _, want := range []struct {
				typ  string
				user string
				min  int
			}{
				{"s", tn.UserID, 2}, {"sepft", tn.UserID, 2}, {"sertft", tn.UserID, 1}, {"ferrt", tn.UserID, 1},
				{"srrt", tn.UserID, 1}, {"fp", tn.UserID, 1}, {"fu", "", 1}, {"fepft", "", 1}, {"sapi", "", 6},
			} {
				got := ofType(evs, want.typ)
				if len(got) < want.min {
					t.Errorf("%d %s events, want at least %d (all: %v)", len(got), want.typ, want.min, types(evs))
					continue
				}
				if want.user != "" && got[0]["user_id"] != want.user {
					t.Errorf("%s: user_id %v, want %s", want.typ, got[0]["user_id"], want.user)
				}
			}
			// Fields of a login, as Auth0 shows them.
			s := ofType(evs, "s")[0]
			for k, v := range map[string]any{
				"client_id": tn.ClientID, "client_name": "Seed App", "connection": tn.Connection, "connection_id": tn.ConnectionID,
				"strategy": "auth0", "strategy_type": "database", "ip": "127.0.0.1", "user_name": tn.Username, "isMobile": false,
				"hostname": "127.0.0.1",
			} {
				if s[k] != v {
					t.Errorf("s event %s = %v, want %v", k, s[k], v)
				}
			}
			if fu := ofType(evs, "fu")[0]; fu["user_name"] != "nobody@example.com" || fu["description"] == "" {
				t.Errorf("fu event %v", fu)
			}
			if f := ofType(evs, "fepft")[0]; f["client_id"] != tn.ClientID {
				t.Errorf("client authentication failure logged as %v", f)
			}

			// No secret, password, token or code anywhere in what was stored
			// or streamed.
			raw, _ := json.Marshal(evs)
			stream, err := os.ReadFile(streamPath)
			if err != nil {
				t.Fatal(err)
			}
			for _, sec := range secrets {
				if sec == "" {
					t.Fatal("empty secret in the list")
				}
				if strings.Contains(string(raw), sec) || strings.Contains(string(stream), sec) {
					t.Errorf("a secret (%d chars) appears in the tenant log", len(sec))
				}
			}
			// The stream: one JSON line per stored event, 0600.
			if lines := strings.Count(string(stream), "\n"); lines != len(evs) {
				t.Errorf("%d stream lines, %d stored events", lines, len(evs))
			}
			if fi, err := os.Stat(streamPath); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("stream file mode %v, %v", fi.Mode(), err)
			}

			// go-auth0 reads the same events.
			host := strings.TrimPrefix(e.URL, "http://")
			m, err := management.New(host, management.WithInsecure(), management.WithStaticToken(e.Mgmt))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			fps, err := m.Log.List(ctx, management.Query("type:fp"), management.PerPage(10))
			if err != nil || len(fps) != 1 || fps[0].GetUserID() != tn.UserID || fps[0].TypeName() != "Failed Login (wrong password)" {
				t.Fatalf("Log.List(type:fp) = %d events, %v", len(fps), err)
			}
			one, err := m.Log.Read(ctx, fps[0].GetLogID())
			if err != nil || one.GetType() != "fp" || one.GetID() != fps[0].GetLogID() || one.GetDate().IsZero() {
				t.Fatalf("Log.Read = %+v, %v", one, err)
			}
			page, err := m.Log.List(ctx, management.From(""), management.Take(3))
			if err != nil || len(page) != 3 || page[0].GetLogID() != evs[0]["log_id"] {
				t.Fatalf("Log.List from/take = %d, %v", len(page), err)
			}
			mine, err := m.User.GetUserLogs(ctx, tn.UserID)
			if err != nil || len(mine) < 7 {
				t.Fatalf("User.GetUserLogs = %d, %v", len(mine), err)
			}
			for _, l := range mine {
				if l.GetUserID() != tn.UserID {
					t.Fatalf("user logs hold %s's event", l.GetUserID())
				}
			}
		})
	}
}

func types(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i], _ = e["type"].(string)
	}
	return out
}

// A graceful stop stores every event of every answered request, however
// long the flush interval.
func TestGracefulStopStoresTheTenantLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "gatehouse.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		return map[string]string{"GATEHOUSE_BOOTSTRAP_CLIENT_ID": testenv.BootstrapID, "GATEHOUSE_BOOTSTRAP_CLIENT_SECRET": testenv.BootstrapSecret}[k]
	}
	cfg, err := config.Parse([]string{"--addr", ln.Addr().String(), "--database", db}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := server.Open(ctx, cfg, slog.New(slog.DiscardHandler),
		server.WithTenantLog(func(o *tenantlog.Options) { o.FlushInterval, o.Batch = time.Hour, 1<<20 }))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	const requests = 40
	for range requests {
		resp, err := http.PostForm("http://"+ln.Addr().String()+"/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {testenv.BootstrapID},
			"client_secret": {testenv.BootstrapSecret}, "audience": {cfg.Issuer + "api/v2/"},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	secret, _, err := seal.LoadOrCreateFile(db + ".secret")
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := seal.New(secret)
	st, err := sqlstore.Open(context.Background(), db, sealer)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.LogsAfter(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == "seccft" {
			n++
		}
	}
	if n != requests {
		t.Fatalf("%d seccft events stored after a graceful stop, want %d", n, requests)
	}
}

// slowLogs is the real store taking its time over each batch of events.
type slowLogs struct {
	store.Logs
	delay time.Duration
}

func (s slowLogs) AppendLogs(ctx context.Context, evs []*store.LogEvent) error {
	time.Sleep(s.delay)
	return s.Logs.AppendLogs(ctx, evs)
}

// When the store cannot keep up, requests are not slowed: events that
// find the queue full are dropped and counted in /metrics, and the rest
// are stored.
func TestFullTenantLogIsCountedInMetrics(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.WithServerOptions(server.WithTenantLog(func(o *tenantlog.Options) {
		o.Capacity, o.Batch, o.Store = 1, 1, slowLogs{Logs: o.Store, delay: 300 * time.Millisecond}
	})))
	const requests = 20
	for range requests {
		status, body := e.PostForm("/oauth/token", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {testenv.BootstrapID},
			"client_secret": {testenv.BootstrapSecret}, "audience": {e.Issuer + "api/v2/"},
		})
		if status != 200 {
			t.Fatalf("status %d %v", status, body)
		}
	}
	resp, err := e.Client.Get(e.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var dropped float64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, `gatehouse_log_events_dropped_total{reason="buffer_full"} `); ok {
			json.Unmarshal([]byte(v), &dropped)
		}
	}
	if dropped < 1 {
		t.Fatalf("no dropped events counted:\n%s", b)
	}
	if !strings.Contains(string(b), "gatehouse_log_events_queued ") {
		t.Error("/metrics lacks gatehouse_log_events_queued")
	}
	t.Logf("%v events dropped with a queue of 1 and a 300 ms store (%d requests)", dropped, requests)
}
