package compat

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestServerEventsOracle makes the same REST calls against Prefect's own
// server and against praetor (a pool, a worker's heartbeat, a deployment
// in the pool, a poll, a run of the deployment through its states, pauses,
// the deployment's update and deletion) and compares the server-side
// events each emitted about those objects: the names, how many of each,
// and each one's resource label keys and related resources' roles and
// label keys. Ids, times and values may differ.
func TestServerEventsOracle(t *testing.T) {
	requirePython(t)
	prefect := oracle.client(t)
	praetor := startPraetor(t, "sqlite")
	start := time.Now()
	want, err := serverEventsScenario(t.Context(), prefect, true)
	if err != nil {
		t.Fatalf("Prefect's own server: %v\nserver log:\n%s", err, oracle.log())
	}
	t.Logf("Prefect's server: %s", time.Since(start))
	start = time.Now()
	got, err := serverEventsScenario(t.Context(), praetor, false)
	if err != nil {
		t.Fatalf("praetor: %v", err)
	}
	t.Logf("praetor: %s", time.Since(start))
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("server events differ\nPrefect:\n  %s\npraetor:\n  %s", strings.Join(want, "\n  "), strings.Join(got, "\n  "))
	}
}

// serverEventsScenario runs the calls and returns the events about the
// objects it made, each as "name resource-keys related-roles-and-keys",
// sorted. It waits for the server to have stored the event of its last
// call: Prefect's server stores events in the background. Only the oracle
// (Prefect's server) is asked again after a 500 or a reset connection.
func serverEventsScenario(ctx context.Context, api *apiClient, oracle bool) ([]string, error) {
	pool := "events-oracle-" + uuid.NewString()[:8]
	var (
		p    struct{ ID string }
		q    struct{ ID string }
		f    struct{ ID string }
		d    struct{ ID string }
		r    struct{ ID string }
		none any
	)
	steps := []struct {
		method, path string
		body         func() any
		out          any
	}{
		{"POST", "/work_pools/", func() any { return obj{"name": pool, "type": "process"} }, &p},
		{"GET", "/work_pools/" + pool + "/queues/default", nil, &q},
		{"POST", "/work_pools/" + pool + "/workers/heartbeat", func() any { return obj{"name": "w"} }, nil},
		{"POST", "/flows/", func() any { return obj{"name": pool} }, &f},
		{"POST", "/deployments/", func() any { return obj{"name": "d", "flow_id": f.ID, "work_pool_name": pool} }, &d},
		{"POST", "/work_pools/" + pool + "/get_scheduled_flow_runs", func() any { return obj{} }, &none},
		{"POST", "/deployments/{d}/create_flow_run", func() any { return obj{"tags": []string{"t"}} }, &r},
		{"POST", "/flow_runs/{r}/set_state", func() any { return obj{"state": obj{"type": "PENDING"}} }, nil},
		{"POST", "/flow_runs/{r}/set_state", func() any { return obj{"state": obj{"type": "RUNNING"}} }, nil},
		{"PATCH", "/work_pools/" + pool + "/queues/default", func() any { return obj{"is_paused": true} }, nil},
		{"PATCH", "/work_pools/" + pool, func() any { return obj{"is_paused": true} }, nil},
		{"PATCH", "/deployments/{d}", func() any { return obj{"description": "changed"} }, nil},
		{"DELETE", "/deployments/{d}", nil, nil},
	}
	for _, s := range steps {
		path := strings.NewReplacer("{d}", d.ID, "{r}", r.ID).Replace(s.path)
		var body any
		if s.body != nil {
			body = s.body()
		}
		// Prefect's server answers 503 when its SQLite is busy, and on a
		// loaded machine sometimes fails "database is locked" with a 500 or
		// a reset connection; its client tries again, and so does this.
		var err error
		if ok, _ := poll(ctx, 30*time.Second, func(ctx context.Context) (bool, string) {
			err = api.call(ctx, s.method, path, body, s.out)
			return err == nil || !busy(err, oracle), ""
		}); !ok || err != nil {
			return nil, err
		}
	}
	ids := []string{"prefect.work-pool." + p.ID, "prefect.work-queue." + q.ID, "prefect.deployment." + d.ID, "prefect.flow-run." + r.ID}
	var out []string
	ok, status := poll(ctx, 60*time.Second, func(ctx context.Context) (bool, string) {
		var page struct {
			Events []struct {
				Event    string              `json:"event"`
				Resource map[string]string   `json:"resource"`
				Related  []map[string]string `json:"related"`
			} `json:"events"`
		}
		err := api.call(ctx, "POST", "/events/filter", obj{"limit": 50, "filter": obj{
			"any_resource": obj{"id": ids},
			"event":        obj{"prefix": []string{"prefect.work-pool.", "prefect.work-queue.", "prefect.deployment.", "prefect.flow-run."}},
		}}, &page)
		if err != nil {
			return false, err.Error()
		}
		out = out[:0]
		last := false
		for _, e := range page.Events {
			out = append(out, eventShape(e.Event, e.Resource, e.Related))
			last = last || e.Event == "prefect.deployment.deleted"
		}
		sort.Strings(out)
		return last, fmt.Sprintf("%d events, none prefect.deployment.deleted", len(out))
	})
	if !ok {
		return out, fmt.Errorf("waiting for the events: %s", status)
	}
	return out, nil
}

// eventShape is an event's name with the keys of its resource and, sorted,
// each related resource's role and keys.
func eventShape(name string, resource map[string]string, related []map[string]string) string {
	keys := func(m map[string]string) string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return strings.Join(k, ",")
	}
	var rel []string
	for _, r := range related {
		rel = append(rel, r["prefect.resource.role"]+"{"+keys(r)+"}")
	}
	slices.Sort(rel)
	return name + " {" + keys(resource) + "} [" + strings.Join(rel, " ") + "]"
}

// busy reports whether err says the server was too busy to answer: a
// 503 from either server, and from Prefect's also a 500 or a connection
// it dropped.
func busy(err error, oracle bool) bool {
	signs := []string{"status 503"}
	if oracle {
		signs = append(signs, "status 500", "connection reset", "EOF")
	}
	for _, sign := range signs {
		if strings.Contains(err.Error(), sign) {
			return true
		}
	}
	return false
}
