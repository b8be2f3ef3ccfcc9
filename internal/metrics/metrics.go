// Package metrics holds the Prometheus metrics the server exports at
// /metrics. Labels name routes, services and engines, never a workspace or
// any other id, so their number stays bounded.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is one server's set of metrics, in a registry of its own (tests
// start several servers in one process).
type Metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	batchSize  prometheus.Histogram
	commitTime prometheus.Histogram
	sockets    *prometheus.GaugeVec
	events     prometheus.Counter
	passTime   *prometheus.HistogramVec
	lastPass   *prometheus.GaugeVec
	passErrors *prometheus.CounterVec
	passItems  *prometheus.CounterVec
}

// New registers the metrics, with Go's runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.requests = m.counterVec("praetor_http_requests_total", "HTTP requests answered, by route pattern, method and status code.", "route", "method", "code")
	m.latency = m.histogramVec("praetor_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern and method.",
		prometheus.DefBuckets, "route", "method")
	m.batchSize = m.histogram("praetor_sqlite_write_batch_size", "Write requests committed together by the SQLite writer.",
		prometheus.ExponentialBuckets(1, 2, 9))
	m.commitTime = m.histogram("praetor_sqlite_commit_duration_seconds", "Time the SQLite writer spends on one batch, from BEGIN to COMMIT.",
		prometheus.ExponentialBuckets(0.0005, 2, 14))
	m.sockets = m.gaugeVec("praetor_websocket_connections", "Open websocket connections, by route.", "route")
	m.events = prometheus.NewCounter(prometheus.CounterOpts{Name: "praetor_events_ingested_total", Help: "Events stored from clients."})
	m.reg.MustRegister(m.events)
	m.passTime = m.histogramVec("praetor_service_pass_duration_seconds", "Time one pass of a background service took.",
		prometheus.DefBuckets, "service")
	m.lastPass = m.gaugeVec("praetor_service_last_pass_timestamp_seconds", "When a background service last finished a pass.", "service")
	m.passErrors = m.counterVec("praetor_service_pass_errors_total", "Passes of a background service that failed.", "service")
	m.passItems = m.counterVec("praetor_service_items_total", "What background services did, by service and action (runs_created, runs_late, …).", "service", "action")
	return m
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

func (m *Metrics) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(v)
	return v
}

func (m *Metrics) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	m.reg.MustRegister(h)
	return h
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(v)
	return v
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// DBPool exports the connection pool statistics of db as pool "name".
func (m *Metrics) DBPool(name string, db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, name))
}

// WriterBatch records one batch of the SQLite writer.
func (m *Metrics) WriterBatch(size int, took time.Duration) {
	m.batchSize.Observe(float64(size))
	m.commitTime.Observe(took.Seconds())
}

// SocketOpened counts an open websocket of route until the returned func
// is called.
func (m *Metrics) SocketOpened(route string) (closed func()) {
	g := m.sockets.WithLabelValues(route)
	g.Inc()
	return g.Dec
}

// EventsIngested counts stored client events.
func (m *Metrics) EventsIngested(n int) { m.events.Add(float64(n)) }

// ServicePass records one pass of a background service.
func (m *Metrics) ServicePass(service string, finished time.Time, took time.Duration, err error) {
	m.passTime.WithLabelValues(service).Observe(took.Seconds())
	m.lastPass.WithLabelValues(service).Set(float64(finished.UnixNano()) / 1e9)
	if err != nil {
		m.passErrors.WithLabelValues(service).Inc()
	}
}

// ServiceItems counts n things a background service's pass did.
func (m *Metrics) ServiceItems(service, action string, n int) {
	m.passItems.WithLabelValues(service, action).Add(float64(n))
}

// Request records one answered request of route, a route pattern.
func (m *Metrics) Request(route, method string, code int, took time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route, method).Observe(took.Seconds())
}

type routeKey struct{}

// WithRoute returns a context in which SetRoute can name the route that
// serves a request, and a func that reads what it named.
func WithRoute(ctx context.Context) (context.Context, func() string) {
	var route string
	return context.WithValue(ctx, routeKey{}, &route), func() string { return route }
}

// SetRoute names the route pattern that serves a request, for handlers
// that route below the server's mux (the API routes within a workspace).
func SetRoute(ctx context.Context, pattern string) {
	if p, ok := ctx.Value(routeKey{}).(*string); ok {
		*p = pattern
	}
}
