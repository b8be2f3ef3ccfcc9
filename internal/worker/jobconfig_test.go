package worker

import (
	"reflect"
	"testing"

	"github.com/praetorhq/praetor/internal/workertypes"
)

func processTemplate(t *testing.T) map[string]any {
	t.Helper()
	pt, ok := workertypes.Lookup("process")
	if !ok {
		t.Fatal("no process type")
	}
	tmpl := pt.BaseJobTemplate()
	// A pool whose admin set a default environment.
	props := tmpl["variables"].(map[string]any)["properties"].(map[string]any)
	env := props["env"].(map[string]any)
	env["default"] = map[string]any{"FROM_POOL": "pool", "SHARED": "pool"}
	return tmpl
}

// The pool's defaults, then the deployment's job variables, then the
// run's; env is merged key by key, the other variables are replaced.
func TestJobVariablesMerge(t *testing.T) {
	tmpl := processTemplate(t)
	dep := map[string]any{"env": map[string]any{"SHARED": "deployment", "FROM_DEP": "dep"}, "working_dir": "/srv/dep", "command": "dep-cmd"}
	run := map[string]any{"env": map[string]any{"FROM_RUN": "run", "FROM_DEP": nil}, "command": "run-cmd --x 'a b'"}
	vars := JobVariables(tmpl, dep, run)
	wantEnv := map[string]any{"FROM_POOL": "pool", "SHARED": "deployment", "FROM_DEP": nil, "FROM_RUN": "run"}
	if !reflect.DeepEqual(vars["env"], wantEnv) {
		t.Errorf("env %v, want %v", vars["env"], wantEnv)
	}
	if vars["working_dir"] != "/srv/dep" || vars["command"] != "run-cmd --x 'a b'" || vars["stream_output"] != true {
		t.Errorf("variables %v", vars)
	}

	j := jobFrom(JobConfiguration(tmpl, vars))
	if j.command != "run-cmd --x 'a b'" || j.workingDir != "/srv/dep" || !j.streamOutput {
		t.Errorf("job %+v", j)
	}
	if j.env["FROM_DEP"] != nil || j.env["SHARED"] == nil || *j.env["SHARED"] != "deployment" {
		t.Errorf("job env %v", j.env)
	}
	args, err := splitCommand(j.command)
	if err != nil || !reflect.DeepEqual(args, []string{"run-cmd", "--x", "a b"}) {
		t.Errorf("split %q: %q %v", j.command, args, err)
	}
}

// Without job variables the default command starts the Prefect engine;
// placeholders inside longer strings are filled with the variable's text.
func TestJobConfigurationDefaults(t *testing.T) {
	tmpl := processTemplate(t)
	j := jobFrom(JobConfiguration(tmpl, JobVariables(tmpl, nil, nil)))
	if j.command != defaultCommand || j.workingDir != "" || *j.env["FROM_POOL"] != "pool" {
		t.Errorf("job %+v", j)
	}
	custom := map[string]any{"job_configuration": map[string]any{"command": "run {{ name }} in {{ missing }}", "env": "{{ env }}"}}
	j = jobFrom(JobConfiguration(custom, map[string]any{"name": "x", "env": map[string]any{"N": 3}}))
	if j.command != "run x in " || *j.env["N"] != "3" {
		t.Errorf("custom job %+v", j)
	}
	if _, err := splitCommand(`python "unterminated`); err == nil {
		t.Error("an unterminated quote splits")
	}
}
