package ui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/rungraph"
)

// Radar draws a flow run's task runs as a layered DAG, server-side, as SVG:
// one node per task run, one edge per data dependency, upstream on the
// left. layoutRadar is the pure layout; radarFor turns task runs into its
// input and its output into what the template draws.

// Geometry of the drawing, in SVG user units.
const (
	radarNodeW  = 168
	radarNodeH  = 36
	radarGapX   = 56
	radarGapY   = 14
	radarMargin = 12
)

// radarLayout is where layoutRadar puts each node and edge.
type radarLayout struct {
	Width, Height int
	Layer         []int // per node: its column, 0 for runs with nothing upstream
	Order         []int // per node: its row within its column
	X, Y          []int // per node: the top-left corner of its box
	Edges         []radarEdge
}

type radarEdge struct {
	From, To int    // node indices
	Path     string // SVG path data from the right of From to the left of To
}

// layoutRadar lays out n nodes (given in their preferred top-to-bottom
// order, e.g. by start time) and the edges between them (from upstream to
// downstream, as node indices). A node's column is the length of the
// longest path reaching it, so every edge points rightwards; rows within a
// column are ordered by the barycentre of their neighbours, sweeping both
// ways and keeping the ordering with the fewest crossings. Self-loops,
// duplicate edges and out-of-range indices are ignored; a cycle (which
// task inputs should never hold) is broken at its earliest node.
func layoutRadar(n int, edges [][2]int) radarLayout {
	l := radarLayout{Layer: make([]int, n), Order: make([]int, n), X: make([]int, n), Y: make([]int, n)}
	if n == 0 {
		l.Width, l.Height = 2*radarMargin, 2*radarMargin
		return l
	}
	// Clean the edge list.
	type pair struct{ a, b int }
	seen := map[pair]bool{}
	var es []pair
	for _, e := range edges {
		a, b := e[0], e[1]
		if a < 0 || b < 0 || a >= n || b >= n || a == b || seen[pair{a, b}] {
			continue
		}
		seen[pair{a, b}] = true
		es = append(es, pair{a, b})
	}
	preds := make([][]int, n)
	succs := make([][]int, n)
	for _, e := range es {
		succs[e.a] = append(succs[e.a], e.b)
		preds[e.b] = append(preds[e.b], e.a)
	}

	// Longest-path layering in topological order (Kahn): a node is placed
	// after all its predecessors, one column right of the rightmost. When
	// only cycles remain, the earliest remaining node is placed as if its
	// unplaced predecessors did not exist, and the edges from them (the
	// back edges) are dropped.
	indeg := make([]int, n)
	for _, e := range es {
		indeg[e.b]++
	}
	placed := make([]bool, n)
	var queue []int
	for i := 0; i < n; i++ {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	var forward []pair // the edges kept: each from a placed node to a later one
	for done := 0; done < n; {
		if len(queue) == 0 {
			for i := 0; i < n; i++ {
				if !placed[i] {
					queue = append(queue, i)
					break
				}
			}
		}
		v := queue[0]
		queue = queue[1:]
		if placed[v] {
			continue
		}
		placed[v] = true
		done++
		for _, p := range preds[v] {
			if placed[p] && p != v {
				l.Layer[v] = max(l.Layer[v], l.Layer[p]+1)
			}
		}
		for _, s := range succs[v] {
			if placed[s] {
				continue // a back edge of a cycle
			}
			forward = append(forward, pair{v, s})
			indeg[s]--
			if indeg[s] == 0 {
				queue = append(queue, s)
			}
		}
	}
	layers := 0
	for _, x := range l.Layer {
		layers = max(layers, x+1)
	}
	cols := make([][]int, layers)
	for i := 0; i < n; i++ {
		cols[l.Layer[i]] = append(cols[l.Layer[i]], i)
	}

	kept := make([][2]int, len(forward))
	for i, e := range forward {
		kept[i] = [2]int{e.a, e.b}
	}
	fpreds := make([][]int, n)
	fsuccs := make([][]int, n)
	for _, e := range forward {
		fsuccs[e.a] = append(fsuccs[e.a], e.b)
		fpreds[e.b] = append(fpreds[e.b], e.a)
	}
	pos := make([]float64, n)
	setPos := func() {
		for _, col := range cols {
			for j, v := range col {
				pos[v] = float64(j) - float64(len(col)-1)/2
			}
		}
	}
	setPos()
	best := cloneCols(cols)
	bestCross := crossings(kept, l.Layer, cols, n)
	for sweep := 0; sweep < 8 && bestCross > 0; sweep++ {
		down := sweep%2 == 0
		for k := range cols {
			c := k
			nb := fpreds
			if !down {
				c = len(cols) - 1 - k
				nb = fsuccs
			}
			col := cols[c]
			bary := make(map[int]float64, len(col))
			for _, v := range col {
				if len(nb[v]) == 0 {
					bary[v] = pos[v]
					continue
				}
				sum := 0.0
				for _, u := range nb[v] {
					sum += pos[u]
				}
				bary[v] = sum / float64(len(nb[v]))
			}
			sort.SliceStable(col, func(i, j int) bool { return bary[col[i]] < bary[col[j]] })
			setPos()
		}
		if c := crossings(kept, l.Layer, cols, n); c < bestCross {
			bestCross, best = c, cloneCols(cols)
		}
	}
	cols = best

	// Coordinates: columns left to right, each column centred vertically.
	tallest := 0
	for _, col := range cols {
		tallest = max(tallest, len(col))
	}
	for c, col := range cols {
		offset := (tallest - len(col)) * (radarNodeH + radarGapY) / 2
		for j, v := range col {
			l.Order[v] = j
			l.X[v] = radarMargin + c*(radarNodeW+radarGapX)
			l.Y[v] = radarMargin + offset + j*(radarNodeH+radarGapY)
		}
	}
	l.Width = 2*radarMargin + layers*radarNodeW + (layers-1)*radarGapX
	l.Height = 2*radarMargin + tallest*radarNodeH + (tallest-1)*radarGapY
	for _, e := range forward {
		x1, y1 := l.X[e.a]+radarNodeW, l.Y[e.a]+radarNodeH/2
		x2, y2 := l.X[e.b], l.Y[e.b]+radarNodeH/2
		mid := (x1 + x2) / 2
		l.Edges = append(l.Edges, radarEdge{From: e.a, To: e.b,
			Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2-2, y2)})
	}
	return l
}

func cloneCols(cols [][]int) [][]int {
	out := make([][]int, len(cols))
	for i, c := range cols {
		out[i] = append([]int(nil), c...)
	}
	return out
}

// crossings counts pairs of edges between the same two columns that cross.
func crossings(edges [][2]int, layer []int, cols [][]int, n int) int {
	row := make([]int, n)
	for _, col := range cols {
		for j, v := range col {
			row[v] = j
		}
	}
	count := 0
	for i := 0; i < len(edges); i++ {
		a, b := edges[i][0], edges[i][1]
		for j := i + 1; j < len(edges); j++ {
			c, d := edges[j][0], edges[j][1]
			if layer[a] != layer[c] || layer[b] != layer[d] {
				continue
			}
			if (row[a]-row[c])*(row[b]-row[d]) < 0 {
				count++
			}
		}
	}
	return count
}

// radarMaxNodes bounds the drawing; larger runs show their first task runs.
const radarMaxNodes = 500

// radarView is what the template draws.
type radarView struct {
	Width, Height int
	Nodes         []radarNodeView
	Edges         []radarEdge
	Shown, Total  int
}

type radarNodeView struct {
	X, Y, W, H   int
	TextX, TextY int
	Label        string // the name, shortened to fit
	Title        string // name and state, for the tooltip and screen readers
	URL          string
	Class        string
	Subflow      bool
}

// radarFor draws task runs (in start order) with their dependencies;
// subflows maps each child flow run to the task run that tracks it, and
// taskURL links a node.
func radarFor(runs []*model.TaskRun, total int, subflows map[uuid.UUID]uuid.UUID, taskURL func(uuid.UUID) string) radarView {
	if len(runs) > radarMaxNodes {
		runs = runs[:radarMaxNodes]
	}
	index := make(map[uuid.UUID]int, len(runs))
	for i, r := range runs {
		index[r.ID] = i
	}
	var edges [][2]int
	for _, e := range rungraph.Edges(runs, subflows) {
		edges = append(edges, [2]int{index[e.From], index[e.To]})
	}
	l := layoutRadar(len(runs), edges)
	isSubflow := map[uuid.UUID]bool{}
	for _, tr := range subflows {
		isSubflow[tr] = true
	}
	v := radarView{Width: l.Width, Height: l.Height, Edges: l.Edges, Shown: len(runs), Total: max(total, len(runs))}
	for i, r := range runs {
		st := stateOf(r.StateType, r.StateName)
		title := r.Name + ": " + st.Name
		if isSubflow[r.ID] {
			title = r.Name + " (subflow): " + st.Name
		}
		v.Nodes = append(v.Nodes, radarNodeView{X: l.X[i], Y: l.Y[i], W: radarNodeW, H: radarNodeH,
			TextX: l.X[i] + 12, TextY: l.Y[i] + radarNodeH/2 + 4, Label: shorten(r.Name, 22), Title: title,
			URL: taskURL(r.ID), Class: st.Class, Subflow: isSubflow[r.ID]})
	}
	return v
}

// shorten cuts s to at most n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
