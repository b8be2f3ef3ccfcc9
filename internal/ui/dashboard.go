package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The dashboard: flow run counts by state over a window, the run history as
// stacked bars, warnings for late and failed runs, upcoming scheduled runs
// and task run counts. Its body is one live fragment.

// dashWindow is a time window the dashboard offers.
type dashWindow struct {
	Key      string
	Label    string
	Phrase   string // "the past hour"
	Span     time.Duration
	Interval time.Duration // of one history bar
}

var dashWindows = []dashWindow{
	{Key: "1h", Label: "Past hour", Phrase: "the past hour", Span: time.Hour, Interval: 2 * time.Minute},
	{Key: "24h", Label: "Past 24 hours", Phrase: "the past 24 hours", Span: 24 * time.Hour, Interval: time.Hour},
	{Key: "7d", Label: "Past 7 days", Phrase: "the past 7 days", Span: 7 * 24 * time.Hour, Interval: 6 * time.Hour},
}

// windowOf reads ?window=, defaulting to 24 hours.
func windowOf(s string) dashWindow {
	for _, w := range dashWindows {
		if w.Key == s {
			return w
		}
	}
	return dashWindows[1]
}

// dashWarnings bounds the runs each warning lists.
const dashWarnings = 10

// dashRecent bounds the recent runs the dashboard lists.
const dashRecent = 10

// stateCount is one state type's count.
type stateCount struct {
	State stateView
	Count int
	URL   string // the runs list filtered to it
}

// dashboard is the data of the dashboard.
type dashboard struct {
	Base        string
	Window      dashWindow
	Windows     []option
	LiveURL     string
	Since       *model.Time
	Total       int
	Counts      []stateCount
	Chart       historyChart
	Recent      []runRow // the newest runs of the window
	RecentURL   string
	FirstRun    *firstRun // when the workspace has no runs at all
	Late        []runRow
	LateCount   int
	LateURL     string
	Failed      []runRow
	FailedCount int
	FailedURL   string
	Upcoming    []runRow
	TaskCounts  []stateCount
	TaskTotal   int
}

func (u *UI) dashboardPage(q *request) error {
	d, err := u.loadDashboard(q)
	if err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "dashboard.html", d)
}

func (u *UI) dashboardLive(q *request) error {
	d, err := u.loadDashboard(q)
	if err != nil {
		return err
	}
	return u.renderPartial(q, "dashboard.html", "dash-body", d)
}

func (u *UI) loadDashboard(q *request) (dashboard, error) {
	ctx, ws := q.ctx(), q.Workspace.ID
	w := windowOf(q.r.URL.Query().Get("window"))
	base := WorkspaceURL(q.Workspace)
	d := dashboard{Base: base, Window: w, LiveURL: base + "/dashboard/live?window=" + w.Key}
	for _, o := range dashWindows {
		d.Windows = append(d.Windows, option{Value: o.Key, Label: o.Label, Selected: o.Key == w.Key})
	}
	now := u.Clock.Now().UTC()
	// Bars end with the one holding now, aligned to the interval, so they
	// stay put between refreshes.
	buckets := int(w.Span / w.Interval)
	end := now.Truncate(w.Interval).Add(w.Interval)
	start := end.Add(-time.Duration(buckets) * w.Interval)
	d.Since = model.At(start).Ptr()
	history, err := u.Store.FlowRunHistory(ctx, ws, store.HistoryQuery{Start: start, Interval: w.Interval, Buckets: buckets})
	if err != nil {
		return d, err
	}
	d.Chart = chartOf(history, w)
	totals := map[model.StateType]int{}
	for _, b := range history {
		for t, n := range b.Counts {
			totals[t] += n
			d.Total += n
		}
	}
	from, to := start.Format(datetimeLocal), end.Format(datetimeLocal)
	inWindow := &store.TimeFilter{After: model.At(start).Ptr(), Before: model.At(end).Ptr()}
	for _, t := range model.StateTypes {
		if totals[t] == 0 && t != model.Completed && t != model.Failed {
			continue
		}
		tt := t
		d.Counts = append(d.Counts, stateCount{State: stateOf(&tt, nil), Count: totals[t],
			URL: base + "/runs?state=" + string(t) + "&from=" + from + "&to=" + to})
	}

	// The newest runs, by expected start like the runs list: one LIMITed
	// query on the (workspace_id, expected_start_time) index.
	recent, err := u.Store.ListFlowRuns(ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ExpectedStartTime: inWindow},
		Sort: "EXPECTED_START_TIME_DESC", Limit: dashRecent})
	if err != nil {
		return d, err
	}
	if d.Recent, err = u.runRows(q, recent); err != nil {
		return d, err
	}
	d.RecentURL = base + "/runs?sort=EXPECTED_START_TIME_DESC&from=" + from + "&to=" + to
	if len(recent) == 0 {
		ran, err := u.hasFlowRuns(q)
		if err != nil {
			return d, err
		}
		if !ran {
			d.FirstRun = u.firstRunHint(q)
		}
	}

	// Warnings: late runs, then failed and crashed ones, in the window. A
	// late run is a scheduled one named Late, which the
	// (workspace_id, state_type, expected_start_time, state_name) index
	// finds without reading the window's other runs.
	late := store.RunQuery{FlowRuns: &store.FlowRunFilter{State: stateNameFilter(store.StateTypeIn(model.Scheduled), "Late"), ExpectedStartTime: inWindow},
		Sort: "EXPECTED_START_TIME_ASC", Limit: dashWarnings}
	if d.Late, d.LateCount, err = u.runsAndCount(q, late); err != nil {
		return d, err
	}
	d.LateURL = base + "/runs?state=SCHEDULED&state_name=Late&from=" + from + "&to=" + to
	if d.Failed, d.FailedCount, err = u.newestFailed(q, inWindow); err != nil {
		return d, err
	}
	d.FailedURL = base + "/runs?state=FAILED&state=CRASHED&from=" + from + "&to=" + to

	upcoming, err := u.Store.ListFlowRuns(ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Scheduled),
		NextScheduledStartTime: &store.TimeFilter{After: model.At(now).Ptr()}}, Sort: "NEXT_SCHEDULED_START_TIME_ASC", Limit: dashWarnings})
	if err != nil {
		return d, err
	}
	if d.Upcoming, err = u.runRows(q, upcoming); err != nil {
		return d, err
	}

	tasks, err := u.Store.CountTaskRunsByState(ctx, ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: inWindow}})
	if err != nil {
		return d, err
	}
	for _, t := range model.StateTypes {
		d.TaskTotal += tasks[t]
		if tasks[t] == 0 && t != model.Completed && t != model.Failed {
			continue
		}
		tt := t
		d.TaskCounts = append(d.TaskCounts, stateCount{State: stateOf(&tt, nil), Count: tasks[t]})
	}
	return d, nil
}

// newestFailed reads the newest failed and crashed runs in a window and
// how many there are. One query per state type reads its runs in order
// from the (workspace_id, state_type, expected_start_time, …) index and
// stops at the page; one query for both would have the database choose
// between sorting every failed run of the window and scanning the
// window's runs for them.
func (u *UI) newestFailed(q *request, window *store.TimeFilter) ([]runRow, int, error) {
	var runs []*model.FlowRun
	for _, t := range []model.StateType{model.Failed, model.Crashed} {
		some, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, store.RunQuery{
			FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(t), ExpectedStartTime: window},
			Sort:     "EXPECTED_START_TIME_DESC", Limit: dashWarnings})
		if err != nil {
			return nil, 0, err
		}
		runs = append(runs, some...)
	}
	// The store's order: newest expected start first, then by id.
	slices.SortFunc(runs, func(a, b *model.FlowRun) int {
		if c := b.ExpectedStartTime.Compare(a.ExpectedStartTime.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	n := len(runs)
	if n > dashWarnings {
		runs = runs[:dashWarnings]
	}
	if n >= dashWarnings {
		var err error
		n, err = u.Store.CountFlowRuns(q.ctx(), q.Workspace.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{
			State: store.StateTypeIn(model.Failed, model.Crashed), ExpectedStartTime: window}})
		if err != nil {
			return nil, 0, err
		}
	}
	rows, err := u.runRows(q, runs)
	return rows, n, err
}

// runsAndCount reads the first runs matching sq and how many match.
func (u *UI) runsAndCount(q *request, sq store.RunQuery) ([]runRow, int, error) {
	runs, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, sq)
	if err != nil {
		return nil, 0, err
	}
	n := len(runs)
	if n == sq.Limit {
		if n, err = u.Store.CountFlowRuns(q.ctx(), q.Workspace.ID, sq); err != nil {
			return nil, 0, err
		}
	}
	rows, err := u.runRows(q, runs)
	return rows, n, err
}

// historyChart is the run history drawn as stacked bars.
type historyChart struct {
	Width, Height int
	AxisY, LabelY int
	Bars          []historyBar
	Labels        []chartLabel
	Max           int
	Summary       string
	Rows          []historyRow // the same data as a table
	States        []stateView  // the legend
}

type historyBar struct {
	Title string
	Rects []chartRect
}

type chartRect struct {
	X, Y, W, H int
	Class      string
}

type chartLabel struct {
	X    int
	Text string
}

type historyRow struct {
	Start  *model.Time
	Counts string
	Total  int
}

// Chart geometry, in SVG user units.
const (
	chartHeight = 160
	chartLabels = 20 // the strip under the bars for time labels
	chartSlot   = 32 // one bar and its gap
	chartBar    = 24
)

// chartOf lays out a history as bars: one per bucket, segments stacked in
// Prefect's state order, heights scaled to the tallest bar.
func chartOf(history []store.HistoryBucket, w dashWindow) historyChart {
	c := historyChart{Width: max(1, len(history)) * chartSlot, Height: chartHeight + chartLabels, AxisY: chartHeight, LabelY: chartHeight + 15}
	for _, b := range history {
		c.Max = max(c.Max, b.Total())
	}
	used := map[model.StateType]bool{}
	layout := "15:04"
	if w.Span > 24*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i, b := range history {
		bar := historyBar{}
		x := i*chartSlot + (chartSlot-chartBar)/2
		y := chartHeight
		var parts []string
		for _, t := range model.StateTypes {
			n := b.Counts[t]
			if n == 0 {
				continue
			}
			used[t] = true
			h := max(1, n*(chartHeight-4)/max(1, c.Max))
			y -= h
			bar.Rects = append(bar.Rects, chartRect{X: x, Y: y, W: chartBar, H: h, Class: "bar " + stateClass(t)})
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(t.DefaultName())))
		}
		counts := "no runs"
		if len(parts) > 0 {
			counts = strings.Join(parts, ", ")
		}
		bar.Title = b.Start.UTC().Format(layout) + "–" + b.End.UTC().Format("15:04") + " UTC: " + counts
		c.Bars = append(c.Bars, bar)
		c.Rows = append(c.Rows, historyRow{Start: model.At(b.Start).Ptr(), Counts: counts, Total: b.Total()})
		if i%max(1, len(history)/4) == 0 {
			c.Labels = append(c.Labels, chartLabel{X: i * chartSlot, Text: b.Start.UTC().Format(layout)})
		}
	}
	for _, t := range model.StateTypes {
		if used[t] {
			tt := t
			c.States = append(c.States, stateOf(&tt, nil))
		}
	}
	total := 0
	for _, b := range history {
		total += b.Total()
	}
	c.Summary = fmt.Sprintf("Flow runs per %s over %s: %d in all, at most %d in one bar.",
		shortDuration(w.Interval), w.Phrase, total, c.Max)
	return c
}

// shortDuration names an interval: "2 minutes", "hour", "6 hours".
func shortDuration(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
