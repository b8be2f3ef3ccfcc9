package api

import (
	"net/http"
	"strings"
	"testing"
)

// The flow run input routes answer as Prefect's server does (shapes and
// statuses taken from it): 201 with null, 409 on a taken key, the value as
// plain text, filters by prefix, 204 on delete; and refuse what Prefect's
// schema refuses (its server answers a bad key with a 500) or what exceeds
// Praetor's bounds, storing nothing.
func TestFlowRunInputRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		run := createFlowRun(t, ts, flow, nil)["id"].(string)
		base := "/flow_runs/" + run + "/input"
		if got := ts.do("POST", base, map[string]any{"key": "paused-1-schema", "value": `{"type":"object"}`}).expect(http.StatusCreated); string(got.Body) != "null\n" {
			t.Errorf("create answered %q, want null", got.Body)
		}
		ts.do("POST", base, map[string]any{"key": "paused-1-response", "value": "not json", "sender": "me"}).expect(http.StatusCreated)
		if d := ts.do("POST", base, map[string]any{"key": "paused-1-schema", "value": "2"}).expect(http.StatusConflict).detail(); d != "A flow run input with this key already exists." {
			t.Errorf("duplicate key: %q", d)
		}
		for _, c := range []struct{ body, want string }{
			{`{"value":"1"}`, "missing"},
			{`{"key":"k"}`, "missing"},
			{`{"key":"k","value":3}`, "bytes_type"}, {`{"key":"k","value":null}`, "bytes_type"},
			{`{"key":"Not_A_Key","value":"1"}`, "value_error"},
			{`{"key":"` + strings.Repeat("k", maxInputKeyLen+1) + `","value":"1"}`, "string_too_long"},
			{`{"key":"k","value":"` + strings.Repeat("v", maxInputValueBytes+1) + `"}`, "bytes_too_long"},
			{`{"key":"k","value":"1","sender":"` + strings.Repeat("s", maxInputSenderLen+1) + `"}`, "string_too_long"},
		} {
			if d := ts.do("POST", base, c.body).expect(http.StatusUnprocessableEntity).detail(); d != c.want {
				t.Errorf("create %.60s: %q, want %q", c.body, d, c.want)
			}
		}
		if d := ts.do("POST", "/flow_runs/00000000-0000-0000-0000-000000000001/input", map[string]any{"key": "k", "value": "1"}).expect(http.StatusNotFound).detail(); d != "Flow run not found" {
			t.Errorf("an unknown run: %q", d)
		}

		got := ts.do("GET", base+"/paused-1-schema", nil).expect(http.StatusOK)
		if string(got.Body) != `{"type":"object"}` {
			t.Errorf("read: %q", got.Body)
		}
		if d := ts.do("GET", base+"/nope", nil).expect(http.StatusNotFound).detail(); d != flowRunInputNotFound {
			t.Errorf("read an unknown key: %q", d)
		}

		list := ts.do("POST", base+"/filter", map[string]any{"prefix": "paused-1", "limit": 10}).expect(http.StatusOK).list()
		if len(list) != 2 || list[0]["key"] != "paused-1-schema" || list[1]["key"] != "paused-1-response" || list[1]["sender"] != "me" ||
			list[1]["value"] != "not json" || list[0]["flow_run_id"] != run || list[0]["id"] == nil || list[0]["created"] == nil {
			t.Errorf("filter: %v", list)
		}
		// The client's default limit is one; it excludes the keys it has seen.
		if list := ts.do("POST", base+"/filter", map[string]any{"prefix": "paused", "exclude_keys": []string{"paused-1-schema"}}).expect(http.StatusOK).list(); len(list) != 1 || list[0]["key"] != "paused-1-response" {
			t.Errorf("filter with exclusions: %v", list)
		}
		for _, c := range []struct{ body, want string }{
			{`{}`, "missing"}, {`{"prefix":"p","limit":-1}`, "greater_than_equal"}, {`{"prefix":"p","limit":1001}`, "less_than_equal"},
		} {
			if d := ts.do("POST", base+"/filter", c.body).expect(http.StatusUnprocessableEntity).detail(); d != c.want {
				t.Errorf("filter %s: %q, want %q", c.body, d, c.want)
			}
		}

		ts.do("DELETE", base+"/paused-1-response", nil).expect(http.StatusNoContent)
		if d := ts.do("DELETE", base+"/paused-1-response", nil).expect(http.StatusNotFound).detail(); d != flowRunInputNotFound {
			t.Errorf("delete again: %q", d)
		}
		if list := ts.do("POST", base+"/filter", map[string]any{"prefix": "", "limit": 10}).expect(http.StatusOK).list(); len(list) != 1 {
			t.Errorf("after the refusals and the delete: %v", list)
		}
	})
}

// Resuming a run that waits for input checks the input against the schema
// its client stored, as Prefect's server does: input that does not fit is
// answered 200 with a REJECT saying why, the run stays PAUSED and nothing
// is stored; input that fits resumes the run (201) and is stored under the
// keyset's response key.
func TestResumeWithRunInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		run := createFlowRun(t, ts, flow, nil)["id"].(string)
		setState(t, ts, "flow_runs", run, map[string]any{"type": "RUNNING"}, false)
		keyset := map[string]any{"description": "paused-1-description", "response": "paused-1-response", "schema": "paused-1-schema"}
		_, paused := setState(t, ts, "flow_runs", run, map[string]any{"type": "PAUSED", "state_details": map[string]any{"pause_key": "1", "run_input_keyset": keyset}}, false)
		pausedID := paused["state"].(map[string]any)["id"]
		ts.do("POST", "/flow_runs/"+run+"/input", map[string]any{"key": "paused-1-schema",
			"value": `{"title":"Answer","type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}`}).expect(http.StatusCreated)

		for _, c := range []struct {
			body   any
			reason string
		}{
			{map[string]any{"run_input": map[string]any{"name": "x"}}, "Reason: Validation failed. Failure reason: "},
			{map[string]any{"run_input": map[string]any{"name": "x", "age": "old"}}, "Reason: Validation failed for field 'age'. Failure reason: "},
			{map[string]any{}, "Reason: Validation failed. Failure reason: "},
		} {
			res := ts.do("POST", "/flow_runs/"+run+"/resume", c.body).expect(http.StatusOK).object()
			details, _ := res["details"].(map[string]any)
			state, _ := res["state"].(map[string]any)
			if res["status"] != "REJECT" || details["type"] != "abort_details" || !strings.HasPrefix(details["reason"].(string), c.reason) || state["id"] != pausedID {
				t.Errorf("resume with %v: %v, want a REJECT: %s…", c.body, res, c.reason)
			}
			if got := ts.do("GET", "/flow_runs/"+run, nil).object(); got["state_type"] != "PAUSED" {
				t.Errorf("after a refused resume the run is %v", got["state_type"])
			}
			ts.do("GET", "/flow_runs/"+run+"/input/paused-1-response", nil).expect(http.StatusNotFound)
		}
		if d := ts.do("POST", "/flow_runs/"+run+"/resume", `{"run_input":"x"}`).expect(http.StatusUnprocessableEntity).detail(); d != "dict_type" {
			t.Errorf("run_input not an object: %q", d)
		}

		res := ts.do("POST", "/flow_runs/"+run+"/resume", map[string]any{"run_input": map[string]any{"name": "Ada", "age": 36}}).expect(http.StatusCreated).object()
		if res["status"] != "ACCEPT" || res["state"].(map[string]any)["type"] != "RUNNING" {
			t.Fatalf("resume with good input: %v", res)
		}
		if got := ts.do("GET", "/flow_runs/"+run+"/input/paused-1-response", nil).expect(http.StatusOK); normJSON(t, got.object()) != `{"age":36,"name":"Ada"}` {
			t.Errorf("the stored response: %s", got.Body)
		}
		// Resuming again: the run is not paused.
		res = ts.do("POST", "/flow_runs/"+run+"/resume", map[string]any{}).expect(http.StatusOK).object()
		if res["status"] != "ABORT" || res["state"] != nil || res["details"].(map[string]any)["reason"] != "Cannot resume a flow run that is not paused." {
			t.Errorf("resume a running run: %v", res)
		}
	})
}
