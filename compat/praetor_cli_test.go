package compat

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// praetorCLI runs the praetor user commands with their own PREFECT_HOME and
// none of the test's PREFECT_ settings.
type praetorCLI struct {
	t    *testing.T
	home string
}

func (p praetorCLI) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(p.t.Context(), praetorBinary(p.t), args...)
	cmd.Env = append(append(environWithout("PREFECT_", "NO_COLOR="), "PREFECT_HOME="+p.home), env...)
	return cmd
}

// run returns the command's standard output, standard error and exit code.
func (p praetorCLI) run(env []string, args ...string) (string, string, int) {
	p.t.Helper()
	cmd := p.command(env, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		p.t.Fatalf("praetor %v: %v", args, err)
	}
	return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
}

// must runs a command that must exit 0 and returns its standard output.
func (p praetorCLI) must(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.run(nil, args...)
	if code != 0 {
		p.t.Fatalf("praetor %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// cliResult is one command of a Python script that runs Prefect's CLI in
// process (flows/prefect_cli.py).
type cliResult struct {
	Args []string `json:"args"`
	Code int      `json:"code"`
	Out  string   `json:"out"`
}

func cliResults(out string) map[string]cliResult {
	results := map[string]cliResult{}
	for _, line := range strings.Split(out, "\n") {
		var r cliResult
		if strings.HasPrefix(line, `{"args"`) && json.Unmarshal([]byte(line), &r) == nil {
			results[strings.Join(r.Args, " ")] = r
		}
	}
	return results
}

// The user CLI against a running Praetor, with the real Prefect client on
// the same profiles: `praetor cloud login` puts Prefect's client in Cloud
// mode on that workspace, a profile that Prefect's `cloud login` wrote is
// used by praetor, and the everyday commands, their JSON output, their
// exit codes and `flow-run logs --follow` work on what the client ran.
func TestPraetorCLI(t *testing.T) {
	forEachPraetor(t, func(t *testing.T, api *apiClient) {
		c := newCloud(t, api)
		home := t.TempDir()
		p := praetorCLI{t, home}
		server := strings.TrimSuffix(api.base, "/api")
		prod, other := c.ws["alice/prod"], c.ws["alice/other"]

		out := p.must("cloud", "login", "--url", server, "-k", c.aliceKey, "-w", "alice/prod")
		if !strings.Contains(out, `Using workspace "alice/prod"`) {
			t.Errorf("login said: %s", out)
		}

		// Prefect's client, on nothing but the profile praetor wrote.
		out, err := runClient(t.Context(), home, nil, flowPath(t, "praetor_cli_check.py"), api.base, c.bobKey, "bob/bobs")
		if err != nil {
			t.Fatalf("praetor_cli_check.py: %v\n%s", err, out)
		}
		pyOut := out
		results := cliResults(out)
		view := results["config view"]
		for _, want := range []string{"PREFECT_API_URL='" + prod + "'", "PREFECT_API_KEY='********'", "PREFECT_CLOUD_API_URL='" + api.base + "'"} {
			if view.Code != 0 || !strings.Contains(view.Out, want) {
				t.Errorf("prefect config view lacks %s (exit %d):\n%s", want, view.Code, view.Out)
			}
		}
		if strings.Contains(view.Out, c.aliceKey) {
			t.Errorf("prefect config view shows the key")
		}
		if n := c.runsIn(t, prod, c.aliceKey, "Testing"); n != 1 {
			t.Errorf("alice/prod has %d runs of Testing after basic_flow, want 1\n%s", n, out)
		}
		if ls := results["cloud workspace ls"]; ls.Code != 0 || !strings.Contains(ls.Out, "alice/prod") || !strings.Contains(ls.Out, "alice/other") {
			t.Errorf("prefect cloud workspace ls (exit %d):\n%s", ls.Code, ls.Out)
		}
		pyLogin := results["--profile python cloud login --key "+c.bobKey+" --workspace bob/bobs"]
		if pyLogin.Code != 0 {
			t.Errorf("prefect cloud login into the profile python (exit %d):\n%s", pyLogin.Code, pyLogin.Out)
		}

		// The everyday commands on the run the client made.
		if out := p.must("flow", "ls"); !strings.Contains(out, "Testing") {
			t.Errorf("flow ls:\n%s", out)
		}
		var runs []struct {
			ID        string `json:"id"`
			StateType string `json:"state_type"`
		}
		if err := json.Unmarshal([]byte(p.must("flow-run", "ls", "--output", "json")), &runs); err != nil || len(runs) != 1 || runs[0].StateType != "COMPLETED" {
			t.Fatalf("flow-run ls --output json: %v %+v", err, runs)
		}
		id := runs[0].ID
		if out := p.must("flow-run", "ls", "--state", "completed", "--flow", "Testing"); !strings.Contains(out, id) || !strings.Contains(out, "Completed") {
			t.Errorf("flow-run ls --state completed --flow Testing:\n%s", out)
		}
		if out := p.must("flow-run", "ls", "--state", "FAILED"); strings.Contains(out, id) {
			t.Errorf("flow-run ls --state FAILED lists a completed run:\n%s", out)
		}
		if out := p.must("flow-run", "inspect", id); !regexp.MustCompile(`State:\s+Completed`).MatchString(out) || !strings.Contains(out, "Testing") {
			t.Errorf("flow-run inspect:\n%s", out)
		}
		if out := p.must("flow-run", "logs", id); !strings.Contains(out, "WARNING | ") || !strings.Contains(out, "The fun is about to begin") {
			t.Errorf("flow-run logs:\n%s", out)
		}
		if out := p.must("cloud", "workspace", "ls"); !regexp.MustCompile(`(?m)^\*\s+alice/prod `).MatchString(out) || !strings.Contains(out, "alice/other") || strings.Contains(out, "bob") {
			t.Errorf("cloud workspace ls:\n%s", out)
		}
		p.must("cloud", "workspace", "set", "--workspace", "alice/other")
		p.must("work-pool", "ls")
		p.must("deployment", "ls")

		// What fails says what to do, with exit 1.
		if _, errOut, code := p.run([]string{"PREFECT_API_KEY=pnu_wrong"}, "flow", "ls"); code != 1 || !strings.Contains(errOut, "refused the API key") || !strings.Contains(errOut, "praetor cloud login") {
			t.Errorf("a wrong key in the environment: exit %d, %s", code, errOut)
		}
		if _, errOut, code := p.run([]string{"PREFECT_API_URL=" + closedURL(t)}, "flow-run", "ls"); code != 1 || !strings.Contains(errOut, "cannot reach the server") {
			t.Errorf("an unreachable server: exit %d, %s", code, errOut)
		}
		if _, errOut, code := p.run(nil, "cloud", "login", "--no-prompt", "--url", server, "-k", "pnu_wrong", "-w", "alice/prod"); code != 1 || !strings.Contains(errOut, "refused the key") {
			t.Errorf("login with a wrong key: exit %d, %s", code, errOut)
		}
		if _, errOut, code := p.run(nil, "cloud", "login", "--no-prompt", "--url", server, "-k", c.aliceKey); code != 2 || !strings.Contains(errOut, "alice/other, alice/prod") {
			t.Errorf("login without --workspace for a key with two: exit %d, %s", code, errOut)
		}
		if _, errOut, code := p.run(nil, "cloud", "login", "--url", closedURL(t), "-k", c.aliceKey, "-w", "alice/prod"); code != 1 || !strings.Contains(errOut, "cannot reach a Praetor server") {
			t.Errorf("login to an unreachable server: exit %d, %s", code, errOut)
		}

		// The profile Prefect's client wrote, read by praetor (with
		// PREFECT_CLOUD_API_URL in the environment, as that client had).
		pyEnv := []string{"PREFECT_PROFILE=python", "PREFECT_CLOUD_API_URL=" + api.base}
		if out, errOut, code := p.run(pyEnv, "cloud", "workspace", "ls"); code != 0 || !regexp.MustCompile(`(?m)^\*\s+bob/bobs `).MatchString(out) {
			profiles, _ := os.ReadFile(filepath.Join(home, "profiles.toml"))
			t.Errorf("cloud workspace ls on Prefect's profile: exit %d\n%s%s\nprofiles.toml:\n%s\nthe Python script said: %s", code, out, errOut, profiles, pyOut)
		}
		if out, errOut, code := p.run(pyEnv, "flow-run", "ls", "-o", "json"); code != 0 || strings.TrimSpace(out) != "[]" {
			t.Errorf("flow-run ls on Prefect's profile (bob's empty workspace): exit %d\n%s%s", code, out, errOut)
		}

		testFollowAndRun(t, p, api.at(other, c.aliceKey))
	})
}

// closedURL is an API URL where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String() + "/api"
}

// testFollowAndRun drives runs through the API of the workspace ws (the
// profile's): `flow-run logs --follow` prints each line while the run is
// still running and exits with the run's final state; `deployment run
// --param --watch` starts a run with the parameters and waits for it;
// `flow-run cancel` cancels a scheduled one.
func testFollowAndRun(t *testing.T, p praetorCLI, ws *apiClient) {
	var flow struct{ ID string }
	ws.post(t, "/flows/", obj{"name": "followed"}, &flow)
	logLine := func(runID, msg string) {
		ws.post(t, "/logs/", []obj{{"name": "prefect.flow_runs", "level": 20, "message": msg,
			"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "flow_run_id": runID}}, nil)
	}
	setState := func(runID, typ string) {
		ws.post(t, "/flow_runs/"+runID+"/set_state", obj{"state": obj{"type": typ}, "force": true}, nil)
	}
	for _, end := range []struct {
		state string
		code  int
	}{{"COMPLETED", 0}, {"FAILED", 1}} {
		var run struct{ ID string }
		ws.post(t, "/flow_runs/", obj{"flow_id": flow.ID}, &run)
		setState(run.ID, "RUNNING")
		logLine(run.ID, "first line")

		cmd := p.command(nil, "flow-run", "logs", "--follow", run.ID)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			s := bufio.NewScanner(stdout)
			for s.Scan() {
				lines <- s.Text()
			}
		}()
		waitLine := func(want string) {
			t.Helper()
			timeout := time.After(time.Minute)
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("logs --follow ended before printing %q: %s", want, stderr.String())
					}
					if strings.HasSuffix(l, want) {
						return
					}
				case <-timeout:
					t.Fatalf("logs --follow did not print %q within a minute", want)
				}
			}
		}
		waitLine("first line")
		logLine(run.ID, "second line") // while the run still runs
		waitLine("second line")
		setState(run.ID, end.state)
		for range lines {
		}
		err = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != end.code {
			t.Errorf("logs --follow of a run that ended %s: exit %d (%v), want %d; stderr %s", end.state, code, err, end.code, stderr.String())
		}
		if !strings.Contains(strings.ToUpper(stderr.String()), end.state) {
			t.Errorf("logs --follow of a run that ended %s said: %s", end.state, stderr.String())
		}
	}

	var dep struct{ ID string }
	ws.post(t, "/deployments/", obj{"name": "dep", "flow_id": flow.ID, "parameters": obj{"x": 1, "who": "nobody"}}, &dep)
	if out := p.must("deployment", "inspect", "followed/dep"); !strings.Contains(out, dep.ID) {
		t.Errorf("deployment inspect:\n%s", out)
	}
	cmd := p.command(nil, "deployment", "run", "followed/dep", "--param", "x=3", "--param", "tags=[\"a\"]", "--watch")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	created, _ := r.ReadString('\n')
	m := regexp.MustCompile(`\(([0-9a-f-]{36})\)`).FindStringSubmatch(created)
	if m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("deployment run printed %q: %s", created, stderr.String())
	}
	var started struct {
		Parameters map[string]any `json:"parameters"`
	}
	ws.get(t, "/flow_runs/"+m[1], &started)
	if fmt.Sprint(started.Parameters) != "map[tags:[a] who:nobody x:3]" {
		t.Errorf("the run's parameters: %v", started.Parameters)
	}
	setState(m[1], "RUNNING")
	setState(m[1], "COMPLETED")
	io.Copy(io.Discard, r)
	if err := cmd.Wait(); err != nil {
		t.Errorf("deployment run --watch of a run that completed: %v, %s", err, stderr.String())
	}

	created = p.must("deployment", "run", "followed/dep")
	m = regexp.MustCompile(`\(([0-9a-f-]{36})\)`).FindStringSubmatch(created)
	if m == nil {
		t.Fatalf("deployment run printed %q", created)
	}
	p.must("flow-run", "cancel", m[1])
	var cancelled struct {
		StateType string `json:"state_type"`
	}
	ws.get(t, "/flow_runs/"+m[1], &cancelled)
	if cancelled.StateType != "CANCELLED" && cancelled.StateType != "CANCELLING" {
		t.Errorf("after flow-run cancel the run is %s", cancelled.StateType)
	}
	if _, errOut, code := p.run(nil, "deployment", "inspect", "followed/nope"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("deployment inspect of a missing deployment: exit %d, %s", code, errOut)
	}
}
