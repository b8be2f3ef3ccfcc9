package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/praetorhq/praetor/internal/services"
	"github.com/praetorhq/praetor/internal/testdb"
)

// scrape reads /metrics in Prometheus' text format.
func scrape(t *testing.T, srv *Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample is the metric of family name whose labels include want, or nil.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	if m := sample(fams, name, labels); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

func histCount(fams map[string]*dto.MetricFamily, name string, labels map[string]string) uint64 {
	if m := sample(fams, name, labels); m != nil {
		return m.GetHistogram().GetSampleCount()
	}
	return 0
}

func gauge(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	if m := sample(fams, name, labels); m != nil {
		return m.GetGauge().GetValue()
	}
	return 0
}

// call sends a JSON request to the plain /api routes and decodes the answer.
func call(t *testing.T, srv *Server, method, path string, body, out any) {
	t.Helper()
	enc, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL()+"/api"+path, bytes.NewReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, got)
	}
	if out != nil {
		if err := json.Unmarshal(got, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// uuidLike matches a UUID, hyphenated or not, anywhere in a label value.
var uuidLike = regexp.MustCompile(`(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}`)

// /metrics counts requests by route pattern (an API route's own pattern,
// ids and all as placeholders), with latencies; the SQLite writer's
// batches; open websockets; ingested events; store pools; and the SQLite
// optimize service's passes. No label value is an id.
func TestMetrics(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		cfg := Config{}
		if strings.HasPrefix(dsn, "postgres") {
			cfg.DatabaseURL = dsn
		} else {
			cfg.Home = t.TempDir()
		}
		srv := startTestServer(t, cfg)
		sqlite := srv.Engine() == "sqlite"
		setState := map[string]string{"route": "POST /flow_runs/{id}/set_state", "method": "POST", "code": "201"}
		before := scrape(t, srv)

		var flow, run struct {
			ID string `json:"id"`
		}
		call(t, srv, "POST", "/flows/", map[string]any{"name": "metered"}, &flow)
		call(t, srv, "POST", "/flow_runs/", map[string]any{"flow_id": flow.ID, "name": "metered-run"}, &run)
		for range 2 {
			call(t, srv, "POST", "/flow_runs/"+run.ID+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}, "force": true}, nil)
		}

		// An open events/in socket is counted until it closes.
		ctx := t.Context()
		conn := dialEventsIn(t, ctx, srv)
		const sent = 3
		for range sent {
			ev := fmt.Sprintf(`{"id":%q,"occurred":"2026-01-01T00:00:00Z","event":"test.event","resource":{"prefect.resource.id":"test.r"},"related":[],"payload":{}}`, uuid.Must(uuid.NewV7()))
			if err := conn.Write(ctx, websocket.MessageText, []byte(ev)); err != nil {
				t.Fatal(err)
			}
		}
		// The pong comes once what precedes the ping is stored.
		if err := conn.Ping(ctx); err != nil {
			t.Fatal(err)
		}

		open := scrape(t, srv)
		if got := gauge(open, "praetor_websocket_connections", map[string]string{"route": "events/in"}); got != 1 {
			t.Errorf("open events/in sockets: %v, want 1", got)
		}
		if got := counter(open, "praetor_events_ingested_total", nil) - counter(before, "praetor_events_ingested_total", nil); got != sent {
			t.Errorf("events ingested moved by %v, want %d", got, sent)
		}
		if got := counter(open, "praetor_http_requests_total", setState) - counter(before, "praetor_http_requests_total", setState); got != 2 {
			t.Errorf("set_state requests moved by %v, want 2", got)
		}
		lat := map[string]string{"route": setState["route"], "method": "POST"}
		if got := histCount(open, "praetor_http_request_duration_seconds", lat) - histCount(before, "praetor_http_request_duration_seconds", lat); got != 2 {
			t.Errorf("set_state latencies moved by %d, want 2", got)
		}
		create := map[string]string{"route": "POST /flows/{$}", "method": "POST"}
		if got := counter(open, "praetor_http_requests_total", create) - counter(before, "praetor_http_requests_total", create); got != 1 {
			t.Errorf("POST /flows/ requests moved by %v, want 1", got)
		}
		pool := "postgres"
		if sqlite {
			pool = "sqlite_read"
			if got := histCount(open, "praetor_sqlite_write_batch_size", nil) - histCount(before, "praetor_sqlite_write_batch_size", nil); got < 3 {
				t.Errorf("writer batches moved by %d, want at least 3", got)
			}
			if got := histCount(open, "praetor_sqlite_commit_duration_seconds", nil); got < 3 {
				t.Errorf("commit latencies: %d, want at least 3", got)
			}
			// The optimize service made its first pass when the server started.
			if sample(open, "praetor_service_last_pass_timestamp_seconds", map[string]string{"service": "sqlite_optimize"}) == nil {
				t.Error("no pass of sqlite_optimize")
			}
			if got := counter(open, "praetor_service_pass_errors_total", map[string]string{"service": "sqlite_optimize"}); got != 0 {
				t.Errorf("sqlite_optimize failed %v times", got)
			}
		}
		if sample(open, "go_sql_max_open_connections", map[string]string{"db_name": pool}) == nil {
			t.Errorf("no pool statistics of %s", pool)
		}

		if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Fatal(err)
		}
		// The handler ends a moment after the close handshake.
		deadline := time.Now().Add(5 * time.Second)
		for gauge(scrape(t, srv), "praetor_websocket_connections", map[string]string{"route": "events/in"}) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the closed socket is still counted")
			}
			time.Sleep(10 * time.Millisecond)
		}

		// A 404 on an id path and a page with ids are counted by pattern.
		resp, err := http.Get(srv.URL() + "/api/flow_runs/" + uuid.NewString())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for name, f := range scrape(t, srv) {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if uuidLike.MatchString(l.GetValue()) {
						t.Errorf("%s has label %s=%q, an id", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	})
}

// With metrics off, /metrics is not served.
func TestMetricsOff(t *testing.T) {
	off := false
	srv := startTestServer(t, Config{Metrics: &off})
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("GET /metrics with metrics off: %d", resp.StatusCode)
	}
}

// stopProbe is a service that, when stopped, checks that the server still
// answers HTTP and its store still works.
type stopProbe struct {
	srv     **Server
	stopped chan error
}

func (p *stopProbe) Name() string                { return "stop_probe" }
func (p *stopProbe) Start(context.Context) error { return nil }
func (p *stopProbe) Stop() {
	s := *p.srv
	resp, err := http.Get(s.URL() + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("healthz: %d", resp.StatusCode)
		}
	}
	if err == nil {
		err = s.store.Ping(context.Background())
	}
	p.stopped <- err
}

// Shutdown stops the background services first, while HTTP and the store
// still run, so a service's last pass can finish its work.
func TestShutdownStopsServicesFirst(t *testing.T) {
	var srv *Server
	probe := &stopProbe{srv: &srv, stopped: make(chan error, 1)}
	srv, err := Open(t.Context(), Config{Host: "127.0.0.1", Home: t.TempDir(), Logger: slog.New(slog.DiscardHandler), services: []services.Service{probe}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-probe.stopped:
		if err != nil {
			t.Errorf("when the services stopped: %v", err)
		}
	default:
		t.Fatal("Shutdown did not stop the services")
	}
}
