package ui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/rungraph"
)

// The timeline draws a flow run's task runs on a time axis, server-side, as
// SVG: one row per task run, a bar from its first state to its end (to now
// while it runs), split where its state history changes (waiting, running,
// awaiting a retry), and its data dependencies as arrows from the end of
// the upstream bar to the start of the downstream one. A large run keeps
// the drawing small: beyond timelineMaxRows task runs, the runs of one task
// key (a mapped task) share one row, and rows past the cap are counted,
// not drawn.

// Geometry of the drawing, in SVG user units.
const (
	tlLabelW  = 200 // the name column
	tlPlotW   = 760 // the time axis
	tlRowH    = 24
	tlBarH    = 14
	tlAxisH   = 28
	tlMargin  = 8
	tlMinBarW = 2
	tlTicks   = 5
)

// timelineMaxRows bounds the rows drawn (and so the task runs whose state
// histories are read).
const timelineMaxRows = 100

// tlSpan is one stretch of a bar: what the run did from From to To.
type tlSpan struct {
	From, To time.Time
	Kind     string // "wait", "run" or "retry"
}

// tlItem is one row before layout: a task run, or the runs of one task key.
type tlItem struct {
	Runs    []*model.TaskRun // one, or a group sharing a task key
	Spans   []tlSpan
	Start   time.Time // when it started running (its first state's time when it never ran)
	Label   string
	Title   string
	URL     string
	Class   string
	Subflow bool
}

// timelineView is what the template draws.
type timelineView struct {
	Width, Height int
	Rows          []timelineRow
	Edges         []radarEdge
	Ticks         []timelineTick
	AxisY         int
	Shown, Total  int  // task runs drawn, and of the run
	Grouped       bool // runs of one task key share a row
	HiddenRows    int  // rows past the cap
}

type timelineRow struct {
	Y, TextY int
	Label    string
	Title    string
	URL      string
	Class    string
	Subflow  bool
	Count    int    // task runs in the row, when more than one
	Start    string // RFC 3339, for scripts and tests
	Bars     []timelineBar
}

type timelineBar struct {
	X, Y, W, H int
	Class      string
}

type timelineTick struct {
	X, TextY int
	Label    string
}

// timelineRows decides the rows: one per task run while they fit, else the
// runs of one task key together; runs come in expected-start order.
func timelineRows(runs []*model.TaskRun) (rows [][]*model.TaskRun, grouped bool) {
	if len(runs) <= timelineMaxRows {
		for _, r := range runs {
			rows = append(rows, []*model.TaskRun{r})
		}
		return rows, false
	}
	at := map[string]int{}
	for _, r := range runs {
		key := r.TaskKey
		if key == "" {
			key = r.ID.String()
		}
		i, ok := at[key]
		if !ok {
			i = len(rows)
			at[key] = i
			rows = append(rows, nil)
		}
		rows[i] = append(rows[i], r)
	}
	return rows, true
}

// timelineSpans reads a task run's bar from its state history: each state
// lasts until the next; a final state ends the bar, any other lasts until
// now. Without a history, the run's start and end times stand in.
// Stretches of one kind in a row merge (a subflow's state is mirrored onto
// its task run, so RUNNING may come twice).
func timelineSpans(tr *model.TaskRun, states []*model.State, now time.Time) []tlSpan {
	if len(states) == 0 {
		from := tr.StartTime
		if from == nil {
			from = tr.ExpectedStartTime
		}
		if from == nil {
			return nil
		}
		to := now
		if tr.EndTime != nil {
			to = tr.EndTime.Time
		}
		kind := "run"
		if tr.StartTime == nil {
			kind = "wait"
		}
		return []tlSpan{{From: from.Time, To: to, Kind: kind}}
	}
	var spans []tlSpan
	for i, s := range states {
		if s.Type.Terminal() {
			break
		}
		to := now
		if i+1 < len(states) {
			to = states[i+1].Timestamp.Time
		}
		kind := "wait"
		switch {
		case s.Type == model.Running || s.Type == model.Cancelling:
			kind = "run"
		case s.Name == "AwaitingRetry":
			kind = "retry"
		}
		if n := len(spans); n > 0 && spans[n-1].Kind == kind {
			spans[n-1].To = to
			continue
		}
		spans = append(spans, tlSpan{From: s.Timestamp.Time, To: to, Kind: kind})
	}
	if len(spans) == 0 {
		// Final from its first state (a cached result): a mark at that time.
		at := states[0].Timestamp.Time
		spans = append(spans, tlSpan{From: at, To: at, Kind: "run"})
	}
	return spans
}

// timelineItems builds the rows' content; states holds the histories of
// the runs drawn alone, subflows maps child flow runs to the task runs that
// track them, taskURL and flowRunURL link a row.
func timelineItems(rows [][]*model.TaskRun, states map[uuid.UUID][]*model.State, subflows map[uuid.UUID]uuid.UUID,
	taskURL, flowRunURL func(uuid.UUID) string, groupURL string, now time.Time) []tlItem {
	childOf := make(map[uuid.UUID]uuid.UUID, len(subflows))
	for child, tr := range subflows {
		childOf[tr] = child
	}
	items := make([]tlItem, 0, len(rows))
	for _, runs := range rows {
		it := tlItem{Runs: runs}
		if len(runs) == 1 {
			tr := runs[0]
			hist := states[tr.ID]
			it.Spans = timelineSpans(tr, hist, now)
			st := stateOf(tr.StateType, tr.StateName)
			it.Label, it.Class, it.URL = shorten(tr.Name, 26), st.Class, taskURL(tr.ID)
			if child, ok := childOf[tr.ID]; ok {
				it.Subflow, it.URL = true, flowRunURL(child)
			}
			it.Title = timelineTitle(tr, st, hist, it.Spans, it.Subflow)
		} else {
			it.Spans, it.Label, it.Class, it.Title = groupSpans(runs, now)
			it.URL = groupURL
		}
		if len(it.Spans) == 0 {
			continue
		}
		it.Start = it.Spans[0].From
		for _, s := range it.Spans {
			if s.Kind == "run" {
				it.Start = s.From
				break
			}
		}
		items = append(items, it)
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].Start.Before(items[j].Start) })
	return items
}

// timelineTitle is a bar's tooltip and accessible name: name, state,
// start, duration, and the attempts and retry waits when there were any.
func timelineTitle(tr *model.TaskRun, st stateView, hist []*model.State, spans []tlSpan, subflow bool) string {
	var b strings.Builder
	b.WriteString(tr.Name)
	if subflow {
		b.WriteString(" (subflow)")
	}
	b.WriteString(": " + st.Name)
	if tr.StartTime != nil {
		b.WriteString(", started " + when(tr.StartTime))
	} else {
		b.WriteString(", not started")
	}
	b.WriteString(", ran " + runDuration(&tr.RunTracking))
	attempts := 0
	for _, s := range hist {
		if s.Type == model.Running {
			attempts++
		}
	}
	var waited, retried time.Duration
	for _, s := range spans {
		switch s.Kind {
		case "wait":
			waited += s.To.Sub(s.From)
		case "retry":
			retried += s.To.Sub(s.From)
		}
	}
	if attempts > 1 {
		fmt.Fprintf(&b, ", %d attempts", attempts)
	}
	if retried > 0 {
		b.WriteString(", awaited retries " + duration(retried.Seconds()))
	}
	if waited > 0 {
		b.WriteString(", waited " + duration(waited.Seconds()))
	}
	return b.String()
}

// groupSpans is the row of many runs of one task: one bar from the first
// start to the last end, labelled with the count and titled with the
// state mix.
func groupSpans(runs []*model.TaskRun, now time.Time) (spans []tlSpan, label, class, title string) {
	var from, to time.Time
	mix := map[string]int{}
	var order []stateView
	running := false
	for _, r := range runs {
		st := stateOf(r.StateType, r.StateName)
		if mix[st.Name] == 0 {
			order = append(order, st)
		}
		mix[st.Name]++
		s := r.StartTime
		if s == nil {
			s = r.ExpectedStartTime
		}
		if s != nil && (from.IsZero() || s.Before(from)) {
			from = s.Time
		}
		end := now
		if r.EndTime != nil {
			end = r.EndTime.Time
		} else {
			running = true
		}
		if end.After(to) {
			to = end
		}
	}
	if from.IsZero() {
		return nil, "", "", ""
	}
	if running {
		to = now
	}
	// The row takes the colour of its most frequent state.
	sort.SliceStable(order, func(i, j int) bool { return mix[order[i].Name] > mix[order[j].Name] })
	parts := make([]string, 0, len(order))
	for _, st := range order {
		parts = append(parts, strconv.Itoa(mix[st.Name])+" "+st.Name)
	}
	name := runs[0].TaskKey
	if name == "" {
		name = runs[0].Name
	}
	label = shorten(name, 20) + " ×" + strconv.Itoa(len(runs))
	title = fmt.Sprintf("%s: %d task runs (%s), from %s for %s", name, len(runs), strings.Join(parts, ", "),
		when(model.At(from).Ptr()), duration(to.Sub(from).Seconds()))
	return []tlSpan{{From: from, To: to, Kind: "run"}}, label, order[0].Class, title
}

// layoutTimeline places the rows on the time axis and the edges between
// them (row indices, upstream first).
func layoutTimeline(items []tlItem, edges [][2]int) timelineView {
	v := timelineView{Width: 2*tlMargin + tlLabelW + tlPlotW, AxisY: tlMargin + tlAxisH - 8}
	v.Height = 2*tlMargin + tlAxisH + len(items)*tlRowH
	if len(items) == 0 {
		return v
	}
	t0, t1 := items[0].Spans[0].From, items[0].Spans[0].To
	for _, it := range items {
		for _, s := range it.Spans {
			if s.From.Before(t0) {
				t0 = s.From
			}
			if s.To.After(t1) {
				t1 = s.To
			}
		}
	}
	span := t1.Sub(t0)
	if span <= 0 {
		span = time.Second
	}
	plotX := tlMargin + tlLabelW
	x := func(t time.Time) int {
		return plotX + int(float64(tlPlotW)*float64(t.Sub(t0))/float64(span))
	}
	for i := 0; i <= tlTicks; i++ {
		at := time.Duration(int64(span) * int64(i) / tlTicks)
		label := "+" + duration(at.Seconds())
		if i == 0 {
			label = "0s"
		}
		v.Ticks = append(v.Ticks, timelineTick{X: plotX + tlPlotW*i/tlTicks, TextY: tlMargin + 12, Label: label})
	}
	starts := make([]int, len(items))
	ends := make([]int, len(items))
	for i, it := range items {
		y := tlMargin + tlAxisH + i*tlRowH
		row := timelineRow{Y: y, TextY: y + tlRowH/2 + 4, Label: it.Label, Title: it.Title, URL: it.URL, Class: it.Class,
			Subflow: it.Subflow, Start: it.Start.UTC().Format(time.RFC3339Nano)}
		if len(it.Runs) > 1 {
			row.Count = len(it.Runs)
		}
		for _, s := range it.Spans {
			x1, x2 := x(s.From), x(s.To)
			row.Bars = append(row.Bars, timelineBar{X: x1, Y: y + (tlRowH-tlBarH)/2, W: max(x2-x1, tlMinBarW), H: tlBarH, Class: "tl-" + s.Kind})
		}
		starts[i] = row.Bars[0].X
		for _, b := range row.Bars {
			if b.Class == "tl-run" {
				starts[i] = b.X
				break
			}
		}
		last := row.Bars[len(row.Bars)-1]
		ends[i] = last.X + last.W
		v.Rows = append(v.Rows, row)
	}
	for _, e := range edges {
		a, b := e[0], e[1]
		x1, y1 := ends[a], v.Rows[a].Y+tlRowH/2
		x2, y2 := starts[b], v.Rows[b].Y+tlRowH/2
		bend := 24
		v.Edges = append(v.Edges, radarEdge{From: a, To: b,
			Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1+bend, y1, x2-bend, y2, x2-2, y2)})
	}
	return v
}

// timelineEdges maps the dependencies among runs onto the rows that hold
// them, once per pair of distinct rows.
func timelineEdges(items []tlItem, runs []*model.TaskRun, subflows map[uuid.UUID]uuid.UUID) [][2]int {
	row := map[uuid.UUID]int{}
	for i, it := range items {
		for _, r := range it.Runs {
			row[r.ID] = i
		}
	}
	seen := map[[2]int]bool{}
	var out [][2]int
	for _, e := range rungraph.Edges(runs, subflows) {
		a, okA := row[e.From]
		b, okB := row[e.To]
		p := [2]int{a, b}
		if !okA || !okB || a == b || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}
