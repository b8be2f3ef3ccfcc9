package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The flows list, with run counts, and one flow's page with its runs.

// flowRow is a flow in the list.
type flowRow struct {
	Name    string
	URL     string
	RunsURL string
	Created *model.Time
	Runs    int
	Tags    []string
	// Fails counts the flow's failed and crashed runs; FailsURL lists them
	// when there are any.
	Fails    int
	FailsURL string
}

// flowsPage is the data of the flows list.
type flowsPage struct {
	Base        string
	Rows        []flowRow
	Total       int
	First, Last int
	Pager
	FirstRun *firstRun // when the workspace has no flows, hence no runs
}

const flowsPageSize = 25

func (u *UI) flowsList(q *request) error {
	ctx, ws := q.ctx(), q.Workspace.ID
	offset, _ := strconv.Atoi(q.r.URL.Query().Get("offset"))
	offset = max(0, offset)
	flows, err := u.Store.ListFlows(ctx, ws, store.RunQuery{Sort: "NAME_ASC", Limit: flowsPageSize, Offset: offset})
	if err != nil {
		return err
	}
	total, err := u.Store.CountFlows(ctx, ws, store.RunQuery{})
	if err != nil {
		return err
	}
	ids := make([]uuid.UUID, len(flows))
	for i, f := range flows {
		ids[i] = f.ID
	}
	// One GROUP BY over the (workspace_id, flow_id, …) index for the runs,
	// and one over the failed and crashed runs of the page's flows: a
	// column of links that all read "Failed runs" says every flow failed.
	runs, fails := map[uuid.UUID]int{}, map[uuid.UUID]int{}
	if len(ids) > 0 {
		ofPage := &store.FlowFilter{ID: &store.IDFilter{Any: ids}}
		if runs, err = u.Store.CountFlowRunsByFlow(ctx, ws, store.RunQuery{Flows: ofPage}); err != nil {
			return err
		}
		failed := &store.FlowRunFilter{State: store.StateTypeIn(model.Failed, model.Crashed)}
		if fails, err = u.Store.CountFlowRunsByFlow(ctx, ws, store.RunQuery{Flows: ofPage, FlowRuns: failed}); err != nil {
			return err
		}
	}
	base := WorkspaceURL(q.Workspace)
	p := flowsPage{Base: base, Total: total, Pager: Pager{Of: "flows"}}
	if total == 0 {
		p.FirstRun = u.firstRunHint(q)
	}
	for _, f := range flows {
		id := f.ID.String()
		row := flowRow{Name: f.Name, URL: base + "/flows/flow/" + id, RunsURL: base + "/runs?flow=" + id,
			Created: f.Created.Ptr(), Runs: runs[f.ID], Fails: fails[f.ID], Tags: f.Tags}
		if row.Fails > 0 {
			row.FailsURL = base + "/runs?flow=" + id + "&state=FAILED&state=CRASHED"
		}
		p.Rows = append(p.Rows, row)
	}
	if len(flows) > 0 {
		p.First, p.Last = offset+1, offset+len(flows)
	}
	if offset > 0 {
		p.PrevURL = base + "/flows" + pageQuery(max(0, offset-flowsPageSize))
	}
	if offset+len(flows) < total {
		p.NextURL = base + "/flows" + pageQuery(offset+flowsPageSize)
	}
	return u.render(q, http.StatusOK, "flows.html", p)
}

func pageQuery(offset int) string {
	if offset == 0 {
		return ""
	}
	return "?" + url.Values{"offset": {strconv.Itoa(offset)}}.Encode()
}

// flowPage is the data of one flow's page.
type flowPage struct {
	Base    string
	Flow    *model.Flow
	Total   int
	Counts  []stateCount
	Table   runsTable
	LiveURL string
	RunsURL string
}

func (u *UI) flowPage(q *request) error {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return errNotFound()
	}
	flow, err := u.Store.GetFlow(q.ctx(), q.Workspace.ID, id)
	if err != nil {
		return err
	}
	base := WorkspaceURL(q.Workspace)
	v := q.r.URL.Query()
	v.Set("flow", id.String())
	f := parseRunFilters(v)
	f.Flows = []uuid.UUID{id}
	table, err := u.loadRunsTable(q, f)
	if err != nil {
		return err
	}
	counts, err := u.Store.CountFlowRunsByState(q.ctx(), q.Workspace.ID, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{id}}}})
	if err != nil {
		return err
	}
	p := flowPage{Base: base, Flow: flow, Table: table, LiveURL: base + "/runs/live" + f.withOffset(f.Offset),
		RunsURL: base + "/runs" + f.withOffset(0)}
	for _, t := range model.StateTypes {
		p.Total += counts[t]
		if counts[t] == 0 {
			continue
		}
		tt := t
		p.Counts = append(p.Counts, stateCount{State: stateOf(&tt, nil), Count: counts[t],
			URL: base + "/runs?flow=" + id.String() + "&state=" + string(t)})
	}
	return u.render(q, http.StatusOK, "flow.html", p)
}
