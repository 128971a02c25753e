// Package metrics defines guestpass's Prometheus collectors on an explicit registry (never the
// global default one, so tests and several servers in one process do not collide) and serves
// them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Activity outcomes recorded in guestpass_activities_total.
const (
	OutcomeOK           = "ok"           // handled
	OutcomeIgnored      = "ignored"      // unknown type or nothing to do
	OutcomeDuplicate    = "duplicate"    // a re-sent activity already claimed
	OutcomeError        = "error"        // the handler failed
	OutcomeUnauthorized = "unauthorized" // rejected by channel authentication
	OutcomeForbidden    = "forbidden"    // tenant not allowed
	OutcomeBadRequest   = "bad_request"  // malformed or oversized body
	OutcomeUnavailable  = "unavailable"  // the store could not be reached
)

// Metrics holds guestpass's collectors and the registry they are registered on.
type Metrics struct {
	reg *prometheus.Registry

	activities       *prometheus.CounterVec
	activityDuration *prometheus.HistogramVec
	connector        *prometheus.CounterVec
	authFailures     *prometheus.CounterVec
}

// New creates the collectors on a fresh registry, together with the Go runtime and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		activities: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guestpass_activities_total",
			Help: "Inbound Bot Framework activities by type and outcome.",
		}, []string{"type", "outcome"}),
		activityDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "guestpass_activity_duration_seconds",
			Help: "Time to handle an inbound activity, from request to response.",
			// Invokes must answer within a few seconds; the tail beyond 15 s is a channel timeout.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"type"}),
		connector: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guestpass_connector_requests_total",
			Help: "Outbound Bot Connector requests by operation and HTTP status (0: no response).",
		}, []string{"op", "status"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guestpass_auth_failures_total",
			Help: "Inbound requests rejected by channel authentication, by reason.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(
		m.activities, m.activityDuration, m.connector, m.authFailures,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry, so other packages can register their own collectors on it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Activity records one handled activity. Activity types are a small set chosen by the channel;
// callers pass "other" for types guestpass does not know, to keep label cardinality bounded.
func (m *Metrics) Activity(activityType, outcome string, d time.Duration) {
	m.activities.WithLabelValues(activityType, outcome).Inc()
	m.activityDuration.WithLabelValues(activityType).Observe(d.Seconds())
}

// ConnectorRequest records one outbound Bot Connector request; status 0 means no HTTP response
// (timeout, connection error). Its signature matches the connector's Observe hook.
func (m *Metrics) ConnectorRequest(op string, status int) {
	m.connector.WithLabelValues(op, strconv.Itoa(status)).Inc()
}

// AuthFailure records a request rejected by channel authentication.
func (m *Metrics) AuthFailure(reason string) {
	m.authFailures.WithLabelValues(reason).Inc()
}

// InitAuthFailureReasons exports a zero count for each reason, so dashboards and alerts see every
// series before the first failure.
func (m *Metrics) InitAuthFailureReasons(reasons ...string) {
	for _, r := range reasons {
		m.authFailures.WithLabelValues(r)
	}
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
