package internal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layers ranks every package of the module, relative to the module path:
// a package may import only packages of a lower rank, so imports point down
// cli → server → api/ui → tenancy → auth/events → store → orchestration →
// model (docs/architecture.md). Packages of one rank may not import each
// other. A new package must be placed here, or TestLayers fails.
var layers = map[string]int{
	"cmd/praetor": 100,
	"compat":      100, // tests only: they drive the binary
	"bench":       100, // tests only
	"internal":    100, // this check

	"internal/cli":    90,
	"internal/worker": 85, // the native worker: talks to a server over HTTP only
	"internal/server": 80,

	"internal/api": 70,
	"internal/ui":  70,

	// Background services, started by the server; they work through the
	// layers below, never through the API.
	"internal/services": 65,

	"internal/tenancy": 60,

	"internal/httpx": 55, // what API and UI share over HTTP

	"internal/auth":     50,
	"internal/events":   50,
	"internal/notify":   50, // automation templates and notification blocks
	"internal/rungraph": 50,
	"internal/sso":      50, // identity providers: OpenID Connect and GitHub sign-in

	"internal/store/sqlstore":  42,
	"internal/store/storetest": 42,
	"internal/store":           40,

	"internal/orchestration": 30,

	"internal/automations": 20, // pure: automation checks, trigger matching and the bucket algorithm
	"internal/schedule":    20, // pure: schedule parsing and start times
	"internal/schemacheck": 20, // pure: JSON schema validation of parameters and job variables
	"internal/workertypes": 20, // pure: the worker-type catalogue and default job templates

	"internal/testdb": 12,

	"internal/client":   15, // the Go client of the Prefect API: imports model only
	"internal/profiles": 15, // pure: Prefect's profiles.toml, edited in place

	// Leaves.
	"internal/model":     10,
	"internal/apperr":    10,
	"internal/roles":     10,
	"internal/clock":     10,
	"internal/metrics":   10,
	"internal/secretbox": 10, // sealing at rest: AES-GCM keyring and key file
	"internal/testenv":   10,
}

type goPackage struct {
	ImportPath string
	Imports    []string
}

// TestLayers fails if a package imports one of its own rank or above, or if
// a package of the module has no rank.
func TestLayers(t *testing.T) {
	module, pkgs := listPackages(t)
	if msgs := checkLayers(module, pkgs, layers); len(msgs) > 0 {
		t.Errorf("layering violations (see the layers table in internal/layers_test.go):\n%s", strings.Join(msgs, "\n"))
	}
}

// TestLayersCatchesUpwardImports checks the check: an upward import, a
// sideways one and an unplaced package are each reported.
func TestLayersCatchesUpwardImports(t *testing.T) {
	const m = "example.com/m"
	pkgs := []goPackage{
		{ImportPath: m + "/internal/store/sqlstore", Imports: []string{"fmt", m + "/internal/auth", m + "/internal/model"}},
		{ImportPath: m + "/internal/api", Imports: []string{m + "/internal/ui"}},
		{ImportPath: m + "/internal/newthing", Imports: []string{m + "/internal/model"}},
		{ImportPath: m + "/internal/model"},
	}
	got := checkLayers(m, pkgs, layers)
	want := []string{
		"internal/api (rank 70) imports internal/ui (rank 70)",
		"internal/newthing has no rank",
		"internal/store/sqlstore (rank 42) imports internal/auth (rank 50)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n got %q\nwant %q", got, want)
	}
}

// checkLayers returns the violations of ranks by pkgs, sorted. Imports from
// outside the module are not ranked.
func checkLayers(module string, pkgs []goPackage, ranks map[string]int) []string {
	var msgs []string
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		return strings.CutPrefix(path, module+"/")
	}
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		rank, ok := ranks[name]
		if !ok {
			msgs = append(msgs, name+" has no rank")
			continue
		}
		for _, imp := range p.Imports {
			dep, inModule := rel(imp)
			if !inModule {
				continue
			}
			depRank, ok := ranks[dep]
			if ok && depRank < rank {
				continue
			}
			if !ok {
				msgs = append(msgs, name+" imports "+dep+", which has no rank")
				continue
			}
			msgs = append(msgs, fmt.Sprintf("%s (rank %d) imports %s (rank %d)", name, rank, dep, depRank))
		}
	}
	slices.Sort(msgs)
	return msgs
}

// listPackages lists the module's packages with their non-test imports.
func listPackages(t *testing.T) (string, []goPackage) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), goBin, args...)
		cmd.Dir = ".." // the module root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	module := strings.TrimSpace(string(run("list", "-m")))
	dec := json.NewDecoder(bytes.NewReader(run("list", "-json=ImportPath,Imports", "./...")))
	var pkgs []goPackage
	for {
		var p goPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return module, pkgs
}
