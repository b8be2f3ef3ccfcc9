package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/praetorhq/praetor/internal/model"
)

func sampleTable() *table {
	completed, failed := model.StateType("COMPLETED"), model.StateType("FAILED")
	t := &table{headers: []string{"ID", "FLOW", "STATE"}, keep: map[int]bool{0: true, 2: true}}
	t.add(stateStyle(2, &completed), "01a232dc-f88c-718c-8dcb-62a7ac0afe32", "a-flow-with-a-very-long-name-indeed", "Completed")
	t.add(stateStyle(2, &failed), "01a232dc-f8c9-7bf0-a158-33489a68dce7", "short", "Failed")
	return t
}

// Into a pipe a table prints whole cells and no colour; COLUMNS narrows it.
func TestTableIntoAPipe(t *testing.T) {
	t.Setenv("COLUMNS", "")
	var b bytes.Buffer
	if err := sampleTable().print(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "a-flow-with-a-very-long-name-indeed") || strings.Contains(b.String(), "\x1b[") {
		t.Errorf("into a pipe:\n%s", b.String())
	}
	t.Setenv("COLUMNS", "60")
	b.Reset()
	sampleTable().print(&b)
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if n := utf8.RuneCountInString(line); n > 60 {
			t.Errorf("a line of %d columns with COLUMNS=60: %q", n, line)
		}
	}
	if !strings.Contains(b.String(), "…") || !strings.Contains(b.String(), "01a232dc-f88c-718c-8dcb-62a7ac0afe32") {
		t.Errorf("to fit 60 columns the flow names are not cut, or the ids are:\n%s", b.String())
	}
}

// On a terminal a table fits its width and colours the states, unless
// NO_COLOR is set.
func TestTableOnATerminal(t *testing.T) {
	for _, noColor := range []string{"", "1"} {
		t.Setenv("NO_COLOR", noColor)
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 56}); err != nil {
			t.Fatal(err)
		}
		if err := sampleTable().print(tty); err != nil {
			t.Fatal(err)
		}
		tty.Close()
		out, _ := io.ReadAll(ptmx) // ends with EIO once the other side is closed
		ptmx.Close()
		text := string(out)
		if colored := strings.Contains(text, "\x1b[32mCompleted\x1b[0m") && strings.Contains(text, "\x1b[31mFailed\x1b[0m"); colored != (noColor == "") {
			t.Errorf("NO_COLOR=%q: coloured %v:\n%q", noColor, colored, text)
		}
		plain := strings.NewReplacer("\x1b[32m", "", "\x1b[31m", "", "\x1b[0m", "", "\r", "").Replace(text)
		for _, line := range strings.Split(strings.TrimSpace(plain), "\n") {
			if n := utf8.RuneCountInString(line); n > 56 {
				t.Errorf("a line of %d columns on a 56-column terminal: %q", n, line)
			}
		}
	}
}
