package compat

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/testdb"
)

// expected404 are the lookups the client makes expecting a 404 the first
// time: a block type or schema it has not registered yet.
var expected404 = regexp.MustCompile(`^/api/(block_types/slug/[^/]+|block_schemas/checksum/[^/]+)$`)

var request404 = regexp.MustCompile(`msg=request method=\S+ path=(\S+) status=404`)

// TestBlocksAndResultStorage runs blocks_flow.py once (acceptance 1 of
// issue #19): the real client saves and loads a Secret and two blocks of
// types it registers itself, and persists task results to a
// LocalFileSystem block set as PREFECT_DEFAULT_RESULT_STORAGE_BLOCK; the
// result file is in that directory, and the flow's second run reads the
// task's cached result instead of running it. The secret is neither in the
// database nor in a response without include_secrets, and the client never
// met a route Praetor lacks.
func TestBlocksAndResultStorage(t *testing.T) {
	requirePython(t)
	for _, engine := range engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel() // as forEachEngine: most of the time goes to waiting on Python
			var api *apiClient
			if engine == "prefect" {
				api = startServer(t, engine)
			} else {
				// Debug logs every request with its status.
				api = startPraetor(t, engine, "PRAETOR_LOG_LEVEL=debug")
			}
			dir := t.TempDir()
			results, counter := filepath.Join(dir, "results"), filepath.Join(dir, "counter")
			serverResults := filepath.Join(dir, "server-results")
			b := make([]byte, 12)
			rand.Read(b)
			secret := "sk-" + hex.EncodeToString(b)
			out, err := runFlow(t, api, "blocks_flow.py", "PRAETOR_COMPAT_RESULTS="+results, "PRAETOR_COMPAT_COUNTER="+counter,
				"PRAETOR_COMPAT_SECRET="+secret, "PREFECT_DEFAULT_RESULT_STORAGE_BLOCK=local-file-system/results",
				"PRAETOR_COMPAT_SERVER_RESULTS="+serverResults)
			if err != nil {
				t.Fatalf("blocks_flow.py: %v", err)
			}
			if !strings.Contains(out, "results 49 49") {
				t.Errorf("the two runs did not both return 49:\n%s", tailLines(out, 20))
			}
			if ran, err := os.ReadFile(counter); err != nil || string(ran) != "ran\n" {
				t.Errorf("the task ran %q (%v) times, want once: the second run should read its cached result", ran, err)
			}
			files, err := os.ReadDir(results)
			if err != nil || len(files) == 0 {
				t.Errorf("no result files in the LocalFileSystem block's directory %s: %v", results, err)
			}

			var doc struct {
				Data map[string]any `json:"data"`
			}
			api.get(t, "/block_types/slug/secret/block_documents/name/api-token", &doc)
			if doc.Data["value"] != "********" {
				t.Errorf("the Secret without include_secrets: %v", doc.Data)
			}
			api.get(t, "/block_types/slug/secret/block_documents/name/api-token?include_secrets=true", &doc)
			if doc.Data["value"] != secret {
				t.Errorf("the Secret with include_secrets: %v", doc.Data)
			}
			var docs []map[string]any
			api.post(t, "/block_documents/filter", obj{}, &docs)
			if len(docs) != 5 {
				t.Errorf("%d block documents, want the secret, config, greeting, results and server-results", len(docs))
			}
			// The workspace's default result storage: a flow run with none
			// set on its side stores its task's result there.
			var storage struct {
				ID string `json:"id"`
			}
			api.get(t, "/block_types/slug/local-file-system/block_documents/name/server-results", &storage)
			var set map[string]any
			if err := api.call(t.Context(), "PUT", "/admin/storage", obj{"default_result_storage_block_id": storage.ID}, &set); err != nil || set["default_result_storage_block_id"] != storage.ID {
				t.Fatalf("PUT /admin/storage: %v %v", set, err)
			}
			if out, err := runFlow(t, api, "server_storage_flow.py"); err != nil || !strings.Contains(out, "answer 42") {
				t.Fatalf("server_storage_flow.py: %v\n%s", err, tailLines(out, 20))
			}
			if files, err := os.ReadDir(serverResults); err != nil || len(files) == 0 {
				t.Errorf("no result file in the server's default result storage %s: %v", serverResults, err)
			}
			if api.serverEnv == nil {
				return // Prefect's own server: its database and log are its own
			}
			if strings.Contains(testdb.Text(t, serverDatabase(t, api)), secret) {
				t.Error("the secret is in the database in clear")
			}
			log := api.serverLog()
			if strings.Contains(log, secret) {
				t.Error("the secret is in the server log")
			}
			found := request404.FindAllStringSubmatch(log, -1)
			for _, m := range found {
				if !expected404.MatchString(m[1]) {
					t.Errorf("the client got a 404 from %s", m[1])
				}
			}
			if len(found) == 0 {
				// The first save of each type looks it up and misses.
				t.Errorf("no 404 in the server log: is it logging requests?\n%s", tailLines(log, 20))
			}
		})
	}
}
