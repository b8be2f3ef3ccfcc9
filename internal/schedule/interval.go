package schedule

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Interval is Prefect's IntervalSchedule: every Every, aligned to Anchor,
// computed in Timezone.
type Interval struct {
	// Every is the interval, to the microsecond as Prefect keeps it.
	Every time.Duration
	// Anchor is the anchor date, with the UTC offset it was given in.
	Anchor time.Time
	// Timezone is the IANA zone the dates are computed in; "UTC" when none
	// was given (Prefect infers it from the anchor, which JSON can only
	// give as an offset, and an offset infers UTC). Prefect keeps "" too.
	Timezone string

	loc *time.Location
}

// maxIntervalDays is pydantic's bound on a timedelta.
const maxIntervalDays = 999_999_999

func parseInterval(raw map[string]json.RawMessage, now time.Time) (*Interval, error) {
	if err := checkKeys(raw, "interval", "interval", "anchor_date", "timezone"); err != nil {
		return nil, err
	}
	every, err := parseDuration(raw["interval"])
	if err != nil {
		return nil, err
	}
	s := &Interval{Every: every, Anchor: now.UTC().Truncate(time.Microsecond), Timezone: "UTC"}
	if v, ok := raw["anchor_date"]; ok {
		if s.Anchor, err = parseDateTime(v); err != nil {
			return nil, err
		}
	}
	if tz, ok, err := parseTimezone(raw); err != nil {
		return nil, err
	} else if ok {
		s.Timezone = tz
	}
	s.loc, _ = loadZone(s.Timezone) // checked by parseTimezone
	return s, nil
}

// isoDuration is the subset of ISO 8601 durations pydantic reads for a
// timedelta: days, hours, minutes and (fractional) seconds.
var isoDuration = regexp.MustCompile(`^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseDuration reads an interval: a number of seconds (what the client
// sends), a numeric string or an ISO 8601 duration such as "PT1H".
func parseDuration(v json.RawMessage) (time.Duration, error) {
	var secs float64
	var str string
	switch {
	case json.Unmarshal(v, &secs) == nil:
	case json.Unmarshal(v, &str) == nil:
		str = strings.TrimSpace(str)
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			secs = f
			break
		}
		m := isoDuration.FindStringSubmatch(strings.ToUpper(str))
		if m == nil || str == "P" || strings.HasSuffix(strings.ToUpper(str), "T") {
			return 0, invalid("interval must be a number of seconds or an ISO 8601 duration, not %q", str)
		}
		for i, unit := range []float64{7 * 86400, 86400, 3600, 60, 1} {
			if m[i+1] != "" {
				f, _ := strconv.ParseFloat(m[i+1], 64)
				secs += f * unit
			}
		}
	default:
		return 0, invalid("interval must be a number of seconds")
	}
	if math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > maxIntervalDays*86400 {
		return 0, invalid("interval: durations may not exceed 999,999,999 days")
	}
	us := math.RoundToEven(secs * 1e6)
	if us <= 0 {
		return 0, invalid("interval must be positive")
	}
	// A time.Duration holds about 292 years; longer intervals are clamped
	// (nothing could ever be scheduled twice with them anyway).
	if us >= float64(math.MaxInt64/1000) {
		return time.Duration(math.MaxInt64/1000) * time.Microsecond, nil
	}
	return time.Duration(us) * time.Microsecond, nil
}

// dateTimeLayouts are the ISO 8601 forms accepted for a date-time; one
// without an offset is UTC, as Prefect reads it.
var dateTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseDateTime reads a JSON date-time: an ISO 8601 string or a Unix
// timestamp in seconds. Precision is the microsecond, as in Python.
func parseDateTime(v json.RawMessage) (time.Time, error) {
	var str string
	if err := json.Unmarshal(v, &str); err != nil {
		var secs float64
		if err := json.Unmarshal(v, &secs); err != nil || math.IsNaN(secs) || math.Abs(secs) > 1e11 {
			return time.Time{}, invalid("anchor_date must be an ISO 8601 date-time")
		}
		return time.UnixMicro(int64(math.RoundToEven(secs * 1e6))).UTC(), nil
	}
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, strings.TrimSpace(str)); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t.Round(time.Microsecond), nil
		}
	}
	return time.Time{}, invalid("anchor_date: unable to parse %q as an ISO 8601 date-time", str)
}

// formatDateTime writes a date-time as Prefect's server does:
// microseconds only when non-zero, "Z" for a zero offset.
func formatDateTime(t time.Time) string {
	layout := "2006-01-02T15:04:05"
	if t.Nanosecond() != 0 {
		layout += ".000000"
	}
	if _, off := t.Zone(); off == 0 {
		return t.Format(layout) + "Z"
	}
	return t.Format(layout + "Z07:00")
}

// MarshalJSON emits {"interval", "anchor_date", "timezone"}.
func (s *Interval) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Interval   json.Number `json:"interval"`
		AnchorDate string      `json:"anchor_date"`
		Timezone   string      `json:"timezone"`
	}{pyFloat(s.Every.Seconds()), formatDateTime(s.Anchor), s.Timezone})
}

// Dates follows Prefect's IntervalSchedule._get_dates_generator on its
// pendulum path (Python before 3.13, the pinned server's): jump to the
// interval nearest start in UTC seconds, then step. An interval with whole
// days in it steps in local wall time (so a daily run keeps its clock hour
// across DST), a shorter one in UTC.
func (s *Interval) Dates(start, end time.Time, n int) []time.Time {
	n = defaultN(n, end)
	start, end = start.Truncate(time.Microsecond), end.Truncate(time.Microsecond)
	anchor := s.Anchor.In(s.loc)
	everyUS := s.Every.Microseconds()
	days := everyUS / (86400 * 1e6)
	rest := time.Duration(everyUS-days*86400*1e6) * time.Microsecond
	advance := func(t time.Time) time.Time {
		if days == 0 {
			return t.Add(rest)
		}
		w := wallOf(t, s.loc).AddDate(0, 0, int(days)).Add(rest)
		return placePendulum(w, s.loc)
	}

	offset := (float64(start.UnixMicro()-anchor.UnixMicro()) / 1e6) / s.Every.Seconds()
	jump := math.RoundToEven(s.Every.Seconds() * math.Trunc(offset) * 1e6)
	next := anchor.Add(time.Duration(jump) * time.Microsecond)
	// Prefect's datetimes all share the schedule's zone object, and Python
	// compares and hashes such datetimes by wall time, not by instant: so
	// the bounds, the loop below and the de-duplication go by wall time
	// (an hourly schedule loses the repeated hour of a fall-back).
	startW, endW := wallOf(start, s.loc), wallOf(end, s.loc)
	// DST can leave the jump before start; Prefect steps until it is not.
	for i := 0; wallOf(next, s.loc).Before(startW) && i <= maxIterations; i++ {
		next = advance(next)
	}
	return collect(next, advance, s.loc, !end.IsZero(), endW, n)
}

// collect runs Prefect's candidate loop shared by the interval and cron
// generators: from first, stop past end (by wall time), drop a date whose
// wall time was already yielded, stop at n dates or after maxIterations+2
// candidates. The dates come back sorted by wall time, as Python's sorted
// orders datetimes of one zone.
func collect(first time.Time, next func(time.Time) time.Time, loc *time.Location, bounded bool, endW time.Time, n int) []time.Time {
	var dates []time.Time
	seen := map[time.Time]bool{}
	t := first
	for counter := 0; ; counter++ {
		w := wallOf(t, loc)
		if bounded && w.After(endW) {
			break
		}
		if !seen[w] {
			seen[w] = true
			dates = append(dates, t)
		}
		if len(dates) >= n || counter > maxIterations {
			break
		}
		t = next(t)
	}
	slices.SortStableFunc(dates, func(a, b time.Time) int { return wallOf(a, loc).Compare(wallOf(b, loc)) })
	return dates
}

// defaultN is Prefect's default for n=None: every date up to the bound
// when there is an end, else one.
func defaultN(n int, end time.Time) int {
	switch {
	case n > 0:
		return n
	case !end.IsZero():
		return maxIterations
	default:
		return 1
	}
}

// Describe says "every 3 seconds", "every 2 hours", "every day at 09:00
// (Europe/Berlin)".
func (s *Interval) Describe() string {
	every := s.Every
	unit := func(n int64, one, many string) string {
		if n == 1 {
			return "every " + one
		}
		return fmt.Sprintf("every %d %s", n, many)
	}
	switch {
	case every%(24*time.Hour) == 0:
		w := s.Anchor.In(s.loc)
		at := w.Format("15:04")
		if w.Second() != 0 {
			at = w.Format("15:04:05")
		}
		return unit(int64(every/(24*time.Hour)), "day", "days") + " at " + at + zoneSuffix(s.Timezone)
	case every%time.Hour == 0:
		return unit(int64(every/time.Hour), "hour", "hours")
	case every%time.Minute == 0:
		return unit(int64(every/time.Minute), "minute", "minutes")
	case every%time.Second == 0:
		return unit(int64(every/time.Second), "second", "seconds")
	default:
		return fmt.Sprintf("every %s seconds", strconv.FormatFloat(every.Seconds(), 'f', -1, 64))
	}
}

// pyFloat writes f as Python's json module does ("3600.0", "1.5",
// "1e+16"): the interval is a float on Prefect's wire.
func pyFloat(f float64) json.Number {
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return json.Number(strconv.FormatFloat(f, 'e', -1, 64))
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return json.Number(s)
}
