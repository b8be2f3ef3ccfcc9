package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

func TestLayoutRadar(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		edges  [][2]int
		layers []int // want: the column of each node
		edgesN int   // want: the edges drawn
		cross  int   // want: crossings between adjacent columns at most
	}{
		{name: "empty", n: 0, layers: []int{}},
		{name: "one node", n: 1, layers: []int{0}},
		{name: "independent nodes share the first column", n: 3, layers: []int{0, 0, 0}},
		{name: "chain", n: 3, edges: [][2]int{{0, 1}, {1, 2}}, layers: []int{0, 1, 2}, edgesN: 2},
		{name: "chain given downstream first", n: 3, edges: [][2]int{{2, 1}, {1, 0}}, layers: []int{2, 1, 0}, edgesN: 2},
		{name: "diamond", n: 4, edges: [][2]int{{0, 1}, {0, 2}, {1, 3}, {2, 3}}, layers: []int{0, 1, 1, 2}, edgesN: 4},
		{name: "longest path wins", n: 3, edges: [][2]int{{0, 1}, {1, 2}, {0, 2}}, layers: []int{0, 1, 2}, edgesN: 3},
		{
			// flaky; double ×3 → add_all → child subflow: the mapped
			// shape of compat/flows/retries_map_subflow.py.
			name: "mapped fan-in and a subflow", n: 6,
			edges:  [][2]int{{1, 4}, {2, 4}, {3, 4}, {4, 5}},
			layers: []int{0, 0, 0, 0, 1, 2}, edgesN: 4,
		},
		{name: "duplicates, self-loops and bad indices are ignored", n: 2,
			edges: [][2]int{{0, 1}, {0, 1}, {1, 1}, {-1, 0}, {0, 7}}, layers: []int{0, 1}, edgesN: 1},
		{
			// a→d and b→c cross in input order; the sweep swaps c and d.
			name: "crossing removed", n: 4, edges: [][2]int{{0, 3}, {1, 2}},
			layers: []int{0, 0, 1, 1}, edgesN: 2, cross: 0,
		},
		{
			// Three mapped runs, each feeding its own downstream run,
			// given in the opposite order: all three pairs cross.
			name: "reversed pairs untangled", n: 6,
			edges:  [][2]int{{0, 5}, {1, 4}, {2, 3}},
			layers: []int{0, 0, 0, 1, 1, 1}, edgesN: 3, cross: 0,
		},
		{
			// Two fans sharing targets: one crossing is unavoidable, and
			// the layout never does worse than the input order (3).
			name: "interleaved fans no worse", n: 6,
			edges:  [][2]int{{0, 3}, {0, 5}, {1, 4}, {2, 3}, {2, 5}},
			layers: []int{0, 0, 0, 1, 1, 1}, edgesN: 5, cross: 3,
		},
		{name: "a cycle is broken, not looped on", n: 3, edges: [][2]int{{0, 1}, {1, 2}, {2, 0}}, layers: []int{0, 1, 2}, edgesN: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := layoutRadar(tc.n, tc.edges)
			if !slices.Equal(l.Layer, tc.layers) {
				t.Errorf("layers = %v, want %v", l.Layer, tc.layers)
			}
			if len(l.Edges) != tc.edgesN {
				t.Errorf("%d edges drawn, want %d: %+v", len(l.Edges), tc.edgesN, l.Edges)
			}
			checkRadarGeometry(t, l, tc.n)
			var kept [][2]int
			for _, e := range l.Edges {
				kept = append(kept, [2]int{e.From, e.To})
			}
			cols := make([][]int, 0)
			for v := 0; v < tc.n; v++ {
				for len(cols) <= l.Layer[v] {
					cols = append(cols, nil)
				}
			}
			for c := range cols {
				for v := 0; v < tc.n; v++ {
					if l.Layer[v] == c {
						cols[c] = append(cols[c], v)
					}
				}
				slices.SortFunc(cols[c], func(a, b int) int { return l.Order[a] - l.Order[b] })
			}
			if got := crossings(kept, l.Layer, cols, tc.n); got > tc.cross {
				t.Errorf("%d crossings, want at most %d (orders %v)", got, tc.cross, l.Order)
			}
		})
	}
}

// checkRadarGeometry checks what every layout must satisfy: boxes inside
// the drawing, no two overlapping, columns left to right, every edge
// pointing rightwards from its upstream box to its downstream one.
func checkRadarGeometry(t *testing.T, l radarLayout, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if l.X[i] < 0 || l.Y[i] < 0 || l.X[i]+radarNodeW > l.Width || l.Y[i]+radarNodeH > l.Height {
			t.Errorf("node %d at (%d,%d) lies outside the %dx%d drawing", i, l.X[i], l.Y[i], l.Width, l.Height)
		}
		if want := radarMargin + l.Layer[i]*(radarNodeW+radarGapX); l.X[i] != want {
			t.Errorf("node %d in column %d at x=%d, want %d", i, l.Layer[i], l.X[i], want)
		}
		for j := i + 1; j < n; j++ {
			if l.X[i] == l.X[j] && abs(l.Y[i]-l.Y[j]) < radarNodeH {
				t.Errorf("nodes %d and %d overlap at (%d,%d) and (%d,%d)", i, j, l.X[i], l.Y[i], l.X[j], l.Y[j])
			}
		}
	}
	for _, e := range l.Edges {
		if l.Layer[e.To] <= l.Layer[e.From] {
			t.Errorf("edge %d→%d does not point rightwards (columns %d→%d)", e.From, e.To, l.Layer[e.From], l.Layer[e.To])
		}
		start := fmt.Sprintf("M%d %d ", l.X[e.From]+radarNodeW, l.Y[e.From]+radarNodeH/2)
		end := fmt.Sprintf(" %d %d", l.X[e.To]-2, l.Y[e.To]+radarNodeH/2)
		if !strings.HasPrefix(e.Path, start) || !strings.HasSuffix(e.Path, end) {
			t.Errorf("edge %d→%d path %q does not join the right of %d to the left of %d", e.From, e.To, e.Path, e.From, e.To)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// radarFor reads edges from task_inputs: data parameters, __parents__ and
// wait_for alike, subflow results through the subflow's task run; it links
// every node to its task run page and marks subflows.
func TestRadarForTaskInputs(t *testing.T) {
	id := func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	ref := func(typ string, u uuid.UUID) model.TaskRunInput { return model.TaskRunInput{InputType: typ, ID: &u} }
	completed, failed := model.Completed, model.Failed
	a, b, c, d, sub, child, outside := id(), id(), id(), id(), id(), id(), id()
	runs := []*model.TaskRun{
		{ID: a, Name: "extract", RunTracking: model.RunTracking{StateType: &completed}},
		{ID: b, Name: "transform-0", TaskInputs: map[string][]model.TaskRunInput{"x": {ref("task_run", a)}}},
		{ID: c, Name: "transform-1", TaskInputs: map[string][]model.TaskRunInput{
			"x": {ref("task_run", a), ref("task_run", a)}, // the same upstream twice: one edge
			"y": {{InputType: "parameter", Name: ptr("y")}, {InputType: "constant", Type: ptr("int")}},
		}},
		{ID: sub, Name: "child", TaskInputs: map[string][]model.TaskRunInput{"__parents__": {ref("task_run", b)}}},
		{ID: d, Name: "load-with-a-very-long-name-indeed", RunTracking: model.RunTracking{StateType: &failed},
			TaskInputs: map[string][]model.TaskRunInput{
				"data":     {ref("task_run", c), ref("flow_run", child)},
				"wait_for": {ref("task_run", b), ref("task_run", outside)}, // outside the graph: dropped
			}},
	}
	v := radarFor(runs, len(runs), map[uuid.UUID]uuid.UUID{child: sub}, func(u uuid.UUID) string { return "/t/" + u.String() })
	if len(v.Nodes) != 5 {
		t.Fatalf("%d nodes, want 5", len(v.Nodes))
	}
	got := map[string]bool{}
	name := map[int]string{}
	for i, r := range runs {
		name[i] = r.Name
	}
	for _, e := range v.Edges {
		got[name[e.From]+"→"+name[e.To]] = true
	}
	want := []string{"extract→transform-0", "extract→transform-1", "transform-0→child", "transform-1→load-with-a-very-long-name-indeed",
		"child→load-with-a-very-long-name-indeed", "transform-0→load-with-a-very-long-name-indeed"}
	if len(v.Edges) != len(want) {
		t.Errorf("%d edges %v, want %d", len(v.Edges), got, len(want))
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing edge %s; have %v", w, got)
		}
	}
	for i, n := range v.Nodes {
		if n.URL != "/t/"+runs[i].ID.String() {
			t.Errorf("node %d links to %q", i, n.URL)
		}
		if n.Subflow != (runs[i].ID == sub) {
			t.Errorf("node %s subflow = %v", runs[i].Name, n.Subflow)
		}
	}
	if v.Nodes[0].Class != "state-completed" || v.Nodes[4].Class != "state-failed" || v.Nodes[1].Class != "state-none" {
		t.Errorf("classes %q %q %q", v.Nodes[0].Class, v.Nodes[4].Class, v.Nodes[1].Class)
	}
	if l := v.Nodes[4].Label; len([]rune(l)) > 22 || !strings.HasSuffix(l, "…") {
		t.Errorf("long label %q not shortened", l)
	}
}

func ptr[T any](v T) *T { return &v }
