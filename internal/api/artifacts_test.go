package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/store"
)

// artifactSnapshot is every artifact of the default workspace as the store
// holds it, for checking that a failed request changed nothing.
func artifactSnapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	arts, err := ts.store.ListArtifacts(t.Context(), ts.workspace.ID, store.ArtifactQuery{}, false)
	if err != nil {
		t.Fatalf("list artifacts: %v", err)
	}
	return normJSON(t, arts)
}

func createArtifact(t *testing.T, ts *testServer, body map[string]any) map[string]any {
	t.Helper()
	return ts.do("POST", "/artifacts/", body).expect(201).object()
}

// sortedKeys returns the members of a JSON object, sorted.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ids returns the "id" of each object, in order.
func ids(objs []map[string]any) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o["id"].(string)
	}
	return out
}

var artifactKeys = []string{"created", "data", "description", "flow_run_id", "id", "key", "metadata_", "task_run_id", "type", "updated"}

func TestArtifactRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flowRunID, taskRunID := uuid.NewString(), uuid.NewString()
		in := map[string]any{"key": "report", "type": "markdown", "description": "d",
			"data": map[string]any{"rows": []any{1, "two"}, "big": json.Number("12345678901234567891")}, "metadata_": map[string]any{"a": "b"},
			"flow_run_id": flowRunID, "task_run_id": taskRunID}
		full := createArtifact(t, ts, in)
		if got := sortedKeys(full); !slices.Equal(got, artifactKeys) {
			t.Errorf("response keys %v, want %v", got, artifactKeys)
		}
		for k, want := range in {
			if normJSON(t, full[k]) != normJSON(t, want) {
				t.Errorf("created %s = %v, want %v", k, full[k], want)
			}
		}
		if full["created"] != full["updated"] {
			t.Errorf("created %v and updated %v differ on a new artifact", full["created"], full["updated"])
		}
		id := full["id"].(string)
		if got := ts.do("GET", "/artifacts/"+id, nil).expect(200).object(); normJSON(t, got) != normJSON(t, full) {
			t.Errorf("read back %v, created %v", got, full)
		}

		bare := createArtifact(t, ts, map[string]any{})
		for _, k := range []string{"key", "type", "description", "data", "metadata_", "flow_run_id", "task_run_id"} {
			if v, ok := bare[k]; !ok || v != nil {
				t.Errorf("bare artifact %s = %v (present %v), want null", k, v, ok)
			}
		}

		ts.do("PATCH", "/artifacts/"+id, map[string]any{"description": "new", "metadata_": map[string]string{"k": "v"}}).expect(204)
		got := ts.do("GET", "/artifacts/"+id, nil).expect(200).object()
		if got["description"] != "new" || normJSON(t, got["metadata_"]) != `{"k":"v"}` ||
			normJSON(t, got["data"]) != normJSON(t, in["data"]) || got["key"] != "report" || got["type"] != "markdown" {
			t.Errorf("after update: %v", got)
		}
		if got["created"] != full["created"] || got["updated"].(string) <= full["updated"].(string) {
			t.Errorf("after update created %v updated %v; before %v %v", got["created"], got["updated"], full["created"], full["updated"])
		}
		ts.do("PATCH", "/artifacts/"+id, map[string]any{"data": nil}).expect(204)
		got = ts.do("GET", "/artifacts/"+id, nil).expect(200).object()
		if got["data"] != nil || got["description"] != "new" {
			t.Errorf("after clearing data: %v", got)
		}

		ts.do("DELETE", "/artifacts/"+id, nil).expect(204)
		ts.do("GET", "/artifacts/"+id, nil).expect(404)
		ts.do("DELETE", "/artifacts/"+id, nil).expect(404)
		if got := ids(ts.do("POST", "/artifacts/filter", nil).expect(200).list()); !slices.Equal(got, []string{bare["id"].(string)}) {
			t.Errorf("artifacts after delete: %v", got)
		}
	})
}

func TestArtifactMetadataTruncated(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		long := strings.Repeat("é", 501)
		a := createArtifact(t, ts, map[string]any{"metadata_": map[string]string{"long": long, "exact": long[:1000], "short": "x"}})
		want := map[string]any{"long": strings.Repeat("é", 500) + "...", "exact": long[:1000], "short": "x"}
		if normJSON(t, a["metadata_"]) != normJSON(t, want) {
			t.Errorf("metadata %v", a["metadata_"])
		}
		got := ts.do("GET", "/artifacts/"+a["id"].(string), nil).expect(200).object()
		if normJSON(t, got["metadata_"]) != normJSON(t, want) {
			t.Errorf("stored metadata %v", got["metadata_"])
		}
	})
}

func TestArtifactLatest(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		r1 := createArtifact(t, ts, map[string]any{"key": "report", "type": "markdown", "data": "v1"})["id"].(string)
		o1 := createArtifact(t, ts, map[string]any{"key": "other", "type": "markdown", "data": "o1"})["id"].(string)
		r2 := createArtifact(t, ts, map[string]any{"key": "report", "type": "table", "data": "v2"})["id"].(string)
		createArtifact(t, ts, map[string]any{"type": "result", "data": "keyless"})

		latest := ts.do("GET", "/artifacts/report/latest", nil).expect(200).object()
		if got := sortedKeys(latest); !slices.Equal(got, artifactKeys) {
			t.Errorf("latest keys %v, want %v", got, artifactKeys)
		}
		collectionID := latest["id"].(string)
		if latest["data"] != "v2" || latest["type"] != "table" || collectionID == r2 || collectionID == r1 {
			t.Errorf("latest of report: %v", latest)
		}

		byKey := func(body string) map[string]map[string]any {
			t.Helper()
			out := map[string]map[string]any{}
			for _, c := range ts.do("POST", "/artifacts/latest/filter", body).expect(200).list() {
				out[c["key"].(string)] = c
			}
			return out
		}
		cols := byKey(`{}`)
		if len(cols) != 2 || cols["report"]["latest_id"] != r2 || cols["other"]["latest_id"] != o1 ||
			cols["report"]["id"] != collectionID || cols["report"]["data"] != "v2" {
			t.Errorf("latest collections: %v", cols)
		}
		if got, want := sortedKeys(cols["report"]), append([]string{"latest_id"}, artifactKeys...); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("collection keys %v", got)
		}

		counts := []struct {
			path, body string
			want       int
		}{
			{"/artifacts/count", `{}`, 4},
			{"/artifacts/latest/count", `{}`, 2},
			{"/artifacts/latest/count", ``, 2},
			// The filter applies to each key's latest artifact: report's is a table.
			{"/artifacts/latest/count", `{"artifacts":{"type":{"any_":["markdown"]}}}`, 1},
			{"/artifacts/count", `{"artifacts":{"type":{"any_":["markdown"]}}}`, 2},
			{"/artifacts/latest/count", `{"artifacts":{"latest_id":{"any_":["` + r1 + `"]}}}`, 0},
			{"/artifacts/latest/count", `{"artifacts":{"latest_id":{"any_":["` + r2 + `"]}}}`, 1},
			{"/artifacts/latest/count", `{"artifacts":{"key":{"exists_":false}}}`, 0},
			{"/artifacts/latest/count", `{"artifacts":{"key":{"like_":"rep"}}}`, 1},
		}
		for _, c := range counts {
			var n int
			ts.do("POST", c.path, c.body).expect(200).decode(&n)
			if n != c.want {
				t.Errorf("%s %s: %d, want %d", c.path, c.body, n, c.want)
			}
		}
		if got := byKey(`{"artifacts":{"type":{"any_":["markdown"]}}}`); len(got) != 1 || got["other"] == nil {
			t.Errorf("latest markdown collections: %v", got)
		}
		var sorted []map[string]any
		ts.do("POST", "/artifacts/latest/filter", `{"sort":"KEY_ASC"}`).expect(200).decode(&sorted)
		if len(sorted) != 2 || sorted[0]["key"] != "other" || sorted[1]["key"] != "report" {
			t.Errorf("latest sorted by key: %v", sorted)
		}

		// Deleting the latest version makes the previous one latest, under
		// the same collection id.
		ts.do("DELETE", "/artifacts/"+r2, nil).expect(204)
		latest = ts.do("GET", "/artifacts/report/latest", nil).expect(200).object()
		if latest["data"] != "v1" || latest["id"] != collectionID {
			t.Errorf("latest of report after deleting v2: %v", latest)
		}
		if got := byKey(`{}`)["report"]; got["latest_id"] != r1 || got["id"] != collectionID {
			t.Errorf("report collection after deleting v2: %v", got)
		}
		ts.do("DELETE", "/artifacts/"+r1, nil).expect(204)
		if got := ts.do("GET", "/artifacts/report/latest", nil).expect(404).detail(); got != "Artifact not found." {
			t.Errorf("latest of a key with no artifacts: %q", got)
		}
		if got := byKey(`{}`); len(got) != 1 || got["other"] == nil {
			t.Errorf("collections after deleting report: %v", got)
		}
	})
}

func TestArtifactFilter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flowID := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(201).object()["id"].(string)
		runID := ts.do("POST", "/flow_runs/", map[string]any{"flow_id": flowID, "name": "run"}).expect(201).object()["id"].(string)
		taskRunID := uuid.NewString()
		a1 := createArtifact(t, ts, map[string]any{"key": "alpha", "type": "markdown", "flow_run_id": runID})["id"].(string)
		a2 := createArtifact(t, ts, map[string]any{"key": "beta", "type": "table"})["id"].(string)
		a3 := createArtifact(t, ts, map[string]any{"type": "result"})["id"].(string)
		a4 := createArtifact(t, ts, map[string]any{"key": "alpha-two", "type": "table", "task_run_id": taskRunID})["id"].(string)

		cases := []struct {
			name, body string
			want       []string
		}{
			{"default id desc", `{}`, []string{a4, a3, a2, a1}},
			{"empty body", ``, []string{a4, a3, a2, a1}},
			{"key asc, nulls first", `{"sort":"KEY_ASC"}`, []string{a3, a1, a4, a2}},
			{"key desc, nulls last", `{"sort":"KEY_DESC"}`, []string{a2, a4, a1, a3}},
			{"created desc", `{"sort":"CREATED_DESC"}`, []string{a4, a3, a2, a1}},
			{"key like", `{"artifacts":{"key":{"like_":"alpha"}}}`, []string{a4, a1}},
			{"key any", `{"artifacts":{"key":{"any_":["beta"]}}}`, []string{a2}},
			{"key missing", `{"artifacts":{"key":{"exists_":false}}}`, []string{a3}},
			{"key present", `{"artifacts":{"key":{"exists_":true}}}`, []string{a4, a2, a1}},
			{"type any", `{"artifacts":{"type":{"any_":["table"]}}}`, []string{a4, a2}},
			{"type not any", `{"artifacts":{"type":{"not_any_":["table"]}}}`, []string{a3, a1}},
			{"id any", `{"artifacts":{"id":{"any_":["` + a2 + `","` + a3 + `"]}}}`, []string{a3, a2}},
			{"flow run id", `{"artifacts":{"flow_run_id":{"any_":["` + runID + `"]}}}`, []string{a1}},
			{"task run id", `{"artifacts":{"task_run_id":{"any_":["` + taskRunID + `"]}}}`, []string{a4}},
			{"flow runs", `{"flow_runs":{"id":{"any_":["` + runID + `"]}}}`, []string{a1}},
			{"flow runs by name", `{"flow_runs":{"name":{"any_":["nope"]}}}`, []string{}},
			{"key and type", `{"artifacts":{"key":{"like_":"alpha"},"type":{"any_":["table"]}}}`, []string{a4}},
			{"page", `{"limit":2,"offset":1}`, []string{a3, a2}},
		}
		for _, c := range cases {
			got := ids(ts.do("POST", "/artifacts/filter", c.body).expect(200).list())
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: filter %s gave %v, want %v", c.name, c.body, got, c.want)
			}
			if c.name == "page" {
				continue
			}
			var n int
			ts.do("POST", "/artifacts/count", c.body).expect(200).decode(&n)
			if n != len(c.want) {
				t.Errorf("%s: count %s gave %d, want %d", c.name, c.body, n, len(c.want))
			}
		}

		// Count takes no page, so a limit there is not checked.
		var n int
		ts.do("POST", "/artifacts/count", `{"limit":500}`).expect(200).decode(&n)
		if n != 4 {
			t.Errorf("count with a limit: %d", n)
		}
		for _, path := range []string{"/artifacts/filter", "/artifacts/latest/filter"} {
			for _, body := range []string{`{"sort":"NAME_ASC"}`, `{"limit":201}`, `{"offset":-1}`, `{"artifacts":5}`, `{"artifacts":{"key":{"exists_":"x"}}}`, `{"artifacts"`} {
				ts.do("POST", path, body).expect(422)
			}
		}
	})
}

func TestArtifactBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		id := createArtifact(t, ts, map[string]any{"key": "keep", "data": 1, "metadata_": map[string]string{"a": "b"}})["id"].(string)
		unknown := uuid.NewString()
		expectRefused(t, ts, func() string { return artifactSnapshot(t, ts) }, []refused{
			{"POST", "/artifacts/", `{"key":`, 422, "json_invalid"},
			{"POST", "/artifacts/", ``, 422, "missing"},
			{"POST", "/artifacts/", `{"key":"Bad Key"}`, 422, "value_error"},
			{"POST", "/artifacts/", `{"key":"under_score"}`, 422, "value_error"},
			{"POST", "/artifacts/", `{"key":5}`, 422, "string_type"},
			{"POST", "/artifacts/", `{"metadata_":{"a":1}}`, 422, "string_type"},
			{"POST", "/artifacts/", `{"metadata_":"x"}`, 422, ""},
			{"POST", "/artifacts/", `{"description":5}`, 422, "string_type"},
			{"POST", "/artifacts/", `{"flow_run_id":"nope"}`, 422, ""},
			{"PATCH", "/artifacts/" + id, `{bad`, 422, "json_invalid"},
			{"PATCH", "/artifacts/" + id, ``, 422, "missing"},
			{"PATCH", "/artifacts/" + id, `{"metadata_":{"a":1}}`, 422, "string_type"},
			{"PATCH", "/artifacts/" + id, `{"description":5}`, 422, "string_type"},
			{"PATCH", "/artifacts/" + unknown, `{"data":2}`, 404, "Artifact not found."},
			{"PATCH", "/artifacts/not-a-uuid", `{"data":2}`, 404, "Not Found"},
			{"GET", "/artifacts/" + unknown, ``, 404, "Artifact not found."},
			{"GET", "/artifacts/not-a-uuid", ``, 404, "Not Found"},
			{"GET", "/artifacts/nokey/latest", ``, 404, "Artifact not found."},
			{"DELETE", "/artifacts/" + unknown, ``, 404, "Artifact not found."},
			{"DELETE", "/artifacts/not-a-uuid", ``, 404, "Not Found"},
		})
	})
}
