package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A deployment served with global_limit=1 (its concurrency_limit): while a
// run holds the slot, a second waits, AwaitingConcurrencySlot, and runs
// only once the first ended. On one engine, to spare CI half a minute: the
// rules' reads and writes run on both in the store's contract
// (storetest's testDeploymentConcurrency); this proves the client's side.
func TestDeploymentConcurrencyLimit(t *testing.T) {
	requirePython(t)
	for _, engine := range engines()[:1] {
		if engine == "prefect" {
			t.Skip("the wait before a retry is a praetor setting here")
		}
		t.Run(engine, func(t *testing.T) {
			// A run that found the limit full tries again a second later,
			// not Prefect's 30 s.
			api := startPraetor(t, engine, "PRAETOR_CONCURRENCY_SLOT_WAIT=1s")
			startServeScript(t, api, "serve_limited.py")
			var dep struct {
				ID                     string `json:"id"`
				GlobalConcurrencyLimit *struct {
					Name  string `json:"name"`
					Limit int    `json:"limit"`
				} `json:"global_concurrency_limit"`
			}
			if !eventually(t, 90*time.Second, "the served deployment", func(ctx context.Context) (bool, string) {
				err := api.call(ctx, "GET", "/deployments/name/limited/one-at-a-time", nil, &dep)
				return err == nil, fmt.Sprint(err)
			}) {
				t.FailNow()
			}
			if l := dep.GlobalConcurrencyLimit; l == nil || l.Limit != 1 || l.Name != "deployment:"+dep.ID {
				t.Fatalf("the deployment's global limit: %+v", l)
			}
			gates := t.TempDir()
			trigger := func(name string) string {
				var run servedRun
				api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"gate": filepath.Join(gates, name)}}, &run)
				return run.ID
			}
			states := func(ctx context.Context, id string) ([]stateInfo, error) {
				var s []stateInfo
				err := api.call(ctx, "GET", "/flow_run_states/?flow_run_id="+id, nil, &s)
				return s, err
			}
			// The second's gate is open: it finishes as soon as it runs.
			if err := os.WriteFile(filepath.Join(gates, "second"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			// The first takes the slot; then the second is triggered.
			first := trigger("first")
			var firstStates, secondStates []stateInfo
			if !eventually(t, 120*time.Second, "the first run to be RUNNING", func(ctx context.Context) (bool, string) {
				var err error
				firstStates, err = states(ctx, first)
				return slices.Contains(names(firstStates), "Running"), fmt.Sprintf("%v (%v)", names(firstStates), err)
			}) {
				t.FailNow()
			}
			second := trigger("second")
			if !eventually(t, 60*time.Second, "the second run to wait AwaitingConcurrencySlot", func(ctx context.Context) (bool, string) {
				var err error
				secondStates, err = states(ctx, second)
				return slices.Contains(names(secondStates), "AwaitingConcurrencySlot"), fmt.Sprintf("%v (%v)", names(secondStates), err)
			}) {
				t.FailNow()
			}
			// It waits as long as the first holds the slot: the runner
			// proposes it again every second and is turned down each time.
			if !eventually(t, 60*time.Second, "the second run to be turned down twice", func(ctx context.Context) (bool, string) {
				var err error
				secondStates, err = states(ctx, second)
				n := 0
				for _, name := range names(secondStates) {
					if name == "AwaitingConcurrencySlot" {
						n++
					}
				}
				return n >= 2, fmt.Sprintf("%v (%v)", names(secondStates), err)
			}) {
				t.FailNow()
			}
			if got := names(secondStates); slices.Contains(got, "Running") || slices.Contains(got, "Pending") {
				t.Fatalf("the second run went on while the first held the slot: %v", got)
			}
			// The first ends; then the second runs.
			if err := os.WriteFile(filepath.Join(gates, "first"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			eventually(t, 120*time.Second, "both runs to complete", func(ctx context.Context) (bool, string) {
				var err1, err2 error
				firstStates, err1 = states(ctx, first)
				secondStates, err2 = states(ctx, second)
				a, b := names(firstStates), names(secondStates)
				return slices.Contains(a, "Completed") && slices.Contains(b, "Completed"), fmt.Sprintf("first %v, second %v (%v, %v)", a, b, err1, err2)
			})
			ended := stateTime(t, firstStates, "Completed")
			if started := stateTime(t, secondStates, "Running"); !started.After(ended) {
				t.Errorf("the second run started at %s, before the first ended at %s", started, ended)
			}
		})
	}
}

// names lists the names of states, oldest first.
func names(states []stateInfo) []string {
	slices.SortFunc(states, func(a, b stateInfo) int { return cmpTime(a.Timestamp, b.Timestamp) })
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = s.Name
	}
	return out
}

func cmpTime(a, b string) int {
	ta, _ := time.Parse(time.RFC3339Nano, a)
	tb, _ := time.Parse(time.RFC3339Nano, b)
	return ta.Compare(tb)
}

// stateTime is when a run first entered the state named name.
func stateTime(t *testing.T, states []stateInfo, name string) time.Time {
	t.Helper()
	for _, s := range states {
		if s.Name == name {
			at, err := time.Parse(time.RFC3339Nano, s.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
	}
	t.Fatalf("no %s state among %v", name, names(states))
	return time.Time{}
}
