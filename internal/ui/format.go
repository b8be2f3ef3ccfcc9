package ui

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/praetorhq/praetor/internal/model"
)

// ago renders a past time relative to now: "3m ago".
func ago(t *model.Time, now time.Time) string {
	if t == nil {
		return "—"
	}
	d := now.Sub(t.Time)
	if d < 0 {
		return "in " + short(-d)
	}
	return short(d) + " ago"
}

func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// when renders an absolute UTC time.
func when(t *model.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// duration renders seconds as "1m 5s".
func duration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
}

// stateClass is the CSS class of a state type.
func stateClass(t any) string {
	switch v := t.(type) {
	case model.StateType:
		return "state-" + strings.ToLower(string(v))
	case *model.StateType:
		if v != nil {
			return "state-" + strings.ToLower(string(*v))
		}
	}
	return "state-none"
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// Pager is the Previous and Next links of a paged list (the "pager"
// template); Of names what is paged, for the links' accessible name.
type Pager struct {
	Of               string
	PrevURL, NextURL string
}
