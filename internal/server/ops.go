package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// readyTimeout bounds the readiness probe's store query: a store slower
// than this is as good as down for a load balancer.
const readyTimeout = 2 * time.Second

// opsRoutes adds the operator's endpoints: /healthz (liveness: the process
// answers), /readyz (the store answers in time and the signing keys are
// loaded) and /metrics (unless it has its own listener, --metrics-addr).
func (a *App) opsRoutes(mux *routeTable) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.ready)
	if a.Config.MetricsAddr == "" {
		mux.Handle("GET /metrics", a.Metrics.Handler())
	}
}

// ready answers 200 when the store answers within readyTimeout and the
// signing keys are loaded, else 503 naming the failing check (the cause
// goes to the log, not to the caller).
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{"store": "ok", "keys": "ok"}
	status := http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	start := time.Now()
	_, err := a.Store.ConfigVersion(ctx)
	a.Metrics.ObserveStorePing(time.Since(start))
	if err != nil {
		checks["store"], status = "unavailable", http.StatusServiceUnavailable
		a.Log.WarnContext(r.Context(), "readiness: store did not answer", slog.Any("err", err))
	}
	if a.Keys == nil || a.Keys.Current() == nil {
		checks["keys"], status = "not loaded", http.StatusServiceUnavailable
	}
	body := map[string]any{"status": "ok", "checks": checks}
	if status != http.StatusOK {
		body["status"] = "unavailable"
	}
	writeStatus(w, status, body)
}

func writeStatus(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// MetricsHandler serves /metrics, for a listener of its own.
func (a *App) MetricsHandler() http.Handler { return a.Metrics.Handler() }

// instrument counts and times every request by its route pattern and, at
// debug level, logs a line of request detail the access log leaves out.
// It sits inside the access-log middleware and around the mux, whose
// match fills r.Pattern.
func (a *App) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &countingWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		d := time.Since(start)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		a.Metrics.ObserveRequest(route, r.Method, rec.status, d)
		if a.Log.Enabled(r.Context(), slog.LevelDebug) {
			a.Log.LogAttrs(r.Context(), slog.LevelDebug, "request detail",
				slog.String("route", route), slog.String("proto", r.Proto), slog.String("host", r.Host),
				slog.String("content_type", r.Header.Get("Content-Type")), slog.Int64("bytes_in", r.ContentLength),
				slog.Int64("bytes_out", rec.bytes), slog.Int("status", rec.status),
				slog.String("user_agent", r.UserAgent()), slog.Bool("tls", r.TLS != nil),
				slog.Float64("handler_ms", float64(d.Microseconds())/1000))
		}
	})
}

// countingWriter records the status and the size of a response.
type countingWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.wroteHeader {
		c.status, c.wroteHeader = code, true
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.wroteHeader = true
	n, err := c.ResponseWriter.Write(b)
	c.bytes += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
