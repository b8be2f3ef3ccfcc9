package ui

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
// link opens. The header and the timeline sit on top; below them, tabs
// (links with ?tab=, so they work without a script) hold the logs, task
// runs, subflows, artifacts, the Radar, details and parameters, and only
// the active tab's data is read. Its changing sections are live fragments,
// each served alone under …/runs/flow-run/{id}/live/{part} and refreshed in
// place until the run is finished and settled; the logs are tailed: the
// page asks only for the lines after the last one it shows.

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
	// ResumeURL is the Resume form of a paused run, for those who may
	// resume it.
	ResumeURL string
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

// runTasks is the live task-run section: the timeline, the tabs with their
// counts, and the active tab when it draws task runs (the table, the
// subflows, the Radar).
type runTasks struct {
	Final    bool
	Tab      string
	Tabs     []runTab
	Timeline timelineView
	Rows     []taskRow
	Total    int
	Radar    radarView
	Subflows []runRow
	// Lost is set for an ended run with logs of task runs it lacks.
	Lost *lostTaskRuns
	// names of the task runs read, so the logs need not read them again.
	names map[uuid.UUID]string
}

// runTab is one tab of the flow run page.
type runTab struct {
	ID, Label string
	Count     string // "" when the tab shows no count
	Current   bool
}

// The tabs of the flow run page, in order; the first the role may see is
// the default.
var flowRunTabs = []struct{ ID, Label string }{
	{"logs", "Logs"}, {"task-runs", "Task runs"}, {"subflows", "Subflow runs"}, {"artifacts", "Artifacts"},
	{"radar", "Radar"}, {"details", "Details"}, {"parameters", "Parameters"},
}

// runTabOf reads ?tab=, falling back to the default tab.
func runTabOf(q *request) string {
	t := q.r.URL.Query().Get("tab")
	for _, tab := range flowRunTabs {
		if tab.ID == t && (t != "logs" || auth.Can(q.Role, readLog)) {
			return t
		}
	}
	if auth.Can(q.Role, readLog) {
		return "logs"
	}
	return "task-runs"
}

// countLabel renders a count read with a cap: "200+" when it hit it.
func countLabel(n, limit int) string {
	if n >= limit {
		return strconv.Itoa(limit) + "+"
	}
	return strconv.Itoa(n)
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
	Cursor  string // the line's place, for asking for the lines after it
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

// runDetails is the Details tab: what identifies the run and where it ran.
type runDetails struct {
	ID, FlowID, FlowVersion, Deployment string
	WorkPool, WorkQueue, WorkPoolURL    string
	Worker                              string // the prefect.worker.name label its worker set
	IdempotencyKey, InfrastructurePID   string
	Created, Updated                    *model.Time
	MaxRetries                          int
	RetryDelay                          string
}

// flowRunPage is the data of the flow run page.
type flowRunPage struct {
	Base         string
	ID           string
	LiveURL      string // prefix of the fragment URLs
	PollMS       int    // how often the live fragments refresh
	Tab          string
	Header       runHeader
	Tasks        runTasks
	Logs         runLogs
	Artifacts    runArtifacts
	Details      runDetails
	Parameters   string
	LevelOptions []option
	// ShowLogs: the role may read logs (readLog); without it the page has
	// no logs tab.
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
		PollMS: u.pollMS(), Tab: runTabOf(q), LevelOptions: levelOptions(level), ShowLogs: auth.Can(q.Role, readLog)}
	now := u.Clock.Now()
	if p.Header, err = u.runHeaderOf(q, run, now); err != nil {
		return err
	}
	if p.Tasks, err = u.runTasksOf(q, run, p.Tab, now); err != nil {
		return err
	}
	switch p.Tab {
	case "logs":
		p.Logs, err = u.logsOf(q, store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}}, level, nil, p.Tasks.names, &run.RunTracking, now)
	case "artifacts":
		p.Artifacts, err = u.artifactsOf(q, run, now)
	case "details":
		p.Details = detailsOf(q.Workspace, run)
	case "parameters":
		p.Parameters = prettyJSON(run.Parameters)
	}
	if err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "run.html", p)
}

func detailsOf(ws *model.Workspace, run *model.FlowRun) runDetails {
	d := runDetails{ID: run.ID.String(), FlowID: run.FlowID.String(), FlowVersion: derefString(run.FlowVersion),
		WorkPool: derefString(run.WorkPoolName), WorkQueue: derefString(run.WorkQueueName), IdempotencyKey: derefString(run.IdempotencyKey),
		InfrastructurePID: derefString(run.InfrastructurePID), Created: run.Created.Ptr(), Updated: run.Updated.Ptr(),
		MaxRetries: run.EmpiricalPolicy.MaxRetries}
	if run.EmpiricalPolicy.Retries != nil {
		d.MaxRetries = *run.EmpiricalPolicy.Retries
	}
	if d.WorkPool != "" {
		d.WorkPoolURL = workPoolURL(ws, d.WorkPool)
	}
	d.Worker, _ = run.Labels["prefect.worker.name"].(string)
	if run.DeploymentID != nil {
		d.Deployment = run.DeploymentID.String()
	}
	if run.EmpiricalPolicy.RetryDelaySeconds > 0 {
		d.RetryDelay = duration(run.EmpiricalPolicy.RetryDelaySeconds)
	}
	return d
}

// pollMS is the live fragments' refresh interval, in milliseconds.
func (u *UI) pollMS() int {
	if u.PollInterval > 0 {
		return int(u.PollInterval.Milliseconds())
	}
	return 2000
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
		data, err = u.runTasksOf(q, run, runTabOf(q), now)
	case "logs":
		if !auth.Can(q.Role, readLog) {
			return errNotFound()
		}
		after, tail, perr := logCursorOf(q)
		if perr != nil {
			return perr
		}
		data, err = u.logsOf(q, store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}},
			parseLevel(q.r.URL.Query().Get("level")), after, nil, &run.RunTracking, now)
		if err == nil && tail {
			part = "logs-tail"
		}
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
		if run.State.Type == model.Paused && auth.Can(q.Role, updateFlowRun) {
			h.ResumeURL = base + "/runs/flow-run/" + run.ID.String() + "/resume"
		}
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

func (u *UI) runTasksOf(q *request, run *model.FlowRun, tab string, now time.Time) (runTasks, error) {
	base := WorkspaceURL(q.Workspace)
	t := runTasks{Final: settled(&run.RunTracking, now), Tab: tab}
	runs, err := rungraph.TaskRuns(q.ctx(), u.Store, q.Workspace.ID, run.ID, maxTaskRows)
	if err != nil {
		return t, err
	}
	t.Total = len(runs)
	t.names = make(map[uuid.UUID]string, len(runs))
	for _, r := range runs {
		t.names[r.ID] = r.Name
	}
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
	switch tab {
	case "task-runs":
		for _, r := range runs {
			row := taskRow{ID: r.ID, Name: r.Name, URL: taskURL(r.ID), State: stateOf(r.StateType, r.StateName),
				RunCount: r.RunCount, Start: r.StartTime, Duration: runDuration(&r.RunTracking)}
			if child, ok := childOf[r.ID]; ok {
				row.Subflow = base + "/runs/flow-run/" + child.String()
			}
			t.Rows = append(t.Rows, row)
		}
	case "radar":
		t.Radar = radarFor(runs, t.Total, subflows, taskURL)
	}
	if t.Timeline, err = u.timelineOf(q, runs, t.Total, subflows, now); err != nil {
		return t, err
	}
	artifacts, err := u.Store.CountArtifacts(q.ctx(), q.Workspace.ID, store.ArtifactQuery{
		Artifacts: &store.ArtifactFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run.ID}}}}, false)
	if err != nil {
		return t, err
	}
	counts := map[string]string{"task-runs": strconv.Itoa(t.Total), "subflows": countLabel(len(subs), maxSubflowRows), "artifacts": strconv.Itoa(artifacts)}
	for _, tb := range flowRunTabs {
		if tb.ID == "logs" && !auth.Can(q.Role, readLog) {
			continue
		}
		t.Tabs = append(t.Tabs, runTab{ID: tb.ID, Label: tb.Label, Count: counts[tb.ID], Current: tb.ID == tab})
	}
	return t, nil
}

// timelineOf draws runs (of total) on the timeline, reading the state
// histories of the runs that get a row of their own in one query.
func (u *UI) timelineOf(q *request, runs []*model.TaskRun, total int, subflows map[uuid.UUID]uuid.UUID, now time.Time) (timelineView, error) {
	rows, grouped := timelineRows(runs)
	hidden := 0
	if len(rows) > timelineMaxRows {
		hidden, rows = len(rows)-timelineMaxRows, rows[:timelineMaxRows]
	}
	var ids []uuid.UUID
	for _, r := range rows {
		if len(r) == 1 {
			ids = append(ids, r[0].ID)
		}
	}
	states, err := u.Store.ListTaskRunStatesOf(q.ctx(), q.Workspace.ID, ids)
	if err != nil {
		return timelineView{}, err
	}
	base := WorkspaceURL(q.Workspace)
	items := timelineItems(rows, states, subflows,
		func(id uuid.UUID) string { return base + "/runs/task-run/" + id.String() },
		func(id uuid.UUID) string { return base + "/runs/flow-run/" + id.String() },
		"?tab=task-runs#tabs", now)
	v := layoutTimeline(items, timelineEdges(items, runs, subflows))
	for _, it := range items {
		v.Shown += len(it.Runs)
	}
	v.Total, v.Grouped, v.HiddenRows = max(total, len(runs)), grouped, hidden
	return v, nil
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

// logCursorOf reads the ?after= of a log tail: absent, the request is for
// the newest lines; empty, for the lines from the first on; else for the
// lines after the one it names (as logLine.Cursor writes it).
func logCursorOf(q *request) (after *store.LogCursor, tail bool, err error) {
	v, ok := q.r.URL.Query()["after"]
	if !ok {
		return nil, false, nil
	}
	if v[0] == "" {
		return &store.LogCursor{}, true, nil
	}
	ts, id, found := strings.Cut(v[0], "_")
	t, terr := time.Parse(time.RFC3339Nano, ts)
	uid, ierr := uuid.Parse(id)
	if !found || terr != nil || ierr != nil {
		return nil, false, &httpError{http.StatusBadRequest, "Invalid log cursor"}
	}
	return &store.LogCursor{Timestamp: model.At(t), ID: uid}, true, nil
}

// logsOf reads the log lines matching f at level or above, oldest first:
// the newest maxLogLines, or, after a cursor, the first maxLogLines that
// follow it. names holds task runs' names already known (or nil); rt is
// the run the lines belong to, whose end stops the polling.
func (u *UI) logsOf(q *request, f store.LogFilter, level int, after *store.LogCursor, names map[uuid.UUID]string,
	rt *model.RunTracking, now time.Time) (runLogs, error) {
	l := runLogs{Final: settled(rt, now), Level: level}
	if level > 0 {
		ge := level
		f.Level = &struct {
			GE *int `json:"ge_"`
			LE *int `json:"le_"`
		}{GE: &ge}
	}
	var logs []*model.Log
	var err error
	if after != nil {
		if after.ID != uuid.Nil {
			f.After = after
		}
		logs, err = u.Store.ListLogs(q.ctx(), q.Workspace.ID, store.LogQuery{Logs: &f, Sort: store.SortTimestampAsc, Limit: maxLogLines})
		if err != nil {
			return l, err
		}
	} else {
		logs, err = u.Store.ListLogs(q.ctx(), q.Workspace.ID, store.LogQuery{Logs: &f, Sort: store.SortTimestampDesc, Limit: maxLogLines + 1})
		if err != nil {
			return l, err
		}
		if len(logs) > maxLogLines {
			logs, l.Truncated = logs[:maxLogLines], true
		}
		slices.Reverse(logs)
	}
	// Name the task runs the lines come from.
	var ids []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, lg := range logs {
		if id := lg.TaskRunID; id != nil && !seen[*id] {
			seen[*id] = true
			if _, ok := names[*id]; !ok {
				ids = append(ids, *id)
			}
		}
	}
	if names == nil {
		names = map[uuid.UUID]string{}
	}
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
		name := model.LevelName(lg.Level)
		line := logLine{Time: lg.Timestamp.Ptr(), Level: name, Class: "log-" + toLowerASCII(name), Logger: lg.Name, Message: lg.Message,
			Cursor: lg.Timestamp.UTC().Format(time.RFC3339Nano) + "_" + lg.ID.String()}
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
