// Package schedule parses Prefect's three deployment schedule kinds
// (interval, cron and rrule) and computes their start times exactly as
// Prefect's server does, so that runs scheduled by Praetor land on the same
// instants as they would under Prefect, across time zones and DST.
//
// It is pure: no database and no clock. Callers pass the times; the only
// time.Now read is Parse's default for what Prefect fills in from "now" (an
// interval's missing anchor_date, the DTSTART injected into a bare
// high-frequency rrule), and ParseAt takes that instant explicitly.
//
// The golden cases in testdata were computed by Prefect's own schedule
// classes (testdata/generate.py) and are matched instant for instant.
package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA zones; do not depend on the host's tzdata

	"github.com/praetorhq/praetor/internal/apperr"
)

// maxIterations bounds the candidates one Dates call examines after start,
// as Prefect's MAX_ITERATIONS does: Dates returns at most this many dates.
const maxIterations = 1000

// Schedule is one parsed deployment schedule.
type Schedule interface {
	// Dates returns at most n start times t with start <= t <= end (end
	// zero: no bound), ascending, with Prefect's server get_dates
	// inclusivity (both ends inclusive) and candidate limit (at most
	// 1000 candidates after start are examined). n <= 0 means Prefect's
	// n=None: 1000 when end is set, else 1. Times are in the schedule's
	// time zone.
	Dates(start, end time.Time, n int) []time.Time
	// Describe says it in words for the UI: "every day at 09:00
	// (Europe/Berlin)", "every 3 seconds", "at 09:00 on Monday through
	// Friday (America/New_York)", an rrule summary, ...
	Describe() string
	// MarshalJSON emits Prefect's exact key set for the kind (client models
	// forbid extra keys), normalised as Prefect's server returns it.
	json.Marshaler
}

// Parse reads one of the three JSON shapes of a schedule; which key is
// present (interval, cron or rrule) decides the kind. Its error is an
// *apperr.Error with code EInvalid (a 422) and a message for the user.
func Parse(data []byte) (Schedule, error) {
	return ParseAt(data, time.Now())
}

// ParseAt is Parse with the instant Prefect's defaults are taken from.
func ParseAt(data []byte, now time.Time) (Schedule, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, invalid("a schedule must be a JSON object with one of the keys interval, cron or rrule")
	}
	if dec.More() {
		return nil, invalid("a schedule must be a single JSON object")
	}
	var kinds []string
	for _, k := range []string{"interval", "cron", "rrule"} {
		if _, ok := raw[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch {
	case len(kinds) == 0:
		return nil, invalid("a schedule needs one of the keys interval, cron or rrule")
	case len(kinds) > 1:
		return nil, invalid("a schedule has exactly one of the keys interval, cron or rrule, not %s", strings.Join(kinds, " and "))
	}
	switch kinds[0] {
	case "interval":
		return parseInterval(raw, now)
	case "cron":
		return parseCron(raw)
	default:
		return parseRRule(raw, now)
	}
}

// invalid is a validation error for the client (422).
func invalid(format string, args ...any) error {
	return apperr.Errorf(apperr.EInvalid, format, args...)
}

// checkKeys refuses keys outside allowed, as Prefect's models (extra="forbid") do.
func checkKeys(raw map[string]json.RawMessage, kind string, allowed ...string) error {
	var extra []string
	for k := range raw {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	return invalid("%s schedule: extra inputs are not permitted: %s (allowed: %s)", kind, strings.Join(extra, ", "), strings.Join(allowed, ", "))
}

// isNull reports whether a present JSON value is null.
func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// parseTimezone reads an optional "timezone" value: ok false when absent or
// null. An empty string is kept (Prefect stores it and computes in UTC).
func parseTimezone(raw map[string]json.RawMessage) (name string, ok bool, err error) {
	v, present := raw["timezone"]
	if !present || isNull(v) {
		return "", false, nil
	}
	if err := json.Unmarshal(v, &name); err != nil {
		return "", false, invalid("timezone must be a string")
	}
	if name != "" {
		if _, err := loadZone(name); err != nil {
			return "", false, err
		}
	}
	return name, true, nil
}

// loadZone loads an IANA zone by name, refusing Go's "Local" and names
// outside the tz database as Prefect does.
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, invalidZone(name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, invalidZone(name)
	}
	return loc, nil
}

func invalidZone(name string) error {
	return invalid("Invalid timezone: %q (specify in IANA tzdata format, for example, America/New_York)", name)
}

// zoneSuffix is " (Zone)" for Describe, empty for UTC.
func zoneSuffix(name string) string {
	if name == "" || name == "UTC" {
		return ""
	}
	return fmt.Sprintf(" (%s)", name)
}
