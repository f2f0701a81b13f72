// Package metrics owns gatehouse's Prometheus metrics: HTTP requests by
// route and status with their latency, token requests by grant type and
// status with per-grant latency, password-hash time and the hash queue,
// store latency per operation, tenant events (logins by outcome, token
// exchanges, refresh-token reuse) counted from the events stream, and the
// Go runtime and process collectors. One Metrics per App, on its own
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
	// the token endpoint, per grant type
	tokenRequests *prometheus.CounterVec
	tokenDuration *prometheus.HistogramVec
	// password hashing and its limiter
	hashDuration prometheus.Histogram
	// the database under the configuration cache, per operation
	storeDuration *prometheus.HistogramVec
	// attack protection's verdicts, and breached passwords per stage
	protection *prometheus.CounterVec
	breached   *prometheus.CounterVec
}

// Attack protection's label values (see Protection and BreachedPassword).
const (
	BruteForce      = "brute_force"
	SuspiciousIP    = "suspicious_ip"
	SameUserLimit   = "same_user_limit"
	RefreshLimit    = "refresh_limit"
	Blocked         = "blocked"      // a block or throttle began (limit_wc, limit_mu), or a leaked password was refused
	Refused         = "refused"      // a request answered 429 by a block, throttle or limit in force
	Allowed         = "allowed"      // a leaked password let through (no block shield)
	CheckFailed     = "check_failed" // the breached-password list could not answer
	StagePreLogin   = "pre-login"
	StageSignup     = "pre-user-registration"
	StageChangePass = "pre-change-password"
)

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
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_token_requests_total",
			Help: "Token endpoint requests answered, by grant type (\"unsupported\" for any other) and status code.",
		}, []string{"grant_type", "status"}),
		tokenDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_token_request_duration_seconds",
			Help:    "Time to answer a token endpoint request, by grant type.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"grant_type"}),
		hashDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "gatehouse_password_hash_duration_seconds",
			Help:    "Time one password hash or verification takes, not counting the wait for a slot.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_store_duration_seconds",
			Help:    "Time the database takes per store operation (under the configuration cache).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		logDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_log_events_dropped_total",
			Help: "Tenant log events not stored, by reason: buffer_full (the write queue was full), store_error (the store kept failing), after_close.",
		}, []string{"reason"}),
		protection: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_attack_protection_total",
			Help: "Attack protection's verdicts, by protection (brute_force, suspicious_ip, same_user_limit, refresh_limit) and outcome: blocked (a block or throttle began) or refused (a request answered 429 while one is in force).",
		}, []string{"protection", "outcome"}),
		breached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_breached_password_detections_total",
			Help: "Leaked passwords detected, by stage (pre-login, pre-user-registration, pre-change-password) and outcome: blocked, allowed (logged only) or check_failed (the list could not answer).",
		}, []string{"stage", "outcome"}),
	}
	for _, r := range []string{"buffer_full", "store_error", "after_close"} {
		m.logDropped.WithLabelValues(r)
	}
	for _, o := range []string{"success", "wrong_password", "unknown_user", "failed"} {
		m.logins.WithLabelValues(o)
	}
	// Every series exists from the start, so a rate over it has a base.
	for p, outcomes := range map[string][]string{BruteForce: {Blocked, Refused}, SuspiciousIP: {Blocked, Refused},
		SameUserLimit: {Refused}, RefreshLimit: {Refused}} {
		for _, o := range outcomes {
			m.protection.WithLabelValues(p, o)
		}
	}
	for _, st := range []string{StagePreLogin, StageSignup, StageChangePass} {
		for _, o := range []string{Blocked, Allowed, CheckFailed} {
			m.breached.WithLabelValues(st, o)
		}
	}
	m.registry.MustRegister(m.requests, m.duration, m.events, m.logins, m.refreshReuse, m.storePing, m.logDropped,
		m.tokenRequests, m.tokenDuration, m.hashDuration, m.storeDuration, m.protection, m.breached,
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

// ObserveToken counts and times one token endpoint request (see
// oauth.Handler.Observe).
func (m *Metrics) ObserveToken(grantType string, status int, d time.Duration) {
	m.tokenRequests.WithLabelValues(grantType, strconv.Itoa(status)).Inc()
	m.tokenDuration.WithLabelValues(grantType).Observe(d.Seconds())
}

// Protection counts one attack protection verdict: protection is
// BruteForce, SuspiciousIP, SameUserLimit or RefreshLimit; outcome Blocked
// or Refused.
func (m *Metrics) Protection(protection, outcome string) {
	m.protection.WithLabelValues(protection, outcome).Inc()
}

// BreachedPassword counts one leaked password (or failed check) at stage.
func (m *Metrics) BreachedPassword(stage, outcome string) {
	m.breached.WithLabelValues(stage, outcome).Inc()
}

// ObserveHash records one password hash's time (see passwords.Limiter).
func (m *Metrics) ObserveHash(d time.Duration) { m.hashDuration.Observe(d.Seconds()) }

// HashQueue is what the hash gauges read: passwords.Limiter.
type HashQueue interface {
	Waiting() int
	Running() int
}

// WatchHashQueue publishes q's queue depth and running hashes as gauges,
// read at each scrape.
func (m *Metrics) WatchHashQueue(q HashQueue) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_hash_queue_depth",
			Help: "Password checks waiting for a hashing slot.",
		}, func() float64 { return float64(q.Waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gatehouse_password_hashes_in_progress",
			Help: "Password hashes running now (at most --hash-concurrency).",
		}, func() float64 { return float64(q.Running()) }),
	)
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
