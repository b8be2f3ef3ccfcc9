package ui

import (
	"net/http"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The task run page: state history, inputs, timing and logs of one task
// run, with a link back to its flow run (and, for a subflow's task run, to
// the subflow). Its header and logs are live fragments.

// taskHeader is the live summary of a task run.
type taskHeader struct {
	Final           bool
	Name            string
	State           stateView
	Message         string
	FlowRun         string
	FlowRunURL      string
	Subflow         string
	SubflowURL      string
	Expected        *model.Time
	Start, End      *model.Time
	Duration        string
	RunCount        int
	FlowRunRunCount int
	MaxRetries      int
	TaskKey         string
	DynamicKey      string
	CacheKey        string
	Tags            []string
	Inputs          []inputRow
	States          []stateRow
}

// inputRow is one parameter of a task run's task_inputs.
type inputRow struct {
	Param string
	Items []inputItem
}

// inputItem is one reference in a parameter: an upstream run, a
// parameter, a constant.
type inputItem struct {
	Type  string
	Label string
	URL   string
}

// taskRunPage is the data of the task run page.
type taskRunPage struct {
	Base         string
	LiveURL      string
	PollMS       int
	Header       taskHeader
	Logs         runLogs
	LevelOptions []option
	ShowLogs     bool   // as on the flow run page
	Tab          string // none: the page has no tabs
}

func (u *UI) taskRunOf(q *request) (*model.TaskRun, error) {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return nil, errNotFound()
	}
	return u.Store.GetTaskRun(q.ctx(), q.Workspace.ID, id)
}

func (u *UI) taskRunPage(q *request) error {
	tr, err := u.taskRunOf(q)
	if err != nil {
		return err
	}
	level := parseLevel(q.r.URL.Query().Get("level"))
	base := WorkspaceURL(q.Workspace)
	p := taskRunPage{Base: base, LiveURL: base + "/runs/task-run/" + tr.ID.String() + "/live", PollMS: u.pollMS(), LevelOptions: levelOptions(level),
		ShowLogs: auth.Can(q.Role, readLog)}
	now := u.Clock.Now()
	if p.Header, err = u.taskHeaderOf(q, tr, now); err != nil {
		return err
	}
	if p.ShowLogs {
		if p.Logs, err = u.logsOf(q, taskLogFilter(tr), level, nil, nil, &tr.RunTracking, now); err != nil {
			return err
		}
	}
	return u.render(q, http.StatusOK, "task_run.html", p)
}

// taskRunLive serves one live fragment of the task run page.
func (u *UI) taskRunLive(q *request) error {
	tr, err := u.taskRunOf(q)
	if err != nil {
		return err
	}
	now := u.Clock.Now()
	switch q.r.PathValue("part") {
	case "header":
		h, err := u.taskHeaderOf(q, tr, now)
		if err != nil {
			return err
		}
		return u.renderPartial(q, "task_run.html", "task-header", h)
	case "logs":
		if !auth.Can(q.Role, readLog) {
			return errNotFound()
		}
		after, tail, err := logCursorOf(q)
		if err != nil {
			return err
		}
		l, err := u.logsOf(q, taskLogFilter(tr), parseLevel(q.r.URL.Query().Get("level")), after, nil, &tr.RunTracking, now)
		if err != nil {
			return err
		}
		if tail {
			return u.renderPartial(q, "run.html", "run-logs-tail", l)
		}
		return u.renderPartial(q, "run.html", "run-logs", l)
	}
	return errNotFound()
}

// taskLogFilter selects a task run's logs; naming its flow run too lets
// the database use the (flow_run_id, timestamp) index.
func taskLogFilter(tr *model.TaskRun) store.LogFilter {
	f := store.LogFilter{TaskRunID: &store.NullableIDFilter{Any: []uuid.UUID{tr.ID}}}
	if tr.FlowRunID != nil {
		f.FlowRunID = &store.IDFilter{Any: []uuid.UUID{*tr.FlowRunID}}
	}
	return f
}

func (u *UI) taskHeaderOf(q *request, tr *model.TaskRun, now time.Time) (taskHeader, error) {
	base := WorkspaceURL(q.Workspace)
	h := taskHeader{Final: settled(&tr.RunTracking, now), Name: tr.Name, State: stateOf(tr.StateType, tr.StateName),
		Expected: tr.ExpectedStartTime, Start: tr.StartTime, End: tr.EndTime, Duration: runDuration(&tr.RunTracking),
		RunCount: tr.RunCount, FlowRunRunCount: tr.FlowRunRunCount, MaxRetries: tr.EmpiricalPolicy.MaxRetries,
		TaskKey: tr.TaskKey, DynamicKey: tr.DynamicKey, CacheKey: derefString(tr.CacheKey), Tags: tr.Tags}
	if tr.EmpiricalPolicy.Retries != nil {
		h.MaxRetries = *tr.EmpiricalPolicy.Retries
	}
	if tr.State != nil {
		h.Message = derefString(tr.State.Message)
	}
	if tr.FlowRunID != nil {
		h.FlowRunURL = base + "/runs/flow-run/" + tr.FlowRunID.String()
		h.FlowRun = tr.FlowRunID.String()
		fr, err := u.Store.GetFlowRun(q.ctx(), q.Workspace.ID, *tr.FlowRunID)
		switch {
		case err == nil:
			h.FlowRun = fr.Name
		case !apperr.IsNotFound(err):
			return h, err
		}
	}
	subs, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, store.RunQuery{
		FlowRuns: &store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{Any: []uuid.UUID{tr.ID}}}, Limit: 1})
	if err != nil {
		return h, err
	}
	if len(subs) > 0 {
		h.Subflow, h.SubflowURL = subs[0].Name, base+"/runs/flow-run/"+subs[0].ID.String()
	}
	if h.Inputs, err = u.inputRows(q, tr); err != nil {
		return h, err
	}
	states, err := u.Store.ListTaskRunStates(q.ctx(), q.Workspace.ID, tr.ID)
	if err != nil {
		return h, err
	}
	h.States = stateRows(states)
	return h, nil
}

// inputRows lists a task run's inputs by parameter, naming the upstream
// task runs they reference.
func (u *UI) inputRows(q *request, tr *model.TaskRun) ([]inputRow, error) {
	base := WorkspaceURL(q.Workspace)
	params := make([]string, 0, len(tr.TaskInputs))
	var ids []uuid.UUID
	for p, ins := range tr.TaskInputs {
		params = append(params, p)
		for _, in := range ins {
			if in.InputType == "task_run" && in.ID != nil {
				ids = append(ids, *in.ID)
			}
		}
	}
	sort.Strings(params)
	names := map[uuid.UUID]string{}
	if len(ids) > 0 {
		ups, err := u.Store.ListTaskRuns(q.ctx(), q.Workspace.ID, store.RunQuery{TaskRuns: &store.TaskRunFilter{ID: &store.IDFilter{Any: ids}}, Limit: len(ids)})
		if err != nil {
			return nil, err
		}
		for _, up := range ups {
			names[up.ID] = up.Name
		}
	}
	rows := make([]inputRow, 0, len(params))
	for _, p := range params {
		row := inputRow{Param: p}
		for _, in := range tr.TaskInputs[p] {
			it := inputItem{Type: in.InputType}
			switch {
			case in.InputType == "task_run" && in.ID != nil:
				it.Label, it.URL = names[*in.ID], base+"/runs/task-run/"+in.ID.String()
				if it.Label == "" {
					it.Label = in.ID.String()
				}
			case in.InputType == "flow_run" && in.ID != nil:
				it.Label, it.URL = in.ID.String(), base+"/runs/flow-run/"+in.ID.String()
			case in.Name != nil:
				it.Label = *in.Name
			case in.Type != nil:
				it.Label = *in.Type
			}
			row.Items = append(row.Items, it)
		}
		rows = append(rows, row)
	}
	return rows, nil
}
