package compat

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// oracleQuery is a read-only call made on both servers after the
// snapshot's flows ran; their answers must agree in shape and, where
// facts says, in value.
type oracleQuery struct {
	label string
	call  func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error)
	// shape picks the objects to compare (by compareShapes) from an answer.
	shape func(answer any) map[string]map[string]any
	// facts picks values the two servers must answer alike; nil: none.
	facts func(answer any) string
	// superset, when set, says why praetor may answer keys Prefect does
	// not.
	superset string
}

// snapshotIDs are the objects the snapshot's flows made, on one server.
type snapshotIDs struct {
	flow, flowRun, parent, taskRun string
}

// snapshotFlows narrows a query to the snapshot's flows, so objects other
// tests made on the shared oracle are not counted.
var snapshotFlows = map[string]any{"name": map[string]any{"any_": []string{"Testing", "retries-map-subflow", "child"}}}

// post returns a query call of path with a body made from the ids.
func post(path string, body func(ids snapshotIDs) any) func(context.Context, *apiClient, snapshotIDs) (any, error) {
	return func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
		var out any
		err := api.call(ctx, "POST", path, body(ids), &out)
		return out, err
	}
}

// top compares the answer itself.
func top(answer any) map[string]map[string]any {
	m, _ := answer.(map[string]any)
	return map[string]map[string]any{"": m}
}

// first compares the first element of a list answer (or of its results).
func first(answer any) map[string]map[string]any {
	list, _ := answer.([]any)
	if m, ok := answer.(map[string]any); ok {
		list, _ = m["results"].([]any)
	}
	if len(list) == 0 {
		return nil
	}
	m, _ := list[0].(map[string]any)
	return map[string]map[string]any{"[0]": m}
}

// field answers the value at key of an object answer.
func field(key string) func(any) string {
	return func(answer any) string {
		m, _ := answer.(map[string]any)
		return fmt.Sprint(m[key])
	}
}

// historyFacts sums a history's runs by state type and name.
func historyFacts(answer any) string {
	counts := map[string]float64{}
	list, _ := answer.([]any)
	for _, iv := range list {
		states, _ := iv.(map[string]any)["states"].([]any)
		for _, s := range states {
			m := s.(map[string]any)
			counts[fmt.Sprint(m["state_type"], "/", m["state_name"])] += m["count_runs"].(float64)
		}
	}
	var out []string
	for k, n := range counts {
		out = append(out, fmt.Sprint(k, "=", n))
	}
	sort.Strings(out)
	return fmt.Sprintf("%d intervals: %s", len(list), strings.Join(out, " "))
}

// historyState compares the first interval with runs and its first state.
func historyState(answer any) map[string]map[string]any {
	list, _ := answer.([]any)
	for _, iv := range list {
		m := iv.(map[string]any)
		if states, _ := m["states"].([]any); len(states) > 0 {
			return map[string]map[string]any{"[i]": m, "[i].states[0]": states[0].(map[string]any)}
		}
	}
	return nil
}

// values lists the values of an object answer keyed by ids, which differ
// between servers.
func values(answer any) string {
	m, _ := answer.(map[string]any)
	var out []string
	for _, v := range m {
		b, _ := json.Marshal(v)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// oracleQueries are the aggregate and page routes, asked about the
// snapshot's runs.
func oracleQueries() []oracleQuery {
	window := func(interval float64) func(snapshotIDs) any {
		return func(snapshotIDs) any {
			now := time.Now().UTC()
			return map[string]any{"history_start": now.Add(-24 * time.Hour).Format(time.RFC3339), "history_end": now.Add(24 * time.Hour).Format(time.RFC3339),
				"history_interval_seconds": interval, "flows": snapshotFlows}
		}
	}
	byFlows := func(extra map[string]any) func(snapshotIDs) any {
		return func(snapshotIDs) any {
			body := map[string]any{"flows": snapshotFlows}
			for k, v := range extra {
				body[k] = v
			}
			return body
		}
	}
	return []oracleQuery{
		{label: "POST /flow_runs/paginate", call: post("/flow_runs/paginate", byFlows(map[string]any{"limit": 2})), shape: top, facts: field("count")},
		{label: "POST /flow_runs/paginate [0]", call: post("/flow_runs/paginate", byFlows(map[string]any{"limit": 2})), shape: first, facts: field("pages")},
		{label: "POST /flows/paginate", call: post("/flows/paginate", byFlows(nil)), shape: top, facts: field("count")},
		{label: "POST /task_runs/paginate", call: post("/task_runs/paginate", byFlows(map[string]any{"limit": 3})), shape: first, facts: field("count"),
			superset: "Prefect pages a reduced task run (TaskRunResponse); praetor the full one its filter route answers"},
		{label: "POST /flow_runs/history", call: post("/flow_runs/history", window(48*3600)), shape: historyState, facts: historyFacts},
		{label: "POST /task_runs/history (hourly)", call: post("/task_runs/history", window(3600)), shape: historyState, facts: historyFacts},
		{label: "POST /flow_runs/lateness", call: post("/flow_runs/lateness", byFlows(nil)), facts: func(a any) string { return jsonKind(a) }},
		{label: "POST /ui/flow_runs/history", call: post("/ui/flow_runs/history", byFlows(nil)), shape: first,
			facts: func(a any) string { l, _ := a.([]any); return fmt.Sprint(len(l), " runs") }},
		{label: "POST /ui/flow_runs/count-task-runs", call: post("/ui/flow_runs/count-task-runs", func(ids snapshotIDs) any {
			return map[string]any{"flow_run_ids": []string{ids.parent, ids.flowRun}}
		}), facts: values},
		{label: "POST /ui/flows/count-deployments", call: post("/ui/flows/count-deployments", func(ids snapshotIDs) any {
			return map[string]any{"flow_ids": []string{ids.flow}}
		}), facts: values},
		{label: "POST /ui/flows/next-runs", call: post("/ui/flows/next-runs", func(ids snapshotIDs) any {
			return map[string]any{"flow_ids": []string{ids.flow}}
		}), facts: values},
		{label: "POST /ui/task_runs/count", call: post("/ui/task_runs/count", byFlows(nil)), shape: top, facts: func(a any) string { b, _ := json.Marshal(a); return string(b) }},
		{label: "POST /ui/task_runs/dashboard/counts", call: post("/ui/task_runs/dashboard/counts", func(snapshotIDs) any {
			return map[string]any{"flows": snapshotFlows, "task_runs": map[string]any{"start_time": map[string]any{"after_": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)}}}
		}), shape: first, facts: func(a any) string {
			l, _ := a.([]any)
			total := map[string]float64{}
			for _, b := range l {
				for k, v := range b.(map[string]any) {
					total[k] += v.(float64)
				}
			}
			return fmt.Sprint(len(l), " buckets ", total)
		}},
		{label: "GET /flow_runs/{id}/graph-v2", call: func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
			var out any
			err := api.call(ctx, "GET", "/flow_runs/"+ids.parent+"/graph-v2", nil, &out)
			return out, err
		}, shape: func(a any) map[string]map[string]any {
			out := top(a)
			m, _ := a.(map[string]any)
			if nodes, _ := m["nodes"].([]any); len(nodes) > 0 {
				pair, _ := nodes[0].([]any)
				if len(pair) == 2 {
					out["nodes[0][1]"], _ = pair[1].(map[string]any)
				}
			}
			return out
		}, facts: func(a any) string {
			m, _ := a.(map[string]any)
			nodes, _ := m["nodes"].([]any)
			kinds := map[string]int{}
			edges := 0
			for _, p := range nodes {
				n := p.([]any)[1].(map[string]any)
				kinds[fmt.Sprint(n["kind"], "/", n["state_type"])]++
				edges += len(n["parents"].([]any))
			}
			roots, _ := m["root_node_ids"].([]any)
			states, _ := m["states"].([]any)
			return fmt.Sprint(kinds, " edges=", edges, " roots=", len(roots), " states=", len(states))
		}},
		{label: "GET /flow_runs/{id}/logs/download", call: func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
			req, err := http.NewRequestWithContext(ctx, "GET", api.base+"/flow_runs/"+ids.flowRun+"/logs/download", nil)
			if err != nil {
				return nil, err
			}
			resp, err := api.http.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			rows, err := csv.NewReader(resp.Body).ReadAll()
			return map[string]any{"type": resp.Header.Get("Content-Type"), "rows": rows}, err
		}, facts: func(a any) string {
			m := a.(map[string]any)
			rows := m["rows"].([][]string)
			if len(rows) == 0 {
				return "no rows"
			}
			return fmt.Sprint(m["type"], " ", rows[0], " ", len(rows), " rows")
		}},
		{label: "PUT /saved_searches/", call: func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
			var out any
			err := api.call(ctx, "PUT", "/saved_searches/", map[string]any{"name": "compat-failures", "filters": []map[string]any{
				{"object": "flow_run", "property": "state", "type": "state", "operation": "or", "value": []string{"FAILED"}}}}, &out)
			return out, err
		}, shape: top, facts: func(a any) string {
			m, _ := a.(map[string]any)
			b, _ := json.Marshal([]any{m["name"], m["filters"]})
			return string(b)
		}},
		{label: "POST /automations/", call: func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
			var out any
			err := api.call(ctx, "POST", "/automations/", map[string]any{"name": "compat-automation", "tags": []string{"t"},
				"trigger": map[string]any{"type": "compound", "require": "any", "within": 30, "triggers": []any{
					map[string]any{"posture": "Proactive", "expect": []string{"x.*"}, "after": []string{"y"}, "for_each": []string{"prefect.resource.id"},
						"within": 15, "match_related": []any{map[string]any{"prefect.resource.role": "flow"}}},
					map[string]any{"posture": "Reactive", "expect": []string{"prefect.flow-run.Failed"}, "match": map[string]any{"prefect.resource.id": []string{"prefect.flow-run.*"}}}}},
				"actions": []any{map[string]any{"type": "change-flow-run-state", "state": "FAILED"}, map[string]any{"type": "do-nothing"},
					map[string]any{"type": "send-notification", "block_document_id": ids.flowRun, "body": "{{ flow_run.name }}"},
					map[string]any{"type": "run-deployment", "source": "inferred"}, map[string]any{"type": "pause-work-pool", "source": "inferred"}},
				"owner_resource": "prefect.deployment.compat"}, &out)
			return out, err
		}, shape: top, facts: func(a any) string {
			m, _ := a.(map[string]any)
			trigger, _ := m["trigger"].(map[string]any)
			delete(trigger, "id")
			for _, c := range trigger["triggers"].([]any) {
				delete(c.(map[string]any), "id")
			}
			b, _ := json.Marshal([]any{m["name"], m["enabled"], m["tags"], trigger, m["actions"], m["actions_on_trigger"]})
			return string(b)
		}},
		{label: "POST /templates/validate", call: func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
			out := map[string]any{}
			for _, tmpl := range []string{"hello {{ flow_run.name }}", "hello {{ flow_run.name ", "{% if %}"} {
				body, _ := json.Marshal(tmpl)
				req, err := http.NewRequestWithContext(ctx, "POST", api.base+"/templates/validate", strings.NewReader(string(body)))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := api.http.Do(req)
				if err != nil {
					return nil, err
				}
				var answer map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&answer)
				resp.Body.Close()
				if e, ok := answer["error"].(map[string]any); ok {
					delete(e, "message") // Jinja's wording is not ours
				}
				out[tmpl] = map[string]any{"status": resp.StatusCode, "answer": answer}
			}
			return out, nil
		}, facts: func(a any) string {
			b, _ := json.Marshal(a)
			return string(b)
		}},
		{label: "POST /events/count-by/event", call: post("/events/count-by/event", func(ids snapshotIDs) any {
			return map[string]any{"filter": map[string]any{"resource": map[string]any{"id": []string{"prefect.flow-run." + ids.parent}}}}
		}), shape: first, facts: func(a any) string {
			l, _ := a.([]any)
			var out []string
			for _, c := range l {
				m := c.(map[string]any)
				out = append(out, fmt.Sprint(m["value"], "=", m["count"]))
			}
			sort.Strings(out)
			return strings.Join(out, " ")
		}},
		{label: "POST /events/count-by/time", call: post("/events/count-by/time", func(ids snapshotIDs) any {
			now := time.Now().UTC()
			return map[string]any{"time_unit": "hour", "time_interval": 1, "filter": map[string]any{
				"occurred": map[string]any{"since": now.Add(-3 * time.Hour).Format(time.RFC3339), "until": now.Add(time.Hour).Format(time.RFC3339)},
				"resource": map[string]any{"id": []string{"prefect.flow-run." + ids.parent}}}}
		}), shape: first, facts: func(a any) string {
			l, _ := a.([]any)
			total := 0.0
			for _, c := range l {
				total += c.(map[string]any)["count"].(float64)
			}
			return fmt.Sprint(len(l), " buckets, ", total, " events")
		}},
		{label: "GET /ui/task_runs/{id}", call: func(ctx context.Context, api *apiClient, ids snapshotIDs) (any, error) {
			var out any
			err := api.call(ctx, "GET", "/ui/task_runs/"+ids.taskRun, nil, &out)
			return out, err
		}, shape: top},
		{label: "POST /ui/schemas/validate", call: post("/ui/schemas/validate", func(snapshotIDs) any {
			return map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{"n": map[string]any{"type": "integer"}}},
				"values": map[string]any{"n": "seven"}}
		}), shape: func(a any) map[string]map[string]any {
			m, _ := a.(map[string]any)
			errs, _ := m["errors"].([]any)
			out := map[string]map[string]any{"": m}
			if len(errs) > 0 {
				out["errors[0]"], _ = errs[0].(map[string]any)
			}
			return out
		}, facts: func(a any) string {
			m, _ := a.(map[string]any)
			errs, _ := m["errors"].([]any)
			prop := ""
			if len(errs) > 0 {
				e, _ := errs[0].(map[string]any)
				prop = fmt.Sprint(e["property"])
			}
			return fmt.Sprint("valid=", m["valid"], " property=", prop)
		}},
	}
}

// askQueries makes every oracle query on one server.
func askQueries(ctx context.Context, api *apiClient, ids snapshotIDs) (map[string]any, error) {
	// Prefect's server stores events a moment after it receives them: wait
	// for the parent run's last one, so both servers count the same.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct {
			Events []struct {
				Event string `json:"event"`
			} `json:"events"`
		}
		err := api.call(ctx, "POST", "/events/filter", map[string]any{"filter": map[string]any{
			"resource": map[string]any{"id": []string{"prefect.flow-run." + ids.parent}}, "event": map[string]any{"name": []string{"prefect.flow-run.Completed"}}}}, &page)
		if err != nil {
			return nil, err
		}
		if len(page.Events) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the parent run's Completed event was not stored within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := map[string]any{}
	for _, q := range oracleQueries() {
		a, err := q.call(ctx, api, ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.label, err)
		}
		out[q.label] = a
	}
	return out, nil
}

// compareQueries compares two servers' answers to the oracle queries.
func compareQueries(t *testing.T, want, got map[string]any) {
	for _, q := range oracleQueries() {
		t.Run(q.label, func(t *testing.T) {
			w, g := want[q.label], got[q.label]
			if q.shape != nil {
				ws, gs := q.shape(w), q.shape(g)
				for path, wm := range ws {
					if wm == nil {
						continue
					}
					gm := gs[path]
					if q.superset != "" && gm != nil {
						t.Logf("%s: extra keys allowed: %s", q.label, q.superset)
						trimmed := map[string]any{}
						for k, v := range gm {
							if _, ok := wm[k]; ok {
								trimmed[k] = v
							}
						}
						gm = trimmed
					}
					compareShapes(t, q.label+" "+path, wm, gm, "")
				}
			}
			if q.facts != nil {
				wf, gf := q.facts(w), q.facts(g)
				if wf != gf {
					t.Errorf("%s: Prefect answers %s, praetor %s", q.label, wf, gf)
				}
				t.Logf("both answer %s", gf)
			}
		})
	}
}
