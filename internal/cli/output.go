package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/praetorhq/praetor/internal/model"
)

// output is how a command prints what it read: a table for people, JSON
// for scripts (--output json).
type output struct {
	format string
}

func (o *output) flag(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.format, "output", "o", "table", "table or json")
	prev := cmd.PreRunE
	cmd.PreRunE = func(cmd *cobra.Command, a []string) error {
		if o.format != "table" && o.format != "json" {
			return usagef("--output must be table or json, not %q", o.format)
		}
		if prev != nil {
			return prev(cmd, a)
		}
		return nil
	}
}

func (o *output) json() bool { return o.format == "json" }

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// terminalWidth is the width of w when it is a terminal, 0 otherwise.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	if ws.Col == 0 {
		return 80
	}
	return int(ws.Col)
}

// tableWidth is the width tables fit: the terminal's, else COLUMNS, else
// none (a pipe gets whole cells).
func tableWidth(w io.Writer) int {
	if n := terminalWidth(w); n > 0 {
		return n
	}
	n, _ := strconv.Atoi(os.Getenv("COLUMNS"))
	return max(n, 0)
}

// colour reports whether w gets colour: a terminal, and NO_COLOR unset or
// empty (no-color.org).
func colour(w io.Writer) bool {
	return os.Getenv("NO_COLOR") == "" && terminalWidth(w) > 0
}

// stateColours are the SGR colours of the state types.
var stateColours = map[model.StateType]string{
	model.StateType("COMPLETED"):  "32",
	model.StateType("RUNNING"):    "34",
	model.StateType("SCHEDULED"):  "33",
	model.StateType("PENDING"):    "33",
	model.StateType("PAUSED"):     "33",
	model.StateType("FAILED"):     "31",
	model.StateType("CRASHED"):    "31",
	model.StateType("CANCELLING"): "90",
	model.StateType("CANCELLED"):  "90",
}

// table prints rows under headers, cells padded to their column and cut
// (…) so a row fits the width; styles, when set, wraps a cell's padded
// text in an SGR colour (the width counts only the text).
type table struct {
	headers []string
	rows    [][]string
	styles  [][]string
}

func (t *table) add(style map[int]string, cells ...string) {
	t.rows = append(t.rows, cells)
	s := make([]string, len(cells))
	for i, c := range style {
		s[i] = c
	}
	t.styles = append(t.styles, s)
}

func (t *table) print(w io.Writer) error {
	n := len(t.headers)
	widths := make([]int, n)
	for i, h := range t.headers {
		widths[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	if limit := tableWidth(w); limit > 0 {
		// Narrow the widest column, one character at a time, down to 6.
		for sum(widths)+2*(n-1) > limit {
			widest := 0
			for i := range widths {
				if widths[i] > widths[widest] {
					widest = i
				}
			}
			if widths[widest] <= 6 {
				break
			}
			widths[widest]--
		}
	}
	useColour := colour(w)
	var b strings.Builder
	line := func(cells, styles []string) {
		for i, c := range cells {
			text := cut(c, widths[i])
			pad := ""
			if i < n-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(text)) + "  "
			}
			if useColour && styles != nil && styles[i] != "" {
				text = "\x1b[" + styles[i] + "m" + text + "\x1b[0m"
			}
			b.WriteString(text + pad)
		}
		b.WriteString("\n")
	}
	line(t.headers, nil)
	for i, r := range t.rows {
		line(r, t.styles[i])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

func cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// stateStyle is the style map of a row whose column col is a state.
func stateStyle(col int, t *model.StateType) map[int]string {
	if t == nil {
		return nil
	}
	return map[int]string{col: stateColours[*t]}
}

func stateOf(t *model.StateType, name *string) string {
	switch {
	case name != nil && *name != "":
		return *name
	case t != nil:
		return string(*t)
	}
	return "-"
}

func timeOf(t *model.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func strOr(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}

// kv prints key/value lines, the keys aligned.
func kv(w io.Writer, pairs ...[2]string) error {
	width := 0
	for _, p := range pairs {
		width = max(width, len(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&b, "%-*s  %s\n", width+1, p[0]+":", p[1])
	}
	_, err := io.WriteString(w, b.String())
	return err
}
