package compat

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// apiClient talks JSON to one server's Prefect REST API.
type apiClient struct {
	base string // e.g. http://127.0.0.1:4200/api
	http *http.Client
	// key, when set, is sent as "Authorization: Bearer <key>".
	key string
	// serverEnv is the environment the praetor server runs with (its
	// PRAETOR_HOME or PRAETOR_DATABASE_URL), for `praetor admin` commands
	// on its database.
	serverEnv []string
	// serverLog reads the praetor server's output so far.
	serverLog func() string
}

// at returns a client of the same server for another API root and key, such
// as a workspace's /api/accounts/{a}/workspaces/{w}.
func (c *apiClient) at(base, key string) *apiClient {
	d := *c
	d.base, d.key = base, key
	return &d
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, http: &http.Client{Timeout: 30 * time.Second}}
}

// call sends body (if not nil) as JSON and decodes a 2xx answer into out (if
// not nil). Any other status is an error that quotes the response.
func (c *apiClient) call(ctx context.Context, method, path string, body, out any) error {
	var reqBody io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, truncate(string(data), 2000))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %v: %s", method, path, err, truncate(string(data), 2000))
		}
	}
	return nil
}

// get and post fail the test on any error.
func (c *apiClient) get(t *testing.T, path string, out any) {
	t.Helper()
	if err := c.call(t.Context(), "GET", path, nil, out); err != nil {
		t.Fatal(err)
	}
}

func (c *apiClient) post(t *testing.T, path string, body, out any) {
	t.Helper()
	if err := c.call(t.Context(), "POST", path, body, out); err != nil {
		t.Fatal(err)
	}
}

// obj builds JSON request bodies, such as Prefect's nested filters.
type obj = map[string]any

func anyOf(values ...string) obj { return obj{"any_": values} }

// The parts of Prefect's response models the scenarios check.

type flowInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type stateInfo struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Timestamp    string         `json:"timestamp"`
	Message      *string        `json:"message"`
	StateDetails map[string]any `json:"state_details"`
}

type flowRunInfo struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	FlowID          string     `json:"flow_id"`
	StateType       string     `json:"state_type"`
	RunCount        int        `json:"run_count"`
	ParentTaskRunID *string    `json:"parent_task_run_id"`
	State           *stateInfo `json:"state"`
}

type taskInput struct {
	InputType string `json:"input_type"`
	ID        string `json:"id"`
	Name      string `json:"name"`
}

type taskRunInfo struct {
	ID         string                 `json:"id"`
	Name       string                 `json:"name"`
	FlowRunID  string                 `json:"flow_run_id"`
	StateType  string                 `json:"state_type"`
	RunCount   int                    `json:"run_count"`
	TaskInputs map[string][]taskInput `json:"task_inputs"`
}

// taskName is the task's name: 3.x task run names are "<task name>-<suffix>".
func (tr taskRunInfo) taskName() string {
	if i := strings.LastIndex(tr.Name, "-"); i > 0 {
		return tr.Name[:i]
	}
	return tr.Name
}

type logInfo struct {
	Name      string `json:"name"`
	Level     int    `json:"level"`
	Message   string `json:"message"`
	FlowRunID string `json:"flow_run_id"`
}

// poll calls check every 200ms until it reports done or timeout has passed,
// and returns whether it succeeded with its last explanation (that of the
// last check the timeout did not cut short).
func poll(ctx context.Context, timeout time.Duration, check func(ctx context.Context) (done bool, status string)) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		done, status := check(ctx)
		if done {
			return true, status
		}
		if ctx.Err() == nil || last == "" {
			last = status
		}
		select {
		case <-ctx.Done():
			return false, last
		case <-tick.C:
		}
	}
}

// eventually polls check and fails the test (without stopping it) if check
// does not succeed within timeout. It reports whether check succeeded.
func eventually(t *testing.T, timeout time.Duration, what string, check func(ctx context.Context) (done bool, status string)) bool {
	t.Helper()
	ok, status := poll(t.Context(), timeout, check)
	if !ok {
		t.Errorf("%s: still not so after %s; last seen: %s", what, timeout, status)
	}
	return ok
}

// findOnlyFlowRun returns the single flow run of the single flow called name.
func findOnlyFlowRun(ctx context.Context, api *apiClient, name string) (flowRunInfo, error) {
	var flows []flowInfo
	if err := api.call(ctx, "POST", "/flows/filter", obj{"flows": obj{"name": anyOf(name)}}, &flows); err != nil {
		return flowRunInfo{}, err
	}
	if len(flows) != 1 || flows[0].Name != name {
		return flowRunInfo{}, fmt.Errorf("POST /flows/filter by name %q: got %+v, want exactly one flow of that name", name, flows)
	}
	var runs []flowRunInfo
	if err := api.call(ctx, "POST", "/flow_runs/filter", obj{"flows": obj{"id": anyOf(flows[0].ID)}}, &runs); err != nil {
		return flowRunInfo{}, err
	}
	if len(runs) != 1 {
		return flowRunInfo{}, fmt.Errorf("POST /flow_runs/filter by flow %s (%q): got %d runs %+v, want exactly one", flows[0].ID, name, len(runs), runs)
	}
	if runs[0].FlowID != flows[0].ID {
		return flowRunInfo{}, fmt.Errorf("flow run %s has flow_id %q, want %s (%q)", runs[0].ID, runs[0].FlowID, flows[0].ID, name)
	}
	return runs[0], nil
}

func onlyFlowRun(t *testing.T, api *apiClient, name string) flowRunInfo {
	t.Helper()
	run, err := findOnlyFlowRun(t.Context(), api, name)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// stateTypes returns the types of states listed by GET /flow_run_states/ or
// /task_run_states/, and an error if they are not in timestamp order, as
// Prefect lists them.
func stateTypes(states []stateInfo) ([]string, error) {
	types := make([]string, len(states))
	var prev time.Time
	var orderErr error
	for i, s := range states {
		types[i] = s.Type
		ts, err := time.Parse(time.RFC3339Nano, s.Timestamp)
		if err != nil {
			orderErr = cmp.Or(orderErr, fmt.Errorf("state %s (%s) has timestamp %q: %v", s.ID, s.Type, s.Timestamp, err))
			continue
		}
		if ts.Before(prev) {
			orderErr = cmp.Or(orderErr, fmt.Errorf("states are not in timestamp order: %s (%s) at %s comes after %s",
				s.ID, s.Type, s.Timestamp, prev.Format(time.RFC3339Nano)))
		}
		prev = ts
	}
	return types, orderErr
}

// logWait is how long findLog and settledTaskRuns wait for what the client
// ships in the background.
const logWait = 60 * time.Second

// findLog waits until the logs of a flow run include one with the given level
// and message (the client ships logs in the background) and returns it.
func findLog(ctx context.Context, api *apiClient, flowRunID string, level int, message string) (map[string]any, error) {
	var found map[string]any
	// Logs reach the server in the client's batches, late on a loaded
	// machine: the wait is long, and ends as soon as the log is there.
	ok, status := poll(ctx, logWait, func(ctx context.Context) (bool, string) {
		var raw []json.RawMessage
		body := obj{"logs": obj{"flow_run_id": anyOf(flowRunID)}}
		if err := api.call(ctx, "POST", "/logs/filter", body, &raw); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, r := range raw {
			var l logInfo
			if err := json.Unmarshal(r, &l); err != nil {
				return false, fmt.Sprintf("undecodable log %s: %v", r, err)
			}
			if l.Level == level && l.Message == message && l.FlowRunID == flowRunID {
				if err := json.Unmarshal(r, &found); err != nil {
					return false, fmt.Sprintf("undecodable log %s: %v", r, err)
				}
				return true, ""
			}
			seen = append(seen, fmt.Sprintf("{level %d, flow_run_id %s, %q}", l.Level, l.FlowRunID, l.Message))
		}
		return false, fmt.Sprintf("%d logs: %s", len(raw), strings.Join(seen, ", "))
	})
	if !ok {
		return nil, fmt.Errorf("POST /logs/filter: no level-%d log %q on flow run %s after %s; last seen: %s", level, message, flowRunID, logWait, status)
	}
	return found, nil
}
