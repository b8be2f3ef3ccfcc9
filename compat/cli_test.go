package compat

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// TestPrefectCLI runs Prefect's own CLI against praetor for the routes of
// concurrency limits, blocks, variables, legacy work queues and flow runs:
// every command exits 0, says what Prefect's server makes it say, and leaves
// the server as it should.
func TestPrefectCLI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		out, err := runFlow(t, api, "prefect_cli.py")
		if err != nil {
			t.Fatalf("prefect_cli.py: %v", err)
		}
		said := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(out))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var c struct {
				Args []string `json:"args"`
				Code int      `json:"code"`
				Out  string   `json:"out"`
			}
			if json.Unmarshal(sc.Bytes(), &c) != nil || c.Args == nil {
				continue
			}
			cmd := "prefect " + strings.Join(c.Args, " ")
			said[cmd] = c.Out
			if c.Code != 0 {
				t.Errorf("%s exited %d:\n%s", cmd, c.Code, c.Out)
			}
		}
		if len(said) != 27 {
			t.Fatalf("%d commands reported, want 27:\n%s", len(said), tailLines(out, 30))
		}
		for cmd, want := range map[string]string{
			"prefect gcl inspect db":                        "limit=3",
			"prefect variable get cli_var":                  "42",
			"prefect work-queue create cli-queue --limit 2": "default-agent-pool",
		} {
			if !strings.Contains(said[cmd], want) {
				t.Errorf("%s does not say %q:\n%s", cmd, want, said[cmd])
			}
		}
		for cmd, said := range said {
			if strings.Contains(said, "s3cr3t-cli") {
				t.Errorf("%s shows the secret's value:\n%s", cmd, said)
			}
			if strings.HasPrefix(cmd, "prefect flow-run logs ") && !strings.Contains(said, "hello from the cli flow") {
				t.Errorf("%s lacks the flow's log:\n%s", cmd, said)
			}
		}
		var runs []map[string]any
		api.post(t, "/flow_runs/filter", obj{}, &runs)
		if len(runs) != 0 {
			t.Errorf("flow-run delete left %d runs", len(runs))
		}
		var limit map[string]any
		if err := api.call(t.Context(), "GET", "/v2/concurrency_limits/gone", nil, &limit); err == nil {
			t.Errorf("gcl delete left the limit: %v", limit)
		}
		api.get(t, "/v2/concurrency_limits/db", &limit)
		if limit["limit"] != float64(3) {
			t.Errorf("gcl update: %v", limit)
		}
		var queue map[string]any
		api.get(t, "/work_pools/default-agent-pool/queues/cli-queue", &queue)
		if queue["is_paused"] != true || queue["concurrency_limit"] != float64(2) {
			t.Errorf("the work queue the CLI made and paused: %v", queue)
		}
	})
}
