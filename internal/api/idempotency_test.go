package api

import (
	"net/http"
	"sync"
	"testing"
)

// Concurrent creations of a flow run with one idempotency key all answer
// with the same run: one 201, the others 200, never a conflict.
func TestConcurrentIdempotentFlowRuns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "f")
		const n = 16
		for round := range 3 {
			key := "key-" + string(rune('a'+round))
			answers := make([]*testResponse, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					answers[i] = ts.do("POST", "/flow_runs/", map[string]any{"flow_id": flow, "idempotency_key": key})
				}()
			}
			close(start)
			wg.Wait()
			created, ids := 0, map[any]bool{}
			for _, a := range answers {
				switch a.Status {
				case http.StatusCreated:
					created++
				case http.StatusOK:
				default:
					t.Fatalf("round %d: %d %s", round, a.Status, a.Body)
				}
				ids[a.object()["id"]] = true
			}
			if created != 1 || len(ids) != 1 {
				t.Fatalf("round %d: %d created, %d distinct ids, want 1 and 1", round, created, len(ids))
			}
			runs := ts.do("POST", "/flow_runs/filter", map[string]any{"flow_runs": map[string]any{"idempotency_key": map[string]any{"any_": []string{key}}}}).expect(http.StatusOK).list()
			if len(runs) != 1 || !ids[runs[0]["id"]] {
				t.Fatalf("round %d: stored runs with the key: %v", round, runs)
			}
		}
	})
}
