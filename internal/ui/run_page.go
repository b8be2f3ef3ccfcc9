package ui

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/rungraph"
	"github.com/praetorhq/praetor/internal/store"
)

// The flow run page: what the Prefect client's "View at …/runs/flow-run/<id>"
// link opens. Its changing sections (header, task runs with the Radar,
// logs, artifacts) are live fragments, each served alone under
// …/runs/flow-run/{id}/live/{part} and refreshed in place until the run is
// finished and settled.

// Limits of what one page shows.
const (
	maxTaskRows    = 1000
	maxLogLines    = 1000
	maxArtifacts   = 100
	maxSubflowRows = 200
)

// runHeader is the live summary of a flow run.
type runHeader struct {
	Final      bool
	Name       string
	State      stateView
	Message    string
	Flow       string
	FlowURL    string
	ParentURL  string // the parent flow run, for a subflow
	Parent     string
	Expected   *model.Time
	Next       *model.Time
	Start, End *model.Time
	Duration   string
	RunCount   int
	Tags       []string
	Deployment string
	// DeploymentURL links the deployment's page while it exists.
	DeploymentURL string
	States        []stateRow
}

// taskRow is a task run in a table.
type taskRow struct {
	ID       uuid.UUID
	Name     string
	URL      string
	State    stateView
	RunCount int
	Start    *model.Time
	Duration string
	Subflow  string // the child flow run's URL, for a subflow's task run
}

// runTasks is the live task-run section: the Radar, the table, subflows.
type runTasks struct {
	Final    bool
	Rows     []taskRow
	Total    int
	Radar    radarView
	Subflows []runRow
	// Lost is set for an ended run with logs of task runs it lacks.
	Lost *lostTaskRuns
}

// lostTaskRuns explains a run whose task runs never arrived: the Prefect
// client reports them as events on a websocket, and outside Cloud mode
// (PREFECT_API_URL and PREFECT_API_KEY set by hand) it sends no key there,
// so Praetor refuses the stream while the rest of the run, sent over
// HTTP, is stored.
type lostTaskRuns struct {
	APIURL      string // this server's /api, the PREFECT_CLOUD_API_URL to set
	SettingsURL string // the workspace's settings page, with the commands
}

// logLine is one log line.
type logLine struct {
	Time    *model.Time
	Level   string
	Class   string
	Logger  string
	Message string
	Task    string // the task run's name, when the line is a task's
	TaskURL string
}

// runLogs is the live log section.
type runLogs struct {
	Final     bool
	Lines     []logLine
	Truncated bool
	Level     int
}

// artifactView is one artifact.
type artifactView struct {
	Key         string
	Type        string
	Description string
	Body        string
	Link        string // for link artifacts
	Created     *model.Time
}

// runArtifacts is the live artifact section.
type runArtifacts struct {
	Final bool
	Items []artifactView
}

// flowRunPage is the data of the flow run page.
type flowRunPage struct {
	Base         string
	ID           string
	LiveURL      string // prefix of the fragment URLs
	Header       runHeader
	Tasks        runTasks
	Logs         runLogs
	Artifacts    runArtifacts
	Parameters   string
	LevelOptions []option
	// ShowLogs: the role may read logs (readLog); without it the page has
	// no logs section.
	ShowLogs bool
}

// readLog is what the logs of a run page need beyond reading the run, as
// the API's log routes need it.
const readLog auth.Permission = "read:log"

// logLevels are the choices of the log level filter.
var logLevels = []struct {
	Level int
	Name  string
}{{0, "All levels"}, {10, "Debug and above"}, {20, "Info and above"}, {30, "Warning and above"}, {40, "Error and above"}, {50, "Critical"}}

// parseLevel reads the ?level= filter: a number or a level name.
func parseLevel(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n
	}
	switch s {
	case "DEBUG", "debug":
		return 10
	case "INFO", "info":
		return 20
	case "WARNING", "warning":
		return 30
	case "ERROR", "error":
		return 40
	case "CRITICAL", "critical":
		return 50
	}
	return 0
}

func levelOptions(level int) []option {
	opts := make([]option, 0, len(logLevels))
	for _, l := range logLevels {
		opts = append(opts, option{Value: strconv.Itoa(l.Level), Label: l.Name, Selected: l.Level == level})
	}
	return opts
}

// flowRunOf reads the flow run named by the path.
func (u *UI) flowRunOf(q *request) (*model.FlowRun, error) {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return nil, errNotFound()
	}
	return u.Store.GetFlowRun(q.ctx(), q.Workspace.ID, id)
}

func (u *UI) flowRunPage(q *request) error {
	run, err := u.flowRunOf(q)
	if err != nil {
		return err
	}
	level := parseLevel(q.r.URL.Query().Get("level"))
	base := WorkspaceURL(q.Workspace)
	p := flowRunPage{Base: base, ID: run.ID.String(), LiveURL: base + "/runs/flow-run/" + run.ID.String() + "/live",
		Parameters: prettyJSON(run.Parameters), LevelOptions: levelOptions(level), ShowLogs: auth.Can(q.Role, readLog)}
	now := u.Clock.Now()
	if p.Header, err = u.runHeaderOf(q, run, now); err != nil {
		return err
	}
	if p.Tasks, err = u.runTasksOf(q, run, now); err != nil {
		return err
	}
	if p.ShowLogs {
		if p.Logs, err = u.logsOf(q, store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}}, level, &run.RunTracking, now); err != nil {
			return err
		}
	}
	if p.Artifacts, err = u.artifactsOf(q, run, now); err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "run.html", p)
}

// flowRunLive serves one live fragment of the flow run page.
func (u *UI) flowRunLive(q *request) error {
	run, err := u.flowRunOf(q)
	if err != nil {
		return err
	}
	now := u.Clock.Now()
	var data any
	part := q.r.PathValue("part")
	switch part {
	case "header":
		data, err = u.runHeaderOf(q, run, now)
	case "tasks":
		data, err = u.runTasksOf(q, run, now)
	case "logs":
		if !auth.Can(q.Role, readLog) {
			return errNotFound()
		}
		data, err = u.logsOf(q, store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}},
			parseLevel(q.r.URL.Query().Get("level")), &run.RunTracking, now)
	case "artifacts":
		data, err = u.artifactsOf(q, run, now)
	default:
		return errNotFound()
	}
	if err != nil {
		return err
	}
	return u.renderPartial(q, "run.html", "run-"+part, data)
}

func (u *UI) runHeaderOf(q *request, run *model.FlowRun, now time.Time) (runHeader, error) {
	base := WorkspaceURL(q.Workspace)
	h := runHeader{Final: settled(&run.RunTracking, now), Name: run.Name, State: stateOf(run.StateType, run.StateName),
		FlowURL: base + "/flows/flow/" + run.FlowID.String(), Expected: run.ExpectedStartTime, Next: run.NextScheduledStartTime,
		Start: run.StartTime, End: run.EndTime, Duration: runDuration(&run.RunTracking), RunCount: run.RunCount, Tags: run.Tags}
	if run.State != nil {
		h.Message = derefString(run.State.Message)
	}
	if run.DeploymentID != nil {
		h.Deployment = run.DeploymentID.String()
		h.DeploymentURL = base + "/deployments/deployment/" + h.Deployment
		switch d, err := u.Store.GetDeployment(q.ctx(), q.Workspace.ID, *run.DeploymentID); {
		case err == nil:
			h.Deployment = d.Name
		case apperr.IsNotFound(err):
			h.DeploymentURL = "" // deleted: its id, unlinked
		default:
			return h, err
		}
	}
	flow, err := u.Store.GetFlow(q.ctx(), q.Workspace.ID, run.FlowID)
	switch {
	case err == nil:
		h.Flow = flow.Name
	case !apperr.IsNotFound(err):
		return h, err
	}
	if run.ParentTaskRunID != nil {
		parent, err := u.Store.GetTaskRun(q.ctx(), q.Workspace.ID, *run.ParentTaskRunID)
		switch {
		case err == nil && parent.FlowRunID != nil:
			h.ParentURL = base + "/runs/flow-run/" + parent.FlowRunID.String()
			h.Parent = parent.FlowRunID.String()
			if pr, err := u.Store.GetFlowRun(q.ctx(), q.Workspace.ID, *parent.FlowRunID); err == nil {
				h.Parent = pr.Name
			}
		case err != nil && !apperr.IsNotFound(err):
			return h, err
		}
	}
	states, err := u.Store.ListFlowRunStates(q.ctx(), q.Workspace.ID, run.ID)
	if err != nil {
		return h, err
	}
	h.States = stateRows(states)
	return h, nil
}

func (u *UI) runTasksOf(q *request, run *model.FlowRun, now time.Time) (runTasks, error) {
	base := WorkspaceURL(q.Workspace)
	t := runTasks{Final: settled(&run.RunTracking, now)}
	runs, err := rungraph.TaskRuns(q.ctx(), u.Store, q.Workspace.ID, run.ID, maxTaskRows)
	if err != nil {
		return t, err
	}
	t.Total = len(runs)
	// Checked once the run has ended, not only once it has settled, so the
	// page says so at once; the live refresh, which goes on until the run
	// settles, takes the notice back should the task runs still arrive.
	// The notice is read from the run's logs.
	if run.StateType != nil && run.StateType.Terminal() && len(runs) < maxTaskRows && auth.Can(q.Role, readLog) {
		if t.Lost, err = u.lostTaskRuns(q, run, runs); err != nil {
			return t, err
		}
	}
	if len(runs) == maxTaskRows {
		if t.Total, err = u.Store.CountTaskRuns(q.ctx(), q.Workspace.ID, store.RunQuery{
			TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: []uuid.UUID{run.ID}}}}); err != nil {
			return t, err
		}
	}
	// Subflow runs: flow runs whose parent task run is one of this run's.
	// Ordered by id (creation), which no index offers, so the database
	// finds them through the (workspace, parent task run) index rather
	// than by reading every run in expected-start order; oldest first.
	subs, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, store.RunQuery{
		FlowRuns: &store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}},
		Sort:     "ID_DESC", Limit: maxSubflowRows})
	if err != nil {
		return t, err
	}
	slices.Reverse(subs)
	if t.Subflows, err = u.runRows(q, subs); err != nil {
		return t, err
	}
	subflows := map[uuid.UUID]uuid.UUID{} // child flow run → parent task run
	childOf := map[uuid.UUID]uuid.UUID{}  // parent task run → child flow run
	for _, s := range subs {
		if s.ParentTaskRunID != nil {
			subflows[s.ID] = *s.ParentTaskRunID
			childOf[*s.ParentTaskRunID] = s.ID
		}
	}
	taskURL := func(id uuid.UUID) string { return base + "/runs/task-run/" + id.String() }
	for _, r := range runs {
		row := taskRow{ID: r.ID, Name: r.Name, URL: taskURL(r.ID), State: stateOf(r.StateType, r.StateName),
			RunCount: r.RunCount, Start: r.StartTime, Duration: runDuration(&r.RunTracking)}
		if child, ok := childOf[r.ID]; ok {
			row.Subflow = base + "/runs/flow-run/" + child.String()
		}
		t.Rows = append(t.Rows, row)
	}
	t.Radar = radarFor(runs, t.Total, subflows, taskURL)
	return t, nil
}

// maxLostProbe bounds the task-run log lines read to find lost task runs.
const maxLostProbe = 200

// lostTaskRuns returns the explanation for a run whose logs come from task
// runs it does not have (their log lines link to pages that do not
// exist), or nil; have is every task run of the run.
func (u *UI) lostTaskRuns(q *request, run *model.FlowRun, have []*model.TaskRun) (*lostTaskRuns, error) {
	notNull := false
	logs, err := u.Store.ListLogs(q.ctx(), q.Workspace.ID, store.LogQuery{Limit: maxLostProbe, Logs: &store.LogFilter{
		FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}, TaskRunID: &store.NullableIDFilter{IsNull: &notNull}}})
	if err != nil {
		return nil, err
	}
	known := make(map[uuid.UUID]bool, len(have))
	for _, tr := range have {
		known[tr.ID] = true
	}
	for _, l := range logs {
		if !known[*l.TaskRunID] {
			return &lostTaskRuns{APIURL: httpx.BaseURL(q.r) + "/api", SettingsURL: WorkspaceURL(q.Workspace) + "/settings"}, nil
		}
	}
	return nil, nil
}

// logsOf reads the newest log lines matching f at level or above, oldest
// first; rt is the run they belong to, whose end stops the polling.
func (u *UI) logsOf(q *request, f store.LogFilter, level int, rt *model.RunTracking, now time.Time) (runLogs, error) {
	l := runLogs{Final: settled(rt, now), Level: level}
	if level > 0 {
		ge := level
		f.Level = &struct {
			GE *int `json:"ge_"`
			LE *int `json:"le_"`
		}{GE: &ge}
	}
	logs, err := u.Store.ListLogs(q.ctx(), q.Workspace.ID, store.LogQuery{Logs: &f, Sort: "TIMESTAMP_DESC", Limit: maxLogLines + 1})
	if err != nil {
		return l, err
	}
	if len(logs) > maxLogLines {
		logs, l.Truncated = logs[:maxLogLines], true
	}
	slices.Reverse(logs)
	// Name the task runs the lines come from.
	var ids []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, lg := range logs {
		if lg.TaskRunID != nil && !seen[*lg.TaskRunID] {
			seen[*lg.TaskRunID] = true
			ids = append(ids, *lg.TaskRunID)
		}
	}
	names := map[uuid.UUID]string{}
	if len(ids) > 0 && f.TaskRunID == nil {
		trs, err := u.Store.ListTaskRuns(q.ctx(), q.Workspace.ID, store.RunQuery{TaskRuns: &store.TaskRunFilter{ID: &store.IDFilter{Any: ids}}, Limit: len(ids)})
		if err != nil {
			return l, err
		}
		for _, tr := range trs {
			names[tr.ID] = tr.Name
		}
	}
	base := WorkspaceURL(q.Workspace)
	for _, lg := range logs {
		name := levelName(lg.Level)
		line := logLine{Time: lg.Timestamp.Ptr(), Level: name, Class: "log-" + toLowerASCII(name), Logger: lg.Name, Message: lg.Message}
		if lg.TaskRunID != nil && f.TaskRunID == nil {
			line.Task, line.TaskURL = names[*lg.TaskRunID], base+"/runs/task-run/"+lg.TaskRunID.String()
		}
		l.Lines = append(l.Lines, line)
	}
	return l, nil
}

func toLowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (u *UI) artifactsOf(q *request, run *model.FlowRun, now time.Time) (runArtifacts, error) {
	a := runArtifacts{Final: settled(&run.RunTracking, now)}
	list, err := u.Store.ListArtifacts(q.ctx(), q.Workspace.ID, store.ArtifactQuery{
		Artifacts: &store.ArtifactFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}}, Sort: "CREATED_DESC", Limit: maxArtifacts}, false)
	if err != nil {
		return a, err
	}
	for _, art := range list {
		v := artifactView{Key: derefString(art.Key), Type: derefString(art.Type), Description: derefString(art.Description), Created: art.Created.Ptr()}
		body := artifactBody(art.Data)
		if v.Type == "link" && isWebURL(body) {
			v.Link = body
		} else {
			v.Body = body
		}
		a.Items = append(a.Items, v)
	}
	return a, nil
}

// artifactBody renders artifact data as text: strings (markdown, links)
// as they are, anything else as indented JSON.
func artifactBody(data any) string {
	var raw []byte
	switch d := data.(type) {
	case nil:
		return ""
	case []byte:
		raw = d
	case interface{ MarshalJSON() ([]byte, error) }:
		b, err := d.MarshalJSON()
		if err != nil {
			return ""
		}
		raw = b
	default:
		return prettyJSON(d)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	if s, ok := v.(string); ok {
		return s
	}
	return prettyJSON(v)
}

func isWebURL(s string) bool {
	return len(s) < 2048 && (hasPrefixFold(s, "https://") || hasPrefixFold(s, "http://"))
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && toLowerASCII(s[:len(p)]) == p
}
