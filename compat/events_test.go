package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/testdb"
)

// serverDatabase is the database the praetor server of api uses.
func serverDatabase(t *testing.T, api *apiClient) string {
	t.Helper()
	var home string
	for _, kv := range api.serverEnv {
		if url, ok := strings.CutPrefix(kv, "PRAETOR_DATABASE_URL="); ok {
			return url
		}
		if h, ok := strings.CutPrefix(kv, "PRAETOR_HOME="); ok {
			home = h
		}
	}
	if home == "" {
		t.Fatal("the server has neither PRAETOR_DATABASE_URL nor PRAETOR_HOME")
	}
	return filepath.Join(home, "praetor.db")
}

// checkpointedEvents emits events with the real client's events websocket,
// checkpointing after each one (the client's own mechanism: a ping whose
// pong lets it forget every event sent before), and prints each event once
// its checkpoint has passed.
const checkpointedEvents = `import asyncio, sys
from prefect.events import Event
from prefect.events.clients import PrefectEventsClient

async def main(n):
    async with PrefectEventsClient(checkpoint_every=1) as client:
        for i in range(n):
            await client.emit(Event(event="compat.checkpointed", resource={"prefect.resource.id": f"compat.checkpointed.{i}"}))
            print("confirmed", i, flush=True)

asyncio.run(main(int(sys.argv[1])))
`

// While the database fails every event write, the real client's
// checkpoints go unanswered and it reconnects and sends its events again;
// once the database is back, every event it was told is safe is stored,
// exactly once.
func TestEventsResentAfterAFailedIngest(t *testing.T) {
	forEachPraetor(t, func(t *testing.T, api *apiClient) {
		const n = 5
		script := filepath.Join(t.TempDir(), "checkpointed_events.py")
		if err := os.WriteFile(script, []byte(checkpointedEvents), 0o644); err != nil {
			t.Fatal(err)
		}
		repair := testdb.FailInserts(t, serverDatabase(t, api), "events")
		type result struct {
			out string
			err error
		}
		finished := make(chan result, 1)
		go func() {
			out, err := runClient(t.Context(), t.TempDir(), []string{"PREFECT_API_URL=" + api.base}, script, fmt.Sprint(n))
			finished <- result{out, err}
		}()
		// The database is repaired once the server has failed to store
		// what the client sent; until then the client keeps retrying.
		ok := eventually(t, flowTimeout, "the server reports a failed ingest", func(ctx context.Context) (bool, string) {
			select {
			case r := <-finished:
				finished <- r
				return true, "the client exited: " + r.out
			default:
			}
			return strings.Contains(api.serverLog(), "ingest events"), "no failed ingest in the server log"
		})
		repair()
		r := <-finished
		if !ok {
			t.Fatalf("client output:\n%s", r.out)
		}
		if r.err != nil {
			t.Fatalf("checkpointed_events.py: %v\n%s", r.err, r.out)
		}
		if got := strings.Count(r.out, "confirmed "); got != n {
			t.Fatalf("the client confirmed %d events, want %d:\n%s", got, n, r.out)
		}
		var page struct {
			Total  int `json:"total"`
			Events []struct {
				Resource map[string]string `json:"resource"`
			} `json:"events"`
		}
		api.post(t, "/events/filter", obj{"filter": obj{"event": obj{"name": []string{"compat.checkpointed"}}}, "limit": 50}, &page)
		seen := map[string]bool{}
		for _, e := range page.Events {
			seen[e.Resource["prefect.resource.id"]] = true
		}
		if page.Total != n || len(seen) != n {
			t.Fatalf("%d events stored (%d distinct) of the %d the client was told are safe:\n%s", page.Total, len(seen), n, r.out)
		}
	})
}

// The seed's "Manually configuring Cloud settings": PREFECT_API_URL (a
// workspace URL) and PREFECT_API_KEY alone. The client is then not in Cloud
// mode and sends no key on the events websocket, so the task runs are not
// recorded; what it prints in the user's terminal says what to set. On one
// engine, to spare CI a Python run: what is checked is the client's output
// and the server's warning, neither of which the engine touches (the
// workspace-scoped writes and keys run on both in TestCloudLogin).
func TestManualConfigurationPrintsTheFix(t *testing.T) {
	requirePython(t)
	engine := engines()[0]
	if engine == "prefect" {
		t.Skip("Prefect's own server has no Cloud layer")
	}
	t.Run(engine, func(t *testing.T) {
		api := startPraetor(t, engine)
		c := newCloud(t, api)
		prod := c.ws["alice/prod"]
		env := []string{"PREFECT_API_URL=" + prod, "PREFECT_API_KEY=" + c.aliceKey,
			"PRAETOR_COMPAT_ATTEMPTS_FILE=" + filepath.Join(t.TempDir(), "attempts")}
		out, err := runClient(t.Context(), t.TempDir(), env, flowPath(t, "retries_map_subflow.py"))
		if err != nil {
			t.Fatalf("retries_map_subflow.py: %v\n%s", err, out)
		}
		fix := "PREFECT_CLOUD_API_URL=" + api.base
		if !strings.Contains(out, fix) || !strings.Contains(out, "PREFECT_API_AUTH_STRING") {
			t.Fatalf("the client's output does not say to set %s (or PREFECT_API_AUTH_STRING):\n%s", fix, out)
		}
		if strings.Count(api.serverLog(), "outside Cloud mode") != 1 {
			t.Errorf("the server did not warn exactly once about the key used outside Cloud mode:\n%s", tailLines(api.serverLog(), 40))
		}
	})
}
