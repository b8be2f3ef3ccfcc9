package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestErrorShapes pins the error answers that compat's TestErrorsOracle
// found to match Prefect's server, so they hold where no Prefect server
// runs: the status, the body's keys, and a validation error's first type
// and loc.
func TestErrorShapes(t *testing.T) {
	ts := newTestServer(t)
	flow := createFlow(t, ts, "shapes")
	run := createFlowRun(t, ts, flow, nil)["id"].(string)
	unknown := uuid.NewString()
	cases := []struct {
		method, path, body string
		status             int
		want               string // the first validation error's "type loc", or the body's one member as key=value
	}{
		{"POST", "/flows/", `{bad`, 422, `json_invalid ["body",1]`},
		{"POST", "/flows/filter", `{"a":"é","b" 1}`, 422, `json_invalid ["body",13]`},
		{"POST", "/flows/filter", `{"a":"abc`, 422, `json_invalid ["body",5]`},
		{"POST", "/flows/filter", `{"a":tru}`, 422, `json_invalid ["body",5]`},
		{"POST", "/flows/filter", `  `, 422, `json_invalid ["body",2]`},
		{"POST", "/flows/", `[]`, 422, `model_attributes_type ["body"]`},
		{"POST", "/flows/", `{"name":null}`, 422, `string_type ["body","name"]`},
		{"POST", "/flows/", `{"name":"a/b"}`, 422, `string_pattern_mismatch ["body","name"]`},
		{"POST", "/flows/", `{"name":"ok","tags":[1]}`, 422, `string_type ["body","tags",0]`},
		{"POST", "/flows/filter", `{"flows":{"id":{"any_":["nope"]}}}`, 422, `uuid_parsing ["body","flows","id","any_",0]`},
		{"POST", "/flows/filter", `{"limit":1.5}`, 422, `int_from_float ["body","limit"]`},
		{"POST", "/flows/filter", `{"sort":"SIDEWAYS"}`, 422, `enum ["body","sort"]`},
		{"POST", "/flows/filter", `{"limit":-1}`, 422, `detail=Invalid limit: must be greater than or equal to 0.`},
		{"POST", "/flows/filter", `{"limit":201,"offset":-1}`, 422, `detail=Invalid limit: must be less than or equal to 200.`},
		{"POST", "/flow_runs/", `{"flow_id":"` + flow + `","parameters":[1]}`, 422, `dict_type ["body","parameters"]`},
		{"POST", "/flow_runs/", `{"flow_id":"` + flow + `","state":{}}`, 422, `missing ["body","state","type"]`},
		{"POST", "/flow_runs/filter", `{"flow_runs":{"state":{"type":{"any_":["NOPE"]}}}}`, 422, `enum ["body","flow_runs","state","type","any_",0]`},
		{"POST", "/flow_runs/" + run + "/set_state", `{"state":{"type":"RUNNING"},"force":"maybe"}`, 422, `bool_parsing ["body","force"]`},
		{"POST", "/flow_runs/" + unknown + "/set_state", `{"state":{"type":"RUNNING"}}`, 404, "exception_message=Flow run with id " + unknown + " not found"},
		{"GET", "/flow_run_states/", ``, 422, `missing ["query","flow_run_id"]`},
		{"POST", "/logs/", `{"name":"x"}`, 422, `is_instance_of ["body"]`},
		{"POST", "/logs/", `[{"name":"x","level":"high","message":"m","timestamp":"2026-01-01T00:00:00Z"}]`, 422, `int_parsing ["body",0,"level"]`},
		{"POST", "/events/filter", `{"limit":51}`, 422, `less_than_equal ["body","limit"]`},
		{"GET", "/events/filter/next", ``, 422, `missing ["query","page-token"]`},
		{"PATCH", "/flows/" + flow, ``, 422, `missing ["body"]`},
		{"GET", "/flows/filter", ``, 405, `detail=Method Not Allowed`},
		{"PUT", "/flows/" + flow, `{}`, 405, `detail=Method Not Allowed`},
		{"GET", "/flows/nope", ``, 404, `detail=Not Found`},
		{"GET", "/flows/" + strings.ReplaceAll(unknown, "-", ""), ``, 404, `detail=Flow not found`},
	}
	for _, c := range cases {
		var body any
		if c.method != "GET" && c.method != "DELETE" {
			body = c.body
		}
		resp := ts.do(c.method, c.path, body)
		var m map[string]any
		if err := json.Unmarshal(resp.Body, &m); err != nil {
			t.Errorf("%s %s %s: %d, body not a JSON object: %s", c.method, c.path, c.body, resp.Status, resp.Body)
			continue
		}
		got := ""
		if list, ok := m["exception_detail"].([]any); ok && len(list) > 0 {
			first := list[0].(map[string]any)
			loc, _ := json.Marshal(first["loc"])
			got = first["type"].(string) + " " + string(loc)
		} else if len(m) == 1 {
			for k, v := range m {
				got = fmt.Sprintf("%s=%v", k, v)
			}
		}
		if resp.Status != c.status || got != c.want {
			t.Errorf("%s %s %s: %d %s, want %d %s; body %s", c.method, c.path, c.body, resp.Status, got, c.status, c.want, resp.Body)
		}
	}
}
