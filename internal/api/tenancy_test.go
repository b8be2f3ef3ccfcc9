package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/praetorhq/praetor/internal/testdb"
)

// tenant is a user with a key and a workspace of their own.
type tenant struct {
	userID    uuid.UUID
	accountID string
	workspace string // workspace id
	key       string
	client    *testServer // authenticates with key
}

// base is the tenant's workspace API root, below /api.
func (tn *tenant) base() string {
	return "/accounts/" + tn.accountID + "/workspaces/" + tn.workspace
}

const testPassword = "correct horse battery"

// newTenant signs a user up through the API, gives them a key and creates a
// workspace through the API with it.
func newTenant(t *testing.T, ts *testServer, handle string) *tenant {
	t.Helper()
	signup := ts.as("").do("POST", "/users/", map[string]any{"email": handle + "@example.com", "password": testPassword, "handle": handle}).expect(http.StatusCreated).object()
	user := signup["user"].(map[string]any)
	acct := signup["account"].(map[string]any)
	userID := uuid.MustParse(user["id"].(string))
	k, err := tenancy.CreateAPIKey(t.Context(), ts.store, userID, "test", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tn := &tenant{userID: userID, accountID: acct["id"].(string), key: k.Key, client: ts.as(k.Key)}
	ws := tn.client.do("POST", "/accounts/"+tn.accountID+"/workspaces/", map[string]any{"name": handle + " prod", "description": "d"}).expect(http.StatusCreated).object()
	tn.workspace = ws["id"].(string)
	return tn
}

func closedServer(c *Config) { c.Anonymous = false }

// A key of one tenant never reaches another workspace's data: every route
// family answers 404 (not 403, so ids cannot be probed) and lists, counts
// and event streams stay separate.
func TestWorkspaceIsolation(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a := alice.client
		ab := alice.base()
		flow := a.do("POST", ab+"/flows/", map[string]any{"name": "secret-flow"}).expect(http.StatusCreated).object()["id"].(string)
		run := a.do("POST", ab+"/flow_runs/", map[string]any{"flow_id": flow}).expect(http.StatusCreated).object()
		runID, stateID := run["id"].(string), run["state_id"].(string)
		task := a.do("POST", ab+"/task_runs/", map[string]any{"flow_run_id": runID, "task_key": "k", "dynamic_key": "0"}).expect(http.StatusCreated).object()["id"].(string)
		taskState := a.do("GET", ab+"/task_runs/"+task, nil).object()["state_id"].(string)
		a.do("POST", ab+"/logs/", []map[string]any{{"name": "n", "level": 20, "message": "secret log", "timestamp": "2026-01-01T00:00:00Z", "flow_run_id": runID}}).expect(http.StatusCreated)
		variable := a.do("POST", ab+"/variables/", map[string]any{"name": "secret_var", "value": 1}).expect(http.StatusCreated).object()["id"].(string)
		artifact := a.do("POST", ab+"/artifacts/", map[string]any{"key": "secret-artifact", "data": 1, "flow_run_id": runID}).expect(http.StatusCreated).object()["id"].(string)
		a.do("POST", ab+"/flow_runs/"+runID+"/input", map[string]any{"key": "secret-input", "value": `"secret value"`}).expect(http.StatusCreated)
		a.do("POST", ab+"/events", []map[string]any{{"event": "secret.event", "resource": map[string]string{"prefect.resource.id": "r"}}}).expect(http.StatusNoContent)
		dep := a.do("POST", ab+"/deployments/", map[string]any{"name": "secret-deployment", "flow_id": flow,
			"schedules": []map[string]any{{"schedule": map[string]any{"interval": 3600}}}}).expect(http.StatusCreated).object()
		depID := dep["id"].(string)
		schedID := dep["schedules"].([]any)[0].(map[string]any)["id"].(string)
		// The pool's name is not "secret": a 404 repeats the name the path
		// gave, as Prefect's does; what it holds is.
		pool := a.do("POST", ab+"/work_pools/", map[string]any{"name": "private-pool", "type": "process", "description": "secret pool"}).expect(http.StatusCreated).object()
		queueID := pool["default_queue_id"].(string)
		a.do("POST", ab+"/work_pools/private-pool/queues", map[string]any{"name": "secret-queue"}).expect(http.StatusCreated)
		a.do("POST", ab+"/work_pools/private-pool/workers/heartbeat", map[string]any{"name": "secret-worker"}).expect(http.StatusNoContent)
		blocks := registerSecret(t, a, ab)
		blockDoc := a.do("POST", ab+"/block_documents/", map[string]any{"name": "private-token", "data": map[string]any{"value": "secret-value"},
			"block_schema_id": blocks.schemaID, "block_type_id": blocks.typeID}).expect(http.StatusCreated).object()["id"].(string)

		automation := a.do("POST", ab+"/automations/", map[string]any{"name": "secret-automation", "owner_resource": "prefect.deployment." + depID,
			"trigger": map[string]any{"posture": "Reactive", "expect": []string{"prefect.flow-run.Failed"}}, "actions": []any{map[string]any{"type": "do-nothing"}}}).
			expect(http.StatusCreated).object()["id"].(string)
		search := a.do("PUT", ab+"/saved_searches/", map[string]any{"name": "secret-search", "filters": []any{}}).expect(http.StatusCreated).object()["id"].(string)
		limit := a.do("POST", ab+"/v2/concurrency_limits/", map[string]any{"name": "secret-limit", "limit": 2}).expect(http.StatusCreated).object()["id"].(string)
		tagLimit := a.do("POST", ab+"/concurrency_limits/", map[string]any{"tag": "secret-tag", "concurrency_limit": 2}).expect(http.StatusCreated).object()["id"].(string)
		lease := a.do("POST", ab+"/v2/concurrency_limits/increment-with-lease", map[string]any{"names": []string{"secret-limit"}, "slots": 1}).
			expect(http.StatusOK).object()["lease_id"].(string)
		holder := uuid.Must(uuid.NewV7()).String()
		a.do("POST", ab+"/concurrency_limits/increment", map[string]any{"names": []string{"secret-tag"}, "task_run_id": holder}).expect(http.StatusOK)

		b := bob.client
		probes := []struct{ method, path, body string }{
			{"GET", "/flows/" + flow, ""}, {"POST", "/flows/filter", "{}"}, {"POST", "/flows/count", "{}"},
			{"PATCH", "/flows/" + flow, `{"tags":["x"]}`}, {"DELETE", "/flows/" + flow, ""}, {"POST", "/flows/", `{"name":"intruder"}`},
			{"GET", "/flow_runs/" + runID, ""}, {"POST", "/flow_runs/filter", "{}"}, {"POST", "/flow_runs/count", "{}"},
			{"PATCH", "/flow_runs/" + runID, `{"name":"x"}`}, {"POST", "/flow_runs/" + runID + "/set_state", `{"state":{"type":"CANCELLED"},"force":true}`},
			{"DELETE", "/flow_runs/" + runID, ""}, {"GET", "/flow_runs/" + runID + "/graph", ""},
			{"POST", "/flow_runs/" + runID + "/resume", `{"run_input":{"x":1}}`},
			{"POST", "/flow_runs/" + runID + "/input", `{"key":"intruder","value":"1"}`}, {"POST", "/flow_runs/" + runID + "/input/filter", `{"prefix":"","limit":10}`},
			{"GET", "/flow_runs/" + runID + "/input/secret-input", ""}, {"DELETE", "/flow_runs/" + runID + "/input/secret-input", ""},
			{"GET", "/flow_run_states/?flow_run_id=" + runID, ""}, {"GET", "/flow_run_states/" + stateID, ""},
			{"GET", "/task_runs/" + task, ""}, {"POST", "/task_runs/filter", "{}"}, {"POST", "/task_runs/count", "{}"},
			{"POST", "/task_runs/" + task + "/set_state", `{"state":{"type":"FAILED"},"force":true}`}, {"DELETE", "/task_runs/" + task, ""},
			{"GET", "/task_run_states/" + taskState, ""},
			{"POST", "/logs/filter", "{}"}, {"POST", "/logs/", `[{"name":"n","level":20,"message":"m","timestamp":"2026-01-01T00:00:00Z"}]`},
			{"POST", "/events/filter", "{}"}, {"POST", "/events", `[{"event":"x","resource":{"prefect.resource.id":"r"}}]`},
			{"GET", "/variables/" + variable, ""}, {"GET", "/variables/name/secret_var", ""}, {"POST", "/variables/filter", "{}"},
			{"PATCH", "/variables/" + variable, `{"value":2}`}, {"DELETE", "/variables/" + variable, ""},
			{"GET", "/artifacts/" + artifact, ""}, {"POST", "/artifacts/filter", "{}"}, {"GET", "/artifacts/secret-artifact/latest", ""},
			{"PATCH", "/artifacts/" + artifact, `{"data":2}`}, {"DELETE", "/artifacts/" + artifact, ""},
			{"GET", "/deployments/" + depID, ""}, {"GET", "/deployments/name/secret-flow/secret-deployment", ""},
			{"PATCH", "/deployments/" + depID, `{"description":"x"}`}, {"DELETE", "/deployments/" + depID, ""},
			{"POST", "/deployments/filter", "{}"}, {"POST", "/deployments/count", "{}"}, {"POST", "/deployments/paginate", "{}"},
			{"POST", "/deployments/", `{"name":"intruder","flow_id":"` + flow + `"}`},
			{"POST", "/deployments/get_scheduled_flow_runs", `{"deployment_ids":["` + depID + `"]}`},
			{"GET", "/deployments/" + depID + "/schedules", ""}, {"POST", "/deployments/" + depID + "/schedules", `[{"schedule":{"interval":60}}]`},
			{"PATCH", "/deployments/" + depID + "/schedules/" + schedID, `{"active":false}`},
			{"DELETE", "/deployments/" + depID + "/schedules/" + schedID, ""},
			{"POST", "/deployments/" + depID + "/create_flow_run", `{}`},
			{"POST", "/deployments/" + depID + "/pause_deployment", ""}, {"POST", "/deployments/" + depID + "/resume_deployment", ""},
			{"GET", "/members/", ""},
			{"GET", "/work_pools/private-pool", ""}, {"PATCH", "/work_pools/private-pool", `{"is_paused":true}`},
			{"DELETE", "/work_pools/private-pool", ""}, {"POST", "/work_pools/private-pool/get_scheduled_flow_runs", "{}"},
			{"POST", "/work_pools/private-pool/queues", `{"name":"intruder"}`}, {"POST", "/work_pools/private-pool/queues/filter", "{}"},
			{"GET", "/work_pools/private-pool/queues/secret-queue", ""}, {"PATCH", "/work_pools/private-pool/queues/secret-queue", `{"is_paused":true}`},
			{"DELETE", "/work_pools/private-pool/queues/secret-queue", ""},
			{"POST", "/work_pools/private-pool/workers/heartbeat", `{"name":"intruder"}`}, {"POST", "/work_pools/private-pool/workers/filter", "{}"},
			{"DELETE", "/work_pools/private-pool/workers/secret-worker", ""}, {"GET", "/work_pools/private-pool/workers/connect", ""},
			{"GET", "/work_queues/" + queueID, ""}, {"GET", "/work_queues/name/secret-queue", ""},
			{"PATCH", "/work_queues/" + queueID, `{"is_paused":true}`}, {"DELETE", "/work_queues/" + queueID, ""},
			{"GET", "/block_documents/" + blockDoc + "?include_secrets=true", ""}, {"GET", "/block_documents/" + blockDoc, ""},
			{"PATCH", "/block_documents/" + blockDoc, `{"data":{"value":"x"}}`}, {"DELETE", "/block_documents/" + blockDoc, ""},
			{"POST", "/block_documents/filter", `{"include_secrets":true}`}, {"POST", "/block_documents/count", "{}"},
			{"POST", "/block_documents/", `{"name":"intruder","data":{},"block_schema_id":"` + blocks.schemaID + `","block_type_id":"` + blocks.typeID + `"}`},
			{"GET", "/block_types/slug/secret/block_documents/name/private-token?include_secrets=true", ""},
			{"GET", "/block_types/slug/secret/block_documents?include_secrets=true", ""},
			{"GET", "/block_types/" + blocks.typeID, ""}, {"GET", "/block_types/slug/secret", ""}, {"POST", "/block_types/filter", "{}"},
			{"PATCH", "/block_types/" + blocks.typeID, `{"description":"x"}`}, {"DELETE", "/block_types/" + blocks.typeID, ""},
			{"POST", "/block_types/", `{"name":"Intruder","slug":"intruder"}`},
			{"GET", "/block_schemas/" + blocks.schemaID, ""}, {"GET", "/block_schemas/checksum/" + blocks.checksum, ""},
			{"POST", "/block_schemas/filter", "{}"}, {"DELETE", "/block_schemas/" + blocks.schemaID, ""},
			{"POST", "/block_schemas/", `{"fields":{},"block_type_id":"` + blocks.typeID + `"}`},
			{"GET", "/block_capabilities/", ""},
			{"GET", "/admin/storage", ""}, {"PUT", "/admin/storage", `{"default_result_storage_block_id":"` + blockDoc + `"}`}, {"DELETE", "/admin/storage", ""},
			{"POST", "/flows/bulk_delete", `{"flows":{"id":{"any_":["` + flow + `"]}}}`}, {"POST", "/flows/paginate", "{}"},
			{"POST", "/flow_runs/bulk_delete", `{"flow_runs":{"id":{"any_":["` + runID + `"]}}}`}, {"POST", "/flow_runs/paginate", "{}"},
			{"POST", "/flow_runs/bulk_set_state", `{"flow_runs":{"id":{"any_":["` + runID + `"]}},"state":{"type":"CANCELLED"},"force":true}`},
			{"POST", "/task_runs/paginate", "{}"}, {"POST", "/deployments/bulk_delete", `{"deployments":{"id":{"any_":["` + depID + `"]}}}`},
			{"POST", "/deployments/" + depID + "/create_flow_run/bulk", `[{}]`}, {"GET", "/ui/task_runs/" + task, ""},
			{"POST", "/deployments/" + depID + "/schedule", "{}"}, {"GET", "/flow_runs/" + runID + "/graph-v2", ""},
			{"GET", "/flow_runs/" + runID + "/logs/download", ""},
			{"GET", "/saved_searches/" + search, ""}, {"DELETE", "/saved_searches/" + search, ""}, {"POST", "/saved_searches/filter", "{}"},
			{"PUT", "/saved_searches/", `{"name":"intruder","filters":[]}`},
			{"GET", "/automations/" + automation, ""}, {"PUT", "/automations/" + automation, `{"name":"x","trigger":{"posture":"Reactive"},"actions":[]}`},
			{"PATCH", "/automations/" + automation, `{"enabled":false}`}, {"DELETE", "/automations/" + automation, ""},
			{"POST", "/automations/filter", "{}"}, {"POST", "/automations/count", "{}"}, {"POST", "/automations/", `{"name":"intruder","trigger":{"posture":"Reactive"},"actions":[]}`},
			{"GET", "/automations/related-to/prefect.deployment." + depID, ""}, {"DELETE", "/automations/owned-by/prefect.deployment." + depID, ""},
			{"POST", "/ui/flow_runs/history", "{}"}, {"POST", "/ui/task_runs/count", "{}"}, {"POST", "/ui/schemas/validate", `{"schema":{},"values":{}}`},
			{"POST", "/work_queues/", `{"name":"intruder"}`}, {"POST", "/work_queues/" + queueID + "/get_runs", "{}"},
			{"GET", "/work_queues/" + queueID + "/status", ""}, {"POST", "/work_queues/" + queueID + "/concurrency_status", "{}"},
			{"POST", "/work_pools/private-pool/concurrency_status", "{}"}, {"GET", "/deployments/" + depID + "/work_queue_check", ""},
			{"GET", "/v2/concurrency_limits/" + limit, ""}, {"GET", "/v2/concurrency_limits/secret-limit", ""},
			{"PATCH", "/v2/concurrency_limits/" + limit, `{"limit":9}`}, {"PATCH", "/v2/concurrency_limits/secret-limit", `{"limit":9}`},
			{"DELETE", "/v2/concurrency_limits/" + limit, ""}, {"DELETE", "/v2/concurrency_limits/secret-limit", ""},
			{"POST", "/v2/concurrency_limits/filter", "{}"}, {"POST", "/v2/concurrency_limits/", `{"name":"intruder","limit":1}`},
			{"POST", "/v2/concurrency_limits/increment", `{"names":["secret-limit"],"slots":1}`},
			{"POST", "/v2/concurrency_limits/increment-with-lease", `{"names":["secret-limit"],"slots":1}`},
			{"POST", "/v2/concurrency_limits/decrement", `{"names":["secret-limit"],"slots":1}`},
			{"POST", "/v2/concurrency_limits/decrement-with-lease", `{"lease_id":"` + lease + `"}`},
			{"POST", "/v2/concurrency_limits/leases/" + lease + "/renew", `{}`},
			{"GET", "/concurrency_limits/" + tagLimit, ""}, {"GET", "/concurrency_limits/tag/secret-tag", ""},
			{"DELETE", "/concurrency_limits/" + tagLimit, ""}, {"DELETE", "/concurrency_limits/tag/secret-tag", ""},
			{"POST", "/concurrency_limits/filter", "{}"}, {"POST", "/concurrency_limits/", `{"tag":"intruder","concurrency_limit":9}`},
			{"POST", "/concurrency_limits/tag/secret-tag/reset", `{}`},
			{"POST", "/concurrency_limits/increment", `{"names":["secret-tag"],"task_run_id":"` + holder + `"}`},
			{"POST", "/concurrency_limits/decrement", `{"names":["secret-tag"],"task_run_id":"` + holder + `"}`},
		}
		// Aggregates keyed by alice's ids count nothing of hers through bob's
		// workspace.
		history := `{"history_start":"2000-01-01T00:00:00Z","history_end":"2100-01-01T00:00:00Z","history_interval_seconds":3155760000}`
		for _, agg := range []struct{ path, body, want string }{
			{"/flow_runs/history", history, `[{"interval_end":"2100-01-01T00:00:00Z","interval_start":"2000-01-01T00:00:00Z","states":[]}]`},
			{"/task_runs/history", history, `[{"interval_end":"2100-01-01T00:00:00Z","interval_start":"2000-01-01T00:00:00Z","states":[]}]`},
			{"/flow_runs/lateness", "{}", "null"},
			{"/ui/flows/count-deployments", `{"flow_ids":["` + flow + `"]}`, `{"` + flow + `":0}`},
			{"/ui/flows/next-runs", `{"flow_ids":["` + flow + `"]}`, `{"` + flow + `":null}`},
			{"/ui/flow_runs/count-task-runs", `{"flow_run_ids":["` + runID + `"]}`, `{"` + runID + `":0}`},
			{"/events/count-by/event", `{"filter":{}}`, `[]`},
		} {
			if got := normJSON(t, json.RawMessage(b.do("POST", bob.base()+agg.path, agg.body).expect(http.StatusOK).Body)); got != agg.want {
				t.Errorf("bob's %s over alice's ids: %s, want %s", agg.path, got, agg.want)
			}
			probes = append(probes, struct{ method, path, body string }{"POST", agg.path, agg.body})
		}
		// Lists and counts of pools, queues and blocks stay separate.
		for _, p := range []string{"/work_pools/filter", "/work_queues/filter", "/block_documents/filter", "/block_types/filter", "/block_schemas/filter"} {
			if got := b.do("POST", ab+p, "{}"); got.Status != http.StatusNotFound {
				t.Errorf("bob %s in alice's workspace: %d", p, got.Status)
			}
			if got := b.do("POST", bob.base()+p, "{}").expect(http.StatusOK).list(); len(got) != 0 {
				t.Errorf("bob's %s lists alice's: %v", p, got)
			}
		}
		before := snapshotOf(t, a, ab)
		for _, p := range probes {
			var body any
			if p.body != "" {
				body = p.body
			}
			resp := b.do(p.method, ab+p.path, body)
			if resp.Status != http.StatusNotFound || strings.Contains(string(resp.Body), "secret") {
				t.Errorf("bob %s %s: %d %s, want 404 and nothing of alice's", p.method, p.path, resp.Status, resp.Body)
			}
			// The same ids through bob's own workspace find nothing either.
			if resp := b.do(p.method, bob.base()+p.path, body); strings.Contains(string(resp.Body), "secret") {
				t.Errorf("bob's workspace %s %s leaked: %s", p.method, p.path, resp.Body)
			}
		}
		if after := snapshotOf(t, a, ab); after != before {
			t.Fatal("bob's requests changed alice's workspace")
		}
		// Bob's own workspace cannot use alice's block types, schemas or
		// documents, not even as a reference.
		b.do("POST", bob.base()+"/block_documents/", map[string]any{"name": "x", "data": map[string]any{}, "block_schema_id": blocks.schemaID,
			"block_type_id": blocks.typeID}).expect(http.StatusNotFound)
		bobs := registerSecret(t, b, bob.base())
		if resp := b.do("POST", bob.base()+"/block_documents/", map[string]any{"name": "x", "block_schema_id": bobs.schemaID, "block_type_id": bobs.typeID,
			"data": map[string]any{"stolen": map[string]any{"$ref": map[string]any{"block_document_id": blockDoc}}}}); resp.Status != http.StatusBadRequest ||
			strings.Contains(string(resp.Body), "secret-value") {
			t.Errorf("bob's document referring to alice's: %d %s", resp.Status, resp.Body)
		}
		if got := a.do("GET", ab+"/block_documents/"+blockDoc+"?include_secrets=true", nil).expect(http.StatusOK).object()["data"]; normJSON(t, got) != `{"value":"secret-value"}` {
			t.Errorf("alice's secret after bob's requests: %v", got)
		}
		if inputs := a.do("POST", ab+"/flow_runs/"+runID+"/input/filter", map[string]any{"prefix": "", "limit": 10}).expect(http.StatusOK).list(); len(inputs) != 1 || inputs[0]["value"] != `"secret value"` {
			t.Errorf("alice's flow run inputs after bob's requests: %v", inputs)
		}
		// Account routes.
		for _, p := range []struct{ method, path string }{
			{"GET", "/accounts/" + alice.accountID}, {"GET", "/accounts/" + alice.accountID + "/workspaces/"},
			{"GET", "/accounts/" + alice.accountID + "/workspaces/" + alice.workspace},
			{"PATCH", "/accounts/" + alice.accountID + "/workspaces/" + alice.workspace},
			{"DELETE", "/accounts/" + alice.accountID + "/workspaces/" + alice.workspace},
			{"GET", "/accounts/" + alice.accountID + "/members/"},
		} {
			var body any
			if p.method == "PATCH" {
				body = map[string]any{"name": "taken"}
			}
			if resp := b.do(p.method, p.path, body); resp.Status != http.StatusNotFound {
				t.Errorf("bob %s %s: %d %s, want 404", p.method, p.path, resp.Status, resp.Body)
			}
		}
		mine := b.do("GET", "/me/workspaces", nil).expect(http.StatusOK).list()
		if len(mine) != 1 || mine[0]["workspace_id"] != bob.workspace {
			t.Fatalf("bob's /me/workspaces: %v", mine)
		}
		// Bob's key cannot open alice's event stream, and his events never
		// reach her subscribers.
		if _, err := dialEvents(t, ts, ab+"/events/out", bob.key); err == nil {
			t.Fatal("bob subscribed to alice's events")
		}
		if _, err := dialEvents(t, ts, ab+"/events/in", bob.key); err == nil {
			t.Fatal("bob opened an event stream into alice's workspace")
		}
		sub, err := dialEvents(t, ts, ab+"/events/out", alice.key)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.CloseNow()
		filter, _ := json.Marshal(map[string]any{"type": "filter", "backfill": false, "filter": map[string]any{}})
		check(t, sub.Write(t.Context(), websocket.MessageText, filter))
		received := make(chan string, 100)
		go func() {
			for {
				_, msg, err := sub.Read(t.Context())
				if err != nil {
					return
				}
				received <- string(msg)
			}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b.do("POST", bob.base()+"/events", []map[string]any{{"event": "bob.event", "resource": map[string]string{"prefect.resource.id": "r"}}}).expect(http.StatusNoContent)
			a.do("POST", ab+"/events", []map[string]any{{"event": "alice.event", "resource": map[string]string{"prefect.resource.id": "r"}}}).expect(http.StatusNoContent)
			select {
			case msg := <-received:
				if strings.Contains(msg, "bob.event") {
					t.Fatalf("alice's subscriber received bob's event: %s", msg)
				}
				if strings.Contains(msg, "alice.event") {
					return
				}
			case <-time.After(100 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatal("alice's subscriber received nothing")
			}
		}
	})
}

// snapshotOf lists what a workspace holds, through the API.
func snapshotOf(t *testing.T, c *testServer, base string) string {
	t.Helper()
	var parts []any
	for _, p := range []string{"/flows/filter", "/flow_runs/filter", "/task_runs/filter", "/logs/filter", "/variables/filter", "/artifacts/filter", "/deployments/filter",
		"/work_pools/filter", "/work_queues/filter", "/work_pools/private-pool/workers/filter", "/saved_searches/filter",
		"/block_types/filter", "/block_schemas/filter", "/block_documents/filter", "/v2/concurrency_limits/filter", "/concurrency_limits/filter", "/automations/filter"} {
		items := c.do("POST", base+p, map[string]any{}).expect(http.StatusOK).list()
		for _, it := range items {
			delete(it, "estimated_run_time")
			delete(it, "estimated_start_time_delta")
		}
		parts = append(parts, items)
	}
	return normJSON(t, parts)
}

// Viewers read but cannot write; roles come from workspace membership.
func TestViewerCannotWrite(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		ab := alice.base()
		flow := alice.client.do("POST", ab+"/flows/", map[string]any{"name": "f"}).object()["id"].(string)
		run := alice.client.do("POST", ab+"/flow_runs/", map[string]any{"flow_id": flow}).object()["id"].(string)
		// Workspace members come from the workspace's account.
		join(t, alice, bob, "member")
		alice.client.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": "viewer"}).expect(http.StatusNoContent)
		v := bob.client
		v.do("POST", ab+"/flow_runs/filter", nil).expect(http.StatusOK)
		v.do("GET", ab+"/flow_runs/"+run, nil).expect(http.StatusOK)
		for _, p := range []struct{ method, path, body string }{
			{"POST", "/flows/", `{"name":"g"}`}, {"POST", "/flow_runs/", `{"flow_id":"` + flow + `"}`},
			{"POST", "/flow_runs/" + run + "/set_state", `{"state":{"type":"RUNNING"}}`}, {"DELETE", "/flow_runs/" + run, ""},
			{"PATCH", "/flow_runs/" + run, `{"name":"x"}`}, {"POST", "/logs/", `[]`}, {"POST", "/variables/", `{"name":"v","value":1}`},
			{"POST", "/events", `[]`}, {"PUT", "/members/" + bob.userID.String(), `{"role":"owner"}`},
		} {
			var body any
			if p.body != "" {
				body = p.body
			}
			if resp := v.do(p.method, ab+p.path, body); resp.Status != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d %s, want 403", p.method, p.path, resp.Status, resp.Body)
			}
		}
		if _, err := dialEvents(t, ts, ab+"/events/in", bob.key); err == nil {
			t.Error("a viewer opened events/in")
		}
		if got := alice.client.do("GET", ab+"/flow_runs/"+run, nil).object()["state_type"]; got != "PENDING" {
			t.Fatalf("viewer changed the run: %v", got)
		}
		// Owner of the account is owner of its workspaces; a developer can write.
		alice.client.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": "developer"}).expect(http.StatusNoContent)
		v.do("POST", ab+"/flows/", map[string]any{"name": "g"}).expect(http.StatusCreated)
	})
}

// Without anonymous access every workspace call needs a valid key; health
// stays public. Keys work as Bearer, as an HTTP Basic auth string, and in
// the websocket auth frame.
func TestAuthentication(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		ts.do("GET", "/health", nil).expect(http.StatusOK)
		if d := ts.do("POST", "/flows/filter", nil).expect(http.StatusUnauthorized).detail(); d != "Not authenticated" {
			t.Errorf("no key: %q", d)
		}
		if d := ts.as("pnu_notarealkeynotarealkeynotarealkey12").do("POST", alice.base()+"/flows/filter", nil).expect(http.StatusUnauthorized).detail(); d != "Invalid authentication credentials" {
			t.Errorf("bad key: %q", d)
		}
		ts.do("POST", alice.base()+"/flows/filter", nil).expect(http.StatusUnauthorized)
		// HTTP Basic carrying PREFECT_API_AUTH_STRING ("user:key").
		req, _ := http.NewRequest("POST", ts.url+"/api"+alice.base()+"/flows/filter", strings.NewReader("{}"))
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+alice.key)))
		resp, err := http.DefaultClient.Do(req)
		check(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("basic auth: %d", resp.StatusCode)
		}
		if _, err := dialEvents(t, ts, alice.base()+"/events/in", ""); err == nil {
			t.Error("events/in without a token was accepted")
		}
		if _, err := dialEvents(t, ts, alice.base()+"/events/in", "pnu_garbage"); err == nil {
			t.Error("events/in with a bad token was accepted")
		}
		conn, err := dialEvents(t, ts, alice.base()+"/events/in", alice.key)
		if err != nil {
			t.Fatalf("events/in with the key: %v", err)
		}
		conn.CloseNow()
		// Cloud mode: the key rides on the upgrade request, with no
		// subprotocol and no auth frame.
		cloudDial := func(key string) error {
			h := http.Header{"Authorization": {"bearer " + key}}
			c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(ts.url, "http")+"/api"+alice.base()+"/events/in", &websocket.DialOptions{HTTPHeader: h})
			if err == nil {
				c.CloseNow()
			}
			return err
		}
		if err := cloudDial(alice.key); err != nil {
			t.Fatalf("Cloud-mode events/in with the key: %v", err)
		}
		other := newTenant(t, ts, "mallory")
		if err := cloudDial(other.key); err == nil {
			t.Fatal("Cloud-mode events/in with another tenant's key was accepted")
		}
		// A browser session is the UI's: the API does not take its cookie,
		// so no other site can use it for cross-site API calls.
		token, err := auth.NewToken(32)
		check(t, err)
		check(t, ts.store.CreateSession(t.Context(), &model.Session{ID: auth.HashKey(token), UserID: alice.userID, CSRF: "x",
			Expires: model.At(time.Now().Add(time.Hour))}))
		req, _ = http.NewRequest("POST", ts.url+"/api"+alice.base()+"/flows/filter", strings.NewReader("{}"))
		req.AddCookie(&http.Cookie{Name: "praetor_session", Value: token})
		resp, err = http.DefaultClient.Do(req)
		check(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a session cookie on the API: %d, want 401", resp.StatusCode)
		}
	})
}

// Key lifecycle: shown once, listed by prefix, last use recorded, expired
// and revoked keys refused on their next request.
func TestAPIKeyLifecycle(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		created := alice.client.do("POST", "/me/api_keys", map[string]any{"name": "ci"}).expect(http.StatusCreated).object()
		key := created["key"].(string)
		if !strings.HasPrefix(key, "pnu_") || !strings.HasPrefix(key, created["prefix"].(string)) {
			t.Fatalf("created key %q with prefix %v", key, created["prefix"])
		}
		ci := ts.as(key)
		ci.do("GET", "/me/workspaces", nil).expect(http.StatusOK)
		listing := alice.client.do("GET", "/me/api_keys", nil).expect(http.StatusOK)
		if strings.Contains(string(listing.Body), key) || strings.Contains(string(listing.Body), `"key"`) {
			t.Fatalf("listing shows the key: %s", listing.Body)
		}
		var used bool
		for _, k := range listing.list() {
			if k["id"] == created["id"] {
				used = k["last_used"] != nil
			}
		}
		if !used {
			t.Fatal("last_used was not recorded")
		}
		alice.client.do("DELETE", "/me/api_keys/"+created["id"].(string), nil).expect(http.StatusNoContent)
		if d := ci.do("GET", "/me/workspaces", nil).expect(http.StatusUnauthorized).detail(); d != "Invalid authentication credentials" {
			t.Fatalf("revoked key: %q", d)
		}
		// A key whose expiry has passed, stored directly: the API refuses to
		// mint one.
		key2, prefix, hash, err := auth.NewKey(auth.UserKeyPrefix)
		check(t, err)
		check(t, ts.store.CreateAPIKey(t.Context(), &model.APIKey{UserID: alice.userID, Name: "old", Prefix: prefix, Hash: hash,
			Expires: model.At(time.Now().Add(-time.Minute)).Ptr()}))
		ts.as(key2).do("GET", "/me/workspaces", nil).expect(http.StatusUnauthorized)
		// The API itself refuses an expiry in the past.
		alice.client.do("POST", "/me/api_keys", map[string]any{"name": "old", "expiration": "2000-01-01T00:00:00Z"}).expect(http.StatusUnprocessableEntity)
	})
}

// Passwords and keys never appear in logs, in responses after creation, or
// in the database in clear.
func TestSecretsStayHidden(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		c := alice.client
		for _, p := range []string{"/me/", "/me/workspaces", "/me/api_keys", "/accounts/" + alice.accountID + "/members/"} {
			body := string(c.do("GET", p, nil).expect(http.StatusOK).Body)
			if strings.Contains(body, alice.key) || strings.Contains(body, testPassword) || strings.Contains(body, "argon2") {
				t.Errorf("%s reveals a secret: %s", p, body)
			}
		}
		c.do("POST", alice.base()+"/flows/filter", nil).expect(http.StatusOK)
		if logs := ts.logs.String(); strings.Contains(logs, alice.key) || strings.Contains(logs, testPassword) {
			t.Error("a secret reached the server log")
		}
		if dump := databaseText(t, ts); strings.Contains(dump, alice.key) || strings.Contains(dump, testPassword) {
			t.Error("a secret is stored in clear")
		} else if !strings.Contains(dump, "alice@example.com") {
			t.Fatal("the database dump does not look at the data")
		}
	})
}

// databaseText returns everything the test's database holds, as text.
func databaseText(t *testing.T, ts *testServer) string {
	t.Helper()
	return testdb.Text(t, ts.dsn)
}

// An account always keeps an owner.
func TestLastOwnerStays(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		members := "/accounts/" + alice.accountID + "/members/"
		alice.client.do("PATCH", members+alice.userID.String(), map[string]any{"role": "admin"}).expect(http.StatusConflict)
		join(t, alice, bob, "owner")
		alice.client.do("PATCH", members+alice.userID.String(), map[string]any{"role": "admin"}).expect(http.StatusNoContent)
		if role, err := ts.store.AccountRole(t.Context(), uuid.MustParse(alice.accountID), bob.userID); err != nil || role != "owner" {
			t.Fatalf("bob's role: %q %v", role, err)
		}
	})
}
