package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The paginate routes give a 1-based page of the filter with the count of
// all matches, and refuse a page below 1.
func TestPaginate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		var flows []string
		for _, n := range []string{"a", "b", "c"} {
			flows = append(flows, createFlow(t, ts, n))
		}
		runs := []string{}
		for range 3 {
			runs = append(runs, createFlowRun(t, ts, flows[0], nil)["id"].(string))
		}
		createFlowRun(t, ts, flows[1], nil)
		page := ts.do("POST", "/flows/paginate", map[string]any{"limit": 2, "page": 2, "sort": "NAME_ASC"}).expect(http.StatusOK).object()
		if page["count"] != json.Number("3") || page["pages"] != json.Number("2") || page["page"] != json.Number("2") || page["limit"] != json.Number("2") {
			t.Errorf("flows page: %v", page)
		}
		if got := page["results"].([]any); len(got) != 1 || got[0].(map[string]any)["name"] != "c" {
			t.Errorf("flows page 2: %v", got)
		}
		// A filter narrows both the page and the count.
		page = ts.do("POST", "/flow_runs/paginate", map[string]any{"limit": 2, "flows": map[string]any{"id": map[string]any{"any_": []string{flows[0]}}}, "sort": "ID_DESC"}).expect(http.StatusOK).object()
		got := []string{}
		for _, r := range page["results"].([]any) {
			got = append(got, r.(map[string]any)["id"].(string))
		}
		slices.Sort(runs)
		if page["count"] != json.Number("3") || page["pages"] != json.Number("2") || !slices.Equal(got, []string{runs[2], runs[1]}) {
			t.Errorf("flow runs page: %v, want the newest two of %v", page, runs)
		}
		page = ts.do("POST", "/task_runs/paginate", nil).expect(http.StatusOK).object()
		if page["count"] != json.Number("0") || page["page"] != json.Number("1") || page["limit"] != json.Number("200") {
			t.Errorf("empty task runs page: %v", page)
		}
		ts.do("POST", "/flows/paginate", map[string]any{"page": 0}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/flows/paginate", map[string]any{"page": "x"}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/flow_runs/paginate", map[string]any{"limit": 201}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/flow_runs/paginate", map[string]any{"sort": "SIDEWAYS"}).expect(http.StatusUnprocessableEntity)
	})
}

// The bulk deletes remove what their filter selects, at most limit, and
// say which; a refused one deletes nothing.
func TestBulkDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		keep := createFlow(t, ts, "keep")
		doomed := createFlow(t, ts, "doomed")
		kept := createFlowRun(t, ts, keep, map[string]any{"name": "kept"})["id"].(string)
		var gone []string
		for _, n := range []string{"x", "y", "z"} {
			gone = append(gone, createFlowRun(t, ts, keep, map[string]any{"name": n})["id"].(string))
		}
		before := runsSnapshot(t, ts)
		ts.do("POST", "/flow_runs/bulk_delete", map[string]any{"limit": 51}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/flow_runs/bulk_delete", map[string]any{"limit": 0}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/flow_runs/bulk_delete", map[string]any{"flow_runs": map[string]any{"id": map[string]any{"any_": "nope"}}}).expect(http.StatusUnprocessableEntity)
		if after := runsSnapshot(t, ts); after != before {
			t.Fatalf("a refused bulk delete changed the database")
		}
		byName := map[string]any{"flow_runs": map[string]any{"name": map[string]any{"any_": []string{"x", "y", "z"}}}, "limit": 2}
		res := ts.do("POST", "/flow_runs/bulk_delete", byName).expect(http.StatusOK).object()
		first := res["deleted"].([]any)
		if len(first) != 2 {
			t.Fatalf("limit 2 deleted %v", first)
		}
		res = ts.do("POST", "/flow_runs/bulk_delete", byName).expect(http.StatusOK).object()
		if len(res["deleted"].([]any)) != 1 {
			t.Fatalf("the rest: %v", res)
		}
		for _, id := range gone {
			ts.do("GET", "/flow_runs/"+id, nil).expect(http.StatusNotFound)
		}
		ts.do("GET", "/flow_runs/"+kept, nil).expect(http.StatusOK)
		res = ts.do("POST", "/flows/bulk_delete", map[string]any{"flows": map[string]any{"name": map[string]any{"any_": []string{"doomed"}}}}).expect(http.StatusOK).object()
		if d := res["deleted"].([]any); len(d) != 1 || d[0] != doomed {
			t.Fatalf("flows bulk delete: %v", res)
		}
		ts.do("GET", "/flows/"+keep, nil).expect(http.StatusOK)
		res = ts.do("POST", "/deployments/bulk_delete", map[string]any{}).expect(http.StatusOK).object()
		if d := res["deleted"].([]any); len(d) != 0 {
			t.Fatalf("deployments bulk delete with none: %v", res)
		}
	})
}

// bulk_set_state orchestrates each matching run by itself: a run the
// rules refuse reports its own result.
func TestBulkSetState(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "f")
		a := createFlowRun(t, ts, flow, map[string]any{"tags": []string{"stop"}})["id"].(string)
		b := createFlowRun(t, ts, flow, map[string]any{"tags": []string{"stop"}, "state": map[string]any{"type": "COMPLETED"}})["id"].(string)
		other := createFlowRun(t, ts, flow, nil)["id"].(string)
		ts.do("POST", "/flow_runs/bulk_set_state", map[string]any{"flow_runs": map[string]any{"tags": map[string]any{"all_": []string{"stop"}}}}).expect(http.StatusUnprocessableEntity)
		res := ts.do("POST", "/flow_runs/bulk_set_state", map[string]any{
			"flow_runs": map[string]any{"tags": map[string]any{"all_": []string{"stop"}}},
			"state":     map[string]any{"type": "CANCELLING"},
		}).expect(http.StatusOK).object()
		status := map[string]string{}
		for _, r := range res["results"].([]any) {
			m := r.(map[string]any)
			status[m["flow_run_id"].(string)] = m["status"].(string)
		}
		// A finished run may not be cancelled; the pending one is.
		if len(status) != 2 || status[a] != "ACCEPT" || status[b] != "ABORT" {
			t.Fatalf("results: %v", res)
		}
		if got := ts.do("GET", "/flow_runs/"+a, nil).object()["state_type"]; got != "CANCELLING" {
			t.Errorf("a is %v", got)
		}
		if got := ts.do("GET", "/flow_runs/"+other, nil).object()["state_type"]; got != "PENDING" {
			t.Errorf("an unselected run is %v", got)
		}
	})
}

// create_flow_run/bulk makes each run by create_flow_run's rules and
// reports the ones it cannot make instead of failing them all.
func TestBulkCreateFlowRunsFromDeployment(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "etl")
		d := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "parameter_openapi_schema": paramSchema,
			"parameters": map[string]any{"n": 1}}).expect(http.StatusCreated).object()["id"].(string)
		res := ts.do("POST", "/deployments/"+d+"/create_flow_run/bulk", []map[string]any{
			{"parameters": map[string]any{"n": 2}},
			{"parameters": map[string]any{"n": "two"}},
			{"tags": []string{"extra"}},
		}).expect(http.StatusOK).object()
		results := res["results"].([]any)
		if len(results) != 3 {
			t.Fatalf("results: %v", res)
		}
		var made []string
		for i, want := range []string{"CREATED", "FAILED", "CREATED"} {
			r := results[i].(map[string]any)
			if r["status"] != want {
				t.Errorf("run %d: %v, want %s", i, r, want)
			}
			if want == "CREATED" {
				made = append(made, r["flow_run_id"].(string))
			} else if r["error"] == nil || r["flow_run_id"] != nil {
				t.Errorf("a failed run reports: %v", r)
			}
		}
		runs := ts.do("POST", "/flow_runs/filter", map[string]any{"deployments": map[string]any{"id": map[string]any{"any_": []string{d}}}, "sort": "ID_DESC"}).expect(http.StatusOK).list()
		got := ids(runs)
		slices.Sort(got)
		slices.Sort(made)
		if !slices.Equal(got, made) {
			t.Fatalf("runs %v, want %v", got, made)
		}
		for _, r := range runs {
			if r["state_type"] != "SCHEDULED" {
				t.Errorf("a bulk-created run starts %v", r["state_type"])
			}
		}
		many := make([]map[string]any, 101)
		for i := range many {
			many[i] = map[string]any{}
		}
		ts.do("POST", "/deployments/"+d+"/create_flow_run/bulk", many).expect(http.StatusBadRequest)
		ts.do("POST", "/deployments/6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/create_flow_run/bulk", []map[string]any{}).expect(http.StatusNotFound)
	})
}

// The history and aggregate routes refuse what Prefect refuses, with its
// messages, and change nothing.
func TestHistoryAndAggregatesBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		createFlowRun(t, ts, createFlow(t, ts, "f"), nil)
		before := runsSnapshot(t, ts)
		resp := ts.do("POST", "/flow_runs/history", map[string]any{"history_start": "2026-01-01T00:00:00Z"}).expect(http.StatusUnprocessableEntity)
		for _, f := range []string{"history_end", "history_interval_seconds"} {
			if !strings.Contains(string(resp.Body), f) {
				t.Errorf("the 422 does not name %s: %s", f, resp.Body)
			}
		}
		resp = ts.do("POST", "/task_runs/history", map[string]any{"history_start": "2026-01-01T00:00:00Z", "history_end": "2026-01-02T00:00:00Z", "history_interval_seconds": 0.5}).expect(http.StatusUnprocessableEntity)
		if !strings.Contains(string(resp.Body), "History interval must not be less than 1 second.") {
			t.Errorf("sub-second interval: %s", resp.Body)
		}
		many := make([]string, 201)
		for i := range many {
			many[i] = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
		}
		ts.do("POST", "/ui/flows/count-deployments", map[string]any{"flow_ids": many}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/ui/flows/next-runs", map[string]any{}).expect(http.StatusUnprocessableEntity)
		resp = ts.do("POST", "/ui/task_runs/dashboard/counts", map[string]any{"task_runs": map[string]any{}}).expect(http.StatusUnprocessableEntity)
		if !strings.Contains(string(resp.Body), "task_runs.start_time.after_ is required") {
			t.Errorf("dashboard counts without a start: %s", resp.Body)
		}
		ts.do("POST", "/ui/schemas/validate", map[string]any{"schema": map[string]any{"type": 7}, "values": map[string]any{}}).expect(http.StatusUnprocessableEntity)
		if runsSnapshot(t, ts) != before {
			t.Fatal("a refused request changed the database")
		}
	})
}

// A saved search is upserted by name, listed by name, and bounded.
func TestSavedSearches(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		filters := []map[string]any{{"object": "flow_run", "property": "state", "type": "state", "operation": "or", "value": []string{"FAILED"}}}
		first := ts.do("PUT", "/saved_searches/", map[string]any{"name": "failures", "filters": filters}).expect(http.StatusCreated).object()
		filters[0]["value"] = []string{"FAILED", "CRASHED"}
		again := ts.do("PUT", "/saved_searches/", map[string]any{"name": "failures", "filters": filters}).expect(http.StatusOK).object()
		if again["id"] != first["id"] || !strings.Contains(normJSON(t, again["filters"]), "CRASHED") {
			t.Errorf("upsert: %v", again)
		}
		ts.do("PUT", "/saved_searches/", map[string]any{"name": "all"}).expect(http.StatusCreated)
		list := ts.do("POST", "/saved_searches/filter", nil).expect(http.StatusOK).list()
		if len(list) != 2 || list[0]["name"] != "all" || list[1]["name"] != "failures" {
			t.Errorf("list: %v", list)
		}
		ts.do("PUT", "/saved_searches/", map[string]any{"filters": filters}).expect(http.StatusUnprocessableEntity)
		ts.do("PUT", "/saved_searches/", map[string]any{"name": strings.Repeat("x", 201)}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/saved_searches/filter", map[string]any{"limit": 201}).expect(http.StatusUnprocessableEntity)
		if n := len(ts.do("POST", "/saved_searches/filter", nil).expect(http.StatusOK).list()); n != 2 {
			t.Errorf("refused writes left %d searches", n)
		}
		id := first["id"].(string)
		ts.do("GET", "/saved_searches/"+id, nil).expect(http.StatusOK)
		ts.do("DELETE", "/saved_searches/"+id, nil).expect(http.StatusNoContent)
		ts.do("GET", "/saved_searches/"+id, nil).expect(http.StatusNotFound)
		ts.do("DELETE", "/saved_searches/"+id, nil).expect(http.StatusNotFound)
	})
}

// schedule makes a deployment's runs in the window asked, a backfill in
// the past included, and makes none twice.
func TestScheduleDeploymentWindow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "etl")
		d := ts.do("POST", "/deployments/", map[string]any{"name": "hourly", "flow_id": flow,
			"schedules": []map[string]any{{"schedule": map[string]any{"interval": 3600, "anchor_date": "2026-01-01T00:00:00Z", "timezone": "UTC"}}}}).expect(http.StatusCreated).object()["id"].(string)
		window := map[string]any{"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T04:30:00Z", "min_runs": 0, "min_time": 16200, "max_runs": 10}
		for range 2 {
			ts.do("POST", "/deployments/"+d+"/schedule", window).expect(http.StatusOK)
		}
		runs := ts.do("POST", "/flow_runs/filter", map[string]any{"sort": "EXPECTED_START_TIME_ASC",
			"deployments": map[string]any{"id": map[string]any{"any_": []string{d}}}}).expect(http.StatusOK).list()
		var starts []string
		for _, r := range runs {
			starts = append(starts, r["expected_start_time"].(string)[11:16])
		}
		if got := strings.Join(starts, " "); got != "00:00 01:00 02:00 03:00 04:00" {
			t.Errorf("backfilled runs start at %s", got)
		}
		ts.do("POST", "/deployments/"+d+"/schedule", map[string]any{"max_runs": 5000}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/deployments/6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/schedule", nil).expect(http.StatusNotFound)
	})
}
