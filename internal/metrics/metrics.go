// Package metrics owns gatehouse's Prometheus metrics: HTTP requests by
// route and status with their latency, tenant events (logins by outcome,
// token exchanges, refresh-token reuse) counted from the events stream, and
// the Go runtime and process collectors. One Metrics per App, on its own
// registry, so tests can run many servers in one process.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/internal/events"
)

// Metrics holds the collectors of one gatehouse.
type Metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	events       *prometheus.CounterVec
	logins       *prometheus.CounterVec
	refreshReuse prometheus.Counter
	storePing    prometheus.Histogram
	logDropped   *prometheus.CounterVec
}

// New makes the collectors and registers them with the Go runtime and
// process collectors on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_events_total",
			Help: "Tenant log events, by Auth0 event type code (s, fp, fu, sepft, sertft, ferrt, ...).",
		}, []string{"type"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_logins_total",
			Help: "Password logins, by outcome: success, wrong_password, unknown_user or failed.",
		}, []string{"outcome"}),
		refreshReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gatehouse_refresh_token_reuse_total",
			Help: "Rotated refresh tokens used again (each revokes its whole family).",
		}),
		storePing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_store_ping_duration_seconds",
			Help:    "Time the store takes to answer the readiness probe's query.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_log_events_dropped_total",
			Help: "Tenant log events not stored, by reason: buffer_full (the write queue was full), store_error (the store kept failing), after_close.",
		}, []string{"reason"}),
	}
	for _, r := range []string{"buffer_full", "store_error", "after_close"} {
		m.logDropped.WithLabelValues(r)
	}
	for _, o := range []string{"success", "wrong_password", "unknown_user", "failed"} {
		m.logins.WithLabelValues(o)
	}
	m.registry.MustRegister(m.requests, m.duration, m.events, m.logins, m.refreshReuse, m.storePing, m.logDropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Register adds further collectors (a gauge over a queue, say).
func (m *Metrics) Register(c ...prometheus.Collector) { m.registry.MustRegister(c...) }

// ObserveRequest counts one answered request. route is the matched
// pattern, never the raw path, so the label set stays bounded.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// LogEventsDropped counts tenant log events that were not stored.
func (m *Metrics) LogEventsDropped(reason string, n int) {
	m.logDropped.WithLabelValues(reason).Add(float64(n))
}

// ObserveStorePing records how long the store took to answer the
// readiness probe.
func (m *Metrics) ObserveStorePing(d time.Duration) { m.storePing.Observe(d.Seconds()) }

// Events returns an events.Emitter that counts what it receives; put it in
// an events.Multi beside the emitters that log or store events.
func (m *Metrics) Events() events.Emitter { return counter{m} }

type counter struct{ m *Metrics }

// Emit implements events.Emitter.
func (c counter) Emit(_ context.Context, e events.Event) {
	if e.Type == "" {
		return
	}
	c.m.events.WithLabelValues(e.Type).Inc()
	switch e.Type {
	case events.SuccessLogin:
		c.m.logins.WithLabelValues("success").Inc()
	case events.FailedLoginWrongPassword:
		c.m.logins.WithLabelValues("wrong_password").Inc()
	case events.FailedLoginUnknownUser:
		c.m.logins.WithLabelValues("unknown_user").Inc()
	case events.FailedLogin:
		c.m.logins.WithLabelValues("failed").Inc()
	case events.RefreshTokenReuse:
		c.m.refreshReuse.Inc()
	}
}
