package api

import (
	"encoding/csv"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/rungraph"
	"github.com/praetorhq/praetor/internal/store"
)

// maxGraphNodes and maxGraphArtifacts are Prefect's defaults for
// PREFECT_API_MAX_FLOW_RUN_GRAPH_NODES and …_ARTIFACTS.
const (
	maxGraphNodes     = 10000
	maxGraphArtifacts = 10000
)

// graphEdge points at another node of a graph-v2 answer.
type graphEdge struct {
	ID uuid.UUID `json:"id"`
}

// graphArtifact is an artifact as graph-v2 lists it.
type graphArtifact struct {
	ID       uuid.UUID  `json:"id"`
	Created  model.Time `json:"created"`
	Key      *string    `json:"key"`
	Type     *string    `json:"type"`
	IsLatest bool       `json:"is_latest"`
	Data     any        `json:"data"`
}

// graphNode is a task run, or the subflow run it tracks, in graph-v2.
type graphNodeV2 struct {
	Kind          string           `json:"kind"`
	ID            uuid.UUID        `json:"id"`
	Label         string           `json:"label"`
	StateType     *model.StateType `json:"state_type"`
	StartTime     *model.Time      `json:"start_time"`
	EndTime       *model.Time      `json:"end_time"`
	Parents       []graphEdge      `json:"parents"`
	Children      []graphEdge      `json:"children"`
	Encapsulating []graphEdge      `json:"encapsulating"`
	Artifacts     []graphArtifact  `json:"artifacts"`
}

// flowRunGraphV2 answers GET /flow_runs/{id}/graph-v2 as Prefect's web app
// reads it: the run's task runs (a subflow's task run as the subflow run,
// labelled "flow / run"), their data dependencies as parents and children,
// "__parents__" inputs as encapsulating tasks, and the run's artifacts and
// states. since leaves out nodes that ended before it.
func (a *API) flowRunGraphV2(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	since := model.Time{}
	if s := r.URL.Query().Get("since"); s != "" {
		if err := since.UnmarshalText([]byte(s)); err != nil {
			return queryInvalid("datetime_from_date_parsing", "Input should be a valid datetime or date", s, "since")
		}
	}
	ctx, ws := r.Context(), workspaceID(r)
	run, err := a.Store.GetFlowRun(ctx, ws, id)
	if err != nil {
		return objectNotFound(err, "Flow run %s not found", id)
	}
	tasks, err := rungraph.TaskRuns(ctx, a.Store, ws, id, maxGraphNodes+1)
	if err != nil {
		return err
	}
	if len(tasks) > maxGraphNodes {
		return detail(http.StatusBadRequest, "The graph of flow run %s has more than %d nodes.", id, maxGraphNodes)
	}
	subs, err := a.Store.ListFlowRuns(ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: []uuid.UUID{id}}}, Limit: maxGraphNodes})
	if err != nil {
		return err
	}
	child := map[uuid.UUID]*model.FlowRun{} // by parent task run
	flowNames := map[uuid.UUID]string{}
	for _, s := range subs {
		if s.ParentTaskRunID != nil {
			child[*s.ParentTaskRunID] = s
			flowNames[s.FlowID] = ""
		}
	}
	for fid := range flowNames {
		if f, err := a.Store.GetFlow(ctx, ws, fid); err == nil {
			flowNames[fid] = f.Name
		}
	}
	artifacts, err := a.graphArtifacts(r, ws, id)
	if err != nil {
		return err
	}
	nodes := make([]*graphNodeV2, 0, len(tasks))
	byID := map[uuid.UUID]*graphNodeV2{}
	for _, tr := range tasks {
		n := &graphNodeV2{Kind: "task-run", ID: tr.ID, Label: tr.Name, StateType: tr.StateType, StartTime: firstTime(tr.StartTime, tr.ExpectedStartTime),
			EndTime: tr.EndTime, Parents: []graphEdge{}, Children: []graphEdge{}, Encapsulating: []graphEdge{}, Artifacts: artifacts[tr.ID]}
		if n.EndTime == nil && tr.StateType != nil && *tr.StateType == model.Completed {
			n.EndTime = tr.ExpectedStartTime
		}
		if fr, ok := child[tr.ID]; ok {
			n.Kind, n.ID, n.Label, n.StateType = "flow-run", fr.ID, flowNames[fr.FlowID]+" / "+fr.Name, fr.StateType
			n.StartTime, n.EndTime = firstTime(fr.StartTime, fr.ExpectedStartTime, tr.StartTime, tr.ExpectedStartTime), firstTime(fr.EndTime, n.EndTime)
		}
		if n.StartTime == nil || n.EndTime != nil && n.EndTime.Before(since.Time) {
			continue
		}
		if n.Artifacts == nil {
			n.Artifacts = []graphArtifact{}
		}
		nodes = append(nodes, n)
		byID[n.ID] = n
	}
	roots := []uuid.UUID{}
	for _, tr := range tasks {
		n := nodeOf(byID, child, tr.ID)
		if n == nil {
			continue
		}
		seenEnc := map[uuid.UUID]bool{}
		for _, name := range slices.Sorted(maps.Keys(tr.TaskInputs)) {
			for _, in := range tr.TaskInputs[name] {
				if in.ID == nil {
					continue
				}
				p := byID[*in.ID]
				switch {
				case p == nil:
				case name == "__parents__":
					if !seenEnc[p.ID] {
						seenEnc[p.ID] = true
						n.Encapsulating = append(n.Encapsulating, graphEdge{p.ID})
					}
				default:
					n.Parents = append(n.Parents, graphEdge{p.ID})
					p.Children = append(p.Children, graphEdge{n.ID})
				}
			}
		}
	}
	out := make([][2]any, len(nodes))
	for i, n := range nodes {
		if len(n.Parents) == 0 {
			roots = append(roots, n.ID)
		}
		out[i] = [2]any{n.ID, n}
	}
	states, err := a.Store.ListFlowRunStates(ctx, ws, id)
	if err != nil {
		return err
	}
	type graphState struct {
		ID        uuid.UUID       `json:"id"`
		Timestamp model.Time      `json:"timestamp"`
		Type      model.StateType `json:"type"`
		Name      string          `json:"name"`
	}
	gs := make([]graphState, len(states))
	for i, s := range states {
		gs[i] = graphState{ID: s.ID, Timestamp: s.Timestamp, Type: s.Type, Name: s.Name}
	}
	runArtifacts := artifacts[uuid.Nil]
	if runArtifacts == nil {
		runArtifacts = []graphArtifact{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"start_time": firstTime(run.StartTime, run.ExpectedStartTime), "end_time": run.EndTime,
		"root_node_ids": roots, "nodes": out, "artifacts": runArtifacts, "states": gs})
	return nil
}

// nodeOf is the graph node of task run id: itself, or the subflow run it
// tracks.
func nodeOf(byID map[uuid.UUID]*graphNodeV2, child map[uuid.UUID]*model.FlowRun, id uuid.UUID) *graphNodeV2 {
	if fr, ok := child[id]; ok {
		return byID[fr.ID]
	}
	return byID[id]
}

// firstTime returns the first time that is set.
func firstTime(ts ...*model.Time) *model.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

// graphArtifacts lists a flow run's artifacts (result artifacts left out)
// by task run, uuid.Nil for the flow run's own, oldest first; only a
// progress artifact carries its data.
func (a *API) graphArtifacts(r *http.Request, ws, flowRunID uuid.UUID) (map[uuid.UUID][]graphArtifact, error) {
	var q store.ArtifactQuery
	q.Artifacts = &store.ArtifactFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{flowRunID}}, Type: &store.NameFilter{NotAny: []string{"result"}}}
	q.Sort, q.Limit = store.SortCreatedDesc, maxGraphArtifacts
	all, err := a.Store.ListArtifacts(r.Context(), ws, q, false)
	if err != nil {
		return nil, err
	}
	slices.Reverse(all)
	latest, err := a.Store.ListArtifacts(r.Context(), ws, q, true)
	if err != nil {
		return nil, err
	}
	isLatest := map[uuid.UUID]bool{}
	for _, l := range latest {
		isLatest[l.ID] = true
	}
	out := map[uuid.UUID][]graphArtifact{}
	for _, art := range all {
		g := graphArtifact{ID: art.ID, Created: art.Created, Key: art.Key, Type: art.Type, IsLatest: art.Key == nil || isLatest[art.ID]}
		if art.Type != nil && *art.Type == "progress" {
			g.Data = art.Data
		}
		k := uuid.Nil
		if art.TaskRunID != nil {
			k = *art.TaskRunID
		}
		out[k] = append(out[k], g)
	}
	return out, nil
}

// logsPage is how many logs downloadLogs reads at a time.
const logsPage = 1000

// downloadLogs answers GET /flow_runs/{id}/logs/download: every log of the
// run, oldest first, as CSV, written as it is read.
func (a *API) downloadLogs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ws := workspaceID(r)
	run, err := a.Store.GetFlowRun(r.Context(), ws, id)
	if err != nil {
		return notFound(err, "Flow run not found")
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="flow-run-logs.csv"; filename*=UTF-8''`+url.PathEscape(run.Name+"-logs.csv"))
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"timestamp", "level", "flow_run_id", "task_run_id", "message"}); err != nil {
		return nil // the client went away
	}
	q := store.LogQuery{Logs: &store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{id}}}, Sort: store.SortTimestampAsc, Limit: logsPage}
	for {
		logs, err := a.Store.ListLogs(r.Context(), ws, q)
		if err != nil {
			// The status is sent: the truncated file is the error.
			a.Logger.ErrorContext(r.Context(), "download logs", "flow_run_id", id, "err", err)
			break
		}
		for _, l := range logs {
			task := ""
			if l.TaskRunID != nil {
				task = l.TaskRunID.String()
			}
			fr := ""
			if l.FlowRunID != nil {
				fr = l.FlowRunID.String()
			}
			if err := cw.Write([]string{l.Timestamp.Format("2006-01-02 15:04:05.999999-07:00"), strconv.Itoa(l.Level), fr, task, l.Message}); err != nil {
				return nil
			}
		}
		if len(logs) < logsPage {
			break
		}
		q.Offset += logsPage
	}
	cw.Flush()
	return nil
}
