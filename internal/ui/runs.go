package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The flow runs list: filters in the query string, one LIMITed query per
// page plus one count, and a live table that refreshes in place.

// runsPageSize is the rows of one page of runs.
const runsPageSize = 25

// runSortOptions are the orders the list offers; the first is the default.
// The default is served by the (workspace_id, state_type,
// expected_start_time) and (workspace_id, expected_start_time) indexes.
var runSortOptions = []option{
	{Value: "EXPECTED_START_TIME_DESC", Label: "Newest first"},
	{Value: "EXPECTED_START_TIME_ASC", Label: "Oldest first"},
	{Value: "START_TIME_DESC", Label: "Recently started"},
	{Value: "END_TIME_DESC", Label: "Recently ended"},
	{Value: "NAME_ASC", Label: "Name, A to Z"},
	{Value: "NAME_DESC", Label: "Name, Z to A"},
}

// datetimeLocal is the value format of <input type="datetime-local">; the
// list reads and shows times in UTC.
const datetimeLocal = "2006-01-02T15:04"

// runFilters is the runs list's query string, parsed.
type runFilters struct {
	States     []model.StateType
	StateNames []string
	Flows      []uuid.UUID
	Deps       []uuid.UUID // deployments
	Tags       []string
	From, To   string // as typed, datetime-local in UTC
	Sort       string
	Offset     int
	Errors     []string

	from, to *model.Time
}

// parseRunFilters reads filters from a query string; values it cannot use
// are reported in Errors and ignored.
func parseRunFilters(v url.Values) runFilters {
	var f runFilters
	for _, s := range v["state"] {
		t := model.StateType(strings.ToUpper(strings.TrimSpace(s)))
		if t == "" {
			continue
		}
		if !t.Valid() {
			f.Errors = append(f.Errors, "Unknown state "+strconv.Quote(s)+" ignored.")
			continue
		}
		f.States = append(f.States, t)
	}
	for _, s := range v["state_name"] {
		if s = strings.TrimSpace(s); s != "" {
			f.StateNames = append(f.StateNames, s)
		}
	}
	for _, s := range v["flow"] {
		if s == "" {
			continue
		}
		id, err := uuid.Parse(s)
		if err != nil {
			f.Errors = append(f.Errors, "Unknown flow "+strconv.Quote(s)+" ignored.")
			continue
		}
		f.Flows = append(f.Flows, id)
	}
	for _, s := range v["deployment"] {
		if s == "" {
			continue
		}
		id, err := uuid.Parse(s)
		if err != nil {
			f.Errors = append(f.Errors, "Unknown deployment "+strconv.Quote(s)+" ignored.")
			continue
		}
		f.Deps = append(f.Deps, id)
	}
	for _, s := range v["tags"] {
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.Tags = append(f.Tags, t)
			}
		}
	}
	parseTime := func(s, what string) (*model.Time, string) {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, ""
		}
		for _, layout := range []string{datetimeLocal, "2006-01-02T15:04:05", time.RFC3339} {
			if t, err := time.Parse(layout, s); err == nil {
				t = t.UTC().Truncate(time.Minute)
				return model.At(t).Ptr(), t.Format(datetimeLocal)
			}
		}
		f.Errors = append(f.Errors, "The "+what+" time "+strconv.Quote(s)+" is not a date and time; ignored.")
		return nil, ""
	}
	f.from, f.From = parseTime(v.Get("from"), "from")
	f.to, f.To = parseTime(v.Get("to"), "to")
	f.Sort = runSortOptions[0].Value
	if s := v.Get("sort"); s != "" {
		ok := false
		for _, o := range runSortOptions {
			ok = ok || o.Value == s
		}
		if ok {
			f.Sort = s
		} else {
			f.Errors = append(f.Errors, "Unknown sort "+strconv.Quote(s)+" ignored.")
		}
	}
	if n, err := strconv.Atoi(v.Get("offset")); err == nil && n > 0 {
		f.Offset = n
	}
	return f
}

// TagsText is the tags filter as the form shows it.
func (f runFilters) TagsText() string { return strings.Join(f.Tags, ", ") }

// Filtered reports whether any filter narrows the list.
func (f runFilters) Filtered() bool {
	return len(f.States) > 0 || len(f.StateNames) > 0 || len(f.Flows) > 0 || len(f.Deps) > 0 || len(f.Tags) > 0 || f.from != nil || f.to != nil
}

// query is the store query of one page.
func (f runFilters) query() store.RunQuery {
	q := store.RunQuery{Sort: f.Sort, Limit: runsPageSize, Offset: f.Offset}
	fr := &store.FlowRunFilter{}
	any := false
	if len(f.States) > 0 {
		fr.State, any = store.StateTypeIn(f.States...), true
	}
	if len(f.StateNames) > 0 {
		fr.State, any = stateNameFilter(fr.State, f.StateNames...), true
	}
	if len(f.Tags) > 0 {
		fr.Tags, any = &store.TagsFilter{All: f.Tags}, true
	}
	if len(f.Deps) > 0 {
		fr.DeploymentID, any = &store.NullableIDFilter{Any: f.Deps}, true
	}
	if f.from != nil || f.to != nil {
		fr.ExpectedStartTime, any = &store.TimeFilter{After: f.from, Before: f.to}, true
	}
	if any {
		q.FlowRuns = fr
	}
	if len(f.Flows) > 0 {
		q.Flows = &store.FlowFilter{ID: &store.IDFilter{Any: f.Flows}}
	}
	return q
}

// values encodes the filters and sort (not the offset) as a query string.
func (f runFilters) values() url.Values {
	v := url.Values{}
	for _, s := range f.States {
		v.Add("state", string(s))
	}
	for _, s := range f.StateNames {
		v.Add("state_name", s)
	}
	for _, id := range f.Flows {
		v.Add("flow", id.String())
	}
	for _, id := range f.Deps {
		v.Add("deployment", id.String())
	}
	if len(f.Tags) > 0 {
		v.Set("tags", strings.Join(f.Tags, ","))
	}
	if f.From != "" {
		v.Set("from", f.From)
	}
	if f.To != "" {
		v.Set("to", f.To)
	}
	if f.Sort != runSortOptions[0].Value {
		v.Set("sort", f.Sort)
	}
	return v
}

// withOffset is the query string of the page at offset.
func (f runFilters) withOffset(offset int) string {
	v := f.values()
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// runsTable is one page of the runs list.
type runsTable struct {
	Rows  []runRow
	Total int
	// More says there are more than Total runs: a count the store does not
	// keep stops a little past the page.
	More        bool
	First, Last int // 1-based positions of the rows shown
	Pager
	FirstURL string
	Filtered bool
	FirstRun *firstRun // when the workspace has no runs at all
}

// runsCountUpTo is how far past the page the runs list counts runs the
// store keeps no count of, so that no filter makes a page count the whole
// history. A variable for tests.
var runsCountUpTo = 10_000

// loadRunsTable reads one page: one LIMITed list query and one bounded
// count.
func (u *UI) loadRunsTable(q *request, f runFilters) (runsTable, error) {
	sq := f.query()
	runs, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, sq)
	if err != nil {
		return runsTable{}, err
	}
	total, exact, err := u.Store.CountFlowRunsUpTo(q.ctx(), q.Workspace.ID, sq, f.Offset+runsPageSize+runsCountUpTo)
	if err != nil {
		return runsTable{}, err
	}
	rows, err := u.runRows(q, runs)
	if err != nil {
		return runsTable{}, err
	}
	list := WorkspaceURL(q.Workspace) + "/runs"
	t := runsTable{Rows: rows, Total: total, More: !exact, Filtered: f.Filtered(), Pager: Pager{Of: "runs"}}
	if total == 0 && !t.Filtered {
		t.FirstRun = u.firstRunHint(q)
	}
	if len(rows) > 0 {
		t.First, t.Last = f.Offset+1, f.Offset+len(rows)
	}
	if f.Offset > 0 {
		t.PrevURL = list + f.withOffset(max(0, f.Offset-runsPageSize))
		t.FirstURL = list + f.withOffset(0)
	}
	if f.Offset+len(rows) < total {
		t.NextURL = list + f.withOffset(f.Offset+runsPageSize)
	}
	return t, nil
}

// runsPage is the data of the runs list.
type runsPage struct {
	Base         string
	Filters      runFilters
	StateOptions []option
	FlowOptions  []option
	DepOptions   []option
	SortOptions  []option
	Table        runsTable
	LiveURL      string
}

// maxFlowOptions bounds the flow filter's choices.
const maxFlowOptions = 500

func (u *UI) runsList(q *request) error {
	f := parseRunFilters(q.r.URL.Query())
	table, err := u.loadRunsTable(q, f)
	if err != nil {
		return err
	}
	base := WorkspaceURL(q.Workspace)
	p := runsPage{Base: base, Filters: f, Table: table, LiveURL: base + "/runs/live" + f.withOffset(f.Offset)}
	for _, t := range model.StateTypes {
		sel := false
		for _, s := range f.States {
			sel = sel || s == t
		}
		p.StateOptions = append(p.StateOptions, option{Value: string(t), Label: t.DefaultName(), Selected: sel})
	}
	flows, err := u.Store.ListFlows(q.ctx(), q.Workspace.ID, store.RunQuery{Sort: "NAME_ASC", Limit: maxFlowOptions})
	if err != nil {
		return err
	}
	for _, fl := range flows {
		sel := false
		for _, id := range f.Flows {
			sel = sel || id == fl.ID
		}
		p.FlowOptions = append(p.FlowOptions, option{Value: fl.ID.String(), Label: fl.Name, Selected: sel})
	}
	deps, err := u.Store.ListDeployments(q.ctx(), q.Workspace.ID, store.DeploymentQuery{Sort: store.SortNameAsc, Limit: maxFlowOptions})
	if err != nil {
		return err
	}
	for _, d := range deps {
		p.DepOptions = append(p.DepOptions, option{Value: d.ID.String(), Label: d.Name, Selected: slices.Contains(f.Deps, d.ID)})
	}
	for _, o := range runSortOptions {
		o.Selected = o.Value == f.Sort
		p.SortOptions = append(p.SortOptions, o)
	}
	return u.render(q, http.StatusOK, "runs.html", p)
}

// runsLive is the live fragment of the runs list: the table alone.
func (u *UI) runsLive(q *request) error {
	f := parseRunFilters(q.r.URL.Query())
	table, err := u.loadRunsTable(q, f)
	if err != nil {
		return err
	}
	return u.renderPartial(q, "runs.html", "runs-table", table)
}
