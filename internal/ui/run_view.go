package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// View models shared by the run pages: the templates get plain, already
// formatted values, so they need no logic beyond loops and conditions.

// stateView is a state badge.
type stateView struct {
	Type  model.StateType
	Name  string
	Class string
}

func stateOf(t *model.StateType, name *string) stateView {
	if t == nil {
		return stateView{Name: "No state", Class: "state-none"}
	}
	n := derefString(name)
	if n == "" {
		n = t.DefaultName()
	}
	return stateView{Type: *t, Name: n, Class: stateClass(*t)}
}

// stateRow is one entry of a run's state history.
type stateRow struct {
	State   stateView
	Time    *model.Time
	Message string
}

func stateRows(states []*model.State) []stateRow {
	rows := make([]stateRow, 0, len(states))
	for _, s := range states {
		t, name := s.Type, s.Name
		rows = append(rows, stateRow{State: stateOf(&t, &name), Time: s.Timestamp.Ptr(), Message: derefString(s.Message)})
	}
	return rows
}

// runRow is a flow run in a table.
type runRow struct {
	ID       uuid.UUID
	Name     string
	URL      string
	Flow     string
	FlowURL  string
	State    stateView
	Expected *model.Time
	Start    *model.Time
	End      *model.Time
	Duration string
	Tags     []string
}

// runDuration is how long a run has run: its total, or, while it runs, the
// estimate that includes the current stretch.
func runDuration(rt *model.RunTracking) string {
	secs := rt.TotalRunTime
	if rt.EstimatedRunTime > secs {
		secs = rt.EstimatedRunTime
	}
	if secs == 0 && rt.StartTime == nil {
		return "—"
	}
	return duration(secs)
}

// flowNames reads the names of the flows of runs, in one query.
func (u *UI) flowNames(q *request, runs []*model.FlowRun) (map[uuid.UUID]string, error) {
	ids := []uuid.UUID{}
	seen := map[uuid.UUID]bool{}
	for _, r := range runs {
		if !seen[r.FlowID] {
			seen[r.FlowID] = true
			ids = append(ids, r.FlowID)
		}
	}
	names := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return names, nil
	}
	flows, err := u.Store.ListFlows(q.ctx(), q.Workspace.ID, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids}}, Limit: len(ids)})
	if err != nil {
		return nil, err
	}
	for _, f := range flows {
		names[f.ID] = f.Name
	}
	return names, nil
}

// runRows turns flow runs into table rows, with their flows' names.
func (u *UI) runRows(q *request, runs []*model.FlowRun) ([]runRow, error) {
	names, err := u.flowNames(q, runs)
	if err != nil {
		return nil, err
	}
	base := WorkspaceURL(q.Workspace)
	rows := make([]runRow, 0, len(runs))
	for _, r := range runs {
		rows = append(rows, runRow{ID: r.ID, Name: r.Name, URL: base + "/runs/flow-run/" + r.ID.String(),
			Flow: names[r.FlowID], FlowURL: base + "/flows/flow/" + r.FlowID.String(),
			State: stateOf(r.StateType, r.StateName), Expected: r.ExpectedStartTime, Start: r.StartTime, End: r.EndTime,
			Duration: runDuration(&r.RunTracking), Tags: r.Tags})
	}
	return rows, nil
}

// settleAfter is how long a finished run's page keeps polling: clients
// ship their last logs and task-run events just after the final state.
const settleAfter = 30 * time.Second

// settled reports whether a run is finished and its late arrivals are in,
// so its live fragments can stop polling.
func settled(rt *model.RunTracking, now time.Time) bool {
	if rt.StateType == nil || !rt.StateType.Terminal() || rt.StateTimestamp == nil {
		return false
	}
	return now.Sub(rt.StateTimestamp.Time) > settleAfter
}

// prettyJSON indents a value for display.
func prettyJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

// option is a choice in a select or a set of checkboxes.
type option struct {
	Value, Label string
	Selected     bool
}

// stateNameFilter adds a filter on state names to f (a new one when nil).
func stateNameFilter(f *store.StateFilter, names ...string) *store.StateFilter {
	if f == nil {
		f = &store.StateFilter{}
	}
	f.Name = &struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	}{Any: names}
	return f
}

// firstRun is the data of the hint a workspace without flow runs shows.
type firstRun struct {
	Commands    loginCommands
	SettingsURL string
}

func (u *UI) firstRunHint(q *request) *firstRun {
	return &firstRun{Commands: newLoginCommands(httpx.BaseURL(q.r), q.Workspace), SettingsURL: WorkspaceURL(q.Workspace) + "/settings"}
}

// hasFlowRuns reports whether the workspace has any flow run; it reads at
// most one row.
func (u *UI) hasFlowRuns(q *request) (bool, error) {
	runs, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, store.RunQuery{Limit: 1})
	if err != nil {
		return false, fmt.Errorf("any flow run: %w", err)
	}
	return len(runs) > 0, nil
}
