package schedule

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cron is Prefect's CronSchedule: croniter's dialect (five fields, six with
// seconds last, seven with a year), computed on local wall time in
// Timezone.
type Cron struct {
	Expr string
	// Timezone is the IANA zone; nil when none was given (Prefect keeps it
	// null and computes in UTC).
	Timezone *string
	DayOr    bool

	loc  *time.Location
	spec cronSpec
}

func parseCron(raw map[string]json.RawMessage) (*Cron, error) {
	if err := checkKeys(raw, "cron", "cron", "timezone", "day_or"); err != nil {
		return nil, err
	}
	s := &Cron{DayOr: true, loc: time.UTC}
	if err := json.Unmarshal(raw["cron"], &s.Expr); err != nil || isNull(raw["cron"]) {
		return nil, invalid("cron must be a string")
	}
	if v, ok := raw["day_or"]; ok {
		if err := json.Unmarshal(v, &s.DayOr); err != nil || isNull(v) {
			return nil, invalid("day_or must be true or false")
		}
	}
	tz, ok, err := parseTimezone(raw)
	if err != nil {
		return nil, err
	}
	if ok {
		s.Timezone = &tz
		s.loc, _ = loadZone(tz)
	}
	if s.spec, err = parseCronExpr(s.Expr); err != nil {
		return nil, err
	}
	return s, nil
}

// MarshalJSON emits {"cron", "timezone", "day_or"}.
func (s *Cron) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Cron     string  `json:"cron"`
		Timezone *string `json:"timezone"`
		DayOr    bool    `json:"day_or"`
	}{s.Expr, s.Timezone, s.DayOr})
}

// Dates follows Prefect's CronSchedule._get_dates_generator: croniter walks
// wall time from one second before start, and each wall time is placed in
// the zone as pendulum does with fold=0 (a repeated time is its first
// occurrence, a skipped one is read with the offset from after the gap, so
// a skipped 02:30 lands an hour earlier).
func (s *Cron) Dates(start, end time.Time, n int) []time.Time {
	n = defaultN(n, end)
	startW := wallOf(start.Truncate(time.Microsecond), s.loc)
	cur := startW.Add(-time.Second)
	if cur.Nanosecond() != 0 {
		cur = cur.Add(time.Second)
	}
	cur = cur.Truncate(time.Second)
	return collect(func() (time.Time, bool) {
		w, ok := s.spec.next(cur, s.DayOr)
		if !ok {
			return time.Time{}, false
		}
		cur = w
		return placeCreateFold0(w, s.loc), true
	}, s.loc, pastByWall(end.Truncate(time.Microsecond), s.loc), n)
}

// cron fields, in croniter's order (seconds and year after the day of week).
const (
	fMinute = iota
	fHour
	fDay
	fMonth
	fDow
	fSecond
	fYear
)

var cronRanges = [7][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}, {0, 59}, {1970, 2099}}

// cronLenMeansAll is how many values make a field "every value".
var cronLenMeansAll = [7]int{60, 24, 31, 12, 7, 60, 130}

var cronMonths = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
var cronWeekdays = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

var cronAliases = map[string]string{
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
	"@daily":    "0 0 * * *",
	"@weekly":   "0 0 * * 0",
	"@monthly":  "0 0 1 * *",
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
}

var (
	cronStepRe    = regexp.MustCompile(`^([^-]+)-([^-/]+)(/(\d+))?$`)
	cronIntRe     = regexp.MustCompile(`^\d+$`)
	cronStarInt   = regexp.MustCompile(`^(\d+|\*)$`)
	cronHashRe    = regexp.MustCompile(`^(h|r)(\((\d+)-(\d+)\))?(/(\d+))?$`)
	cronNthDowRe  = regexp.MustCompile(`^(?:((?:(?:sun|mon|tue|wed|thu|fri|sat)(?:-(?:sun|mon|tue|wed|thu|fri|sat))?)|(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)(?:-(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))?)|\w+)#|l)(\d+)$`)
	cronStarStepR = regexp.MustCompile(`^\*(/.+)$`)
	cronStepOnly  = regexp.MustCompile(`^(.+)/(.+)$`)
)

// cronField is one expanded field: every value (star), or the listed
// values and, for the day of month, "L" (the last day).
type cronField struct {
	star bool
	vals []int
	last bool
}

type cronSpec struct {
	fields []cronField
	// nth maps a weekday to the occurrences asked for with "#" (1-5) or
	// "L" (0 here: the last one in the month).
	nth map[int][]int
}

// parseCronExpr expands an expression as croniter does, refusing what it
// refuses, and refuses random and hashed expressions as Prefect does.
func parseCronExpr(expr string) (cronSpec, error) {
	bad := func() (cronSpec, error) { return cronSpec{}, invalid("Invalid cron string: %q", expr) }
	efl := strings.ToLower(expr)
	if a, ok := cronAliases[efl]; ok {
		efl = a
	}
	exprs := strings.Fields(efl)
	if len(exprs) < 5 || len(exprs) > 7 {
		return bad()
	}
	for _, e := range exprs {
		if cronHashRe.MatchString(e) {
			return cronSpec{}, invalid("Random and Hashed expressions are unsupported, received: %q", expr)
		}
	}
	spec := cronSpec{nth: map[int][]int{}}
	for fi, e := range exprs {
		f, ok := expandCronField(fi, e, exprs, spec.nth)
		if !ok {
			return bad()
		}
		spec.fields = append(spec.fields, f)
	}
	if len(spec.nth) > 0 {
		dow := spec.fields[fDow]
		extra := false
		for _, v := range dow.vals {
			if _, ok := spec.nth[v]; !ok {
				extra = true
			}
		}
		if extra && len(dow.vals) != cronLenMeansAll[fDow] {
			return bad()
		}
	}
	return spec, nil
}

// cronAlias is croniter's value_alias: 0 means 1 for the day and month, 7
// means Sunday, except where croniter's field count turns that off.
func cronAlias(v, fi, nfields int) int {
	switch fi {
	case fDay, fMonth:
		if v == 0 && nfields == 6 && fi == fDay {
			return 1
		}
	case fDow:
		if v == 7 && nfields == 5 {
			return 0
		}
	}
	return v
}

func expandCronField(fi int, expr string, exprs []string, nth map[int][]int) (cronField, bool) {
	lo, hi := cronRanges[fi][0], cronRanges[fi][1]
	if strings.Contains(expr, "?") {
		if expr != "?" || (fi != fDay && fi != fDow) {
			return cronField{}, false
		}
		expr = "*"
	}
	alpha := func(s string) (string, bool) {
		switch fi {
		case fDay:
			if s == "l" {
				return "l", true
			}
		case fMonth:
			if v, ok := cronMonths[s]; ok {
				return strconv.Itoa(v), true
			}
		case fDow:
			if v, ok := cronWeekdays[s]; ok {
				return strconv.Itoa(v), true
			}
		}
		return "", false
	}
	var f cronField
	vals := map[int]bool{}
	pending := strings.Split(expr, ",")
	for len(pending) > 0 {
		e := pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		nthN := 0 // 1-5 for "#", -1 for "L"
		if fi == fDow {
			if m := cronNthDowRe.FindStringSubmatch(e); m != nil {
				if m[1] != "" {
					n, err := strconv.Atoi(m[2])
					if err != nil || n < 1 || n > 5 {
						return cronField{}, false
					}
					e, nthN = m[1], n
				} else {
					e, nthN = m[2], -1
				}
			}
		}
		t := e
		if m := cronStarStepR.FindStringSubmatch(e); m != nil {
			t = fmt.Sprintf("%d-%d%s", lo, hi, m[1])
		}
		m := cronStepRe.FindStringSubmatch(t)
		if m == nil {
			if mm := cronStepOnly.FindStringSubmatch(e); mm != nil {
				t = fmt.Sprintf("%s-%d/%s", mm[1], hi, mm[2])
			} else {
				t = e
			}
			m = cronStepRe.FindStringSubmatch(t)
		}
		if m != nil {
			low, high, stepS := m[1], m[2], m[4]
			if fi == fDay && high == "l" {
				high = "31"
			}
			var ok bool
			if !cronIntRe.MatchString(low) {
				if low, ok = alpha(low); !ok {
					return cronField{}, false
				}
			}
			if !cronIntRe.MatchString(high) {
				if high, ok = alpha(high); !ok {
					return cronField{}, false
				}
			}
			step := 1
			if stepS != "" {
				step, _ = strconv.Atoi(stepS)
			}
			if !cronIntRe.MatchString(low) || !cronIntRe.MatchString(high) || step <= 0 || len(stepS) > 9 {
				return cronField{}, false
			}
			l, err1 := strconv.Atoi(low)
			h, err2 := strconv.Atoi(high)
			if err1 != nil || err2 != nil || len(low) > 9 || len(high) > 9 {
				return cronField{}, false
			}
			l, h = cronAlias(l, fi, len(exprs)), cronAlias(h, fi, len(exprs))
			if max(l, h) > max(lo, hi) {
				return cronField{}, false
			}
			var rng []int
			switch {
			case l > h:
				for v := l; v <= hi; v += step {
					rng = append(rng, v)
				}
				skip := 0
				lastV := rng[len(rng)-1]
				alreadySkipped := hi - lastV
				if lastV-lo+step > hi-lo+1 && alreadySkipped < step {
					skip = step - alreadySkipped
				}
				for v := lo + skip; v <= h; v += step {
					rng = append(rng, v)
				}
			case l == h:
				for v := lo; v <= hi; v += step {
					rng = append(rng, v)
				}
			default:
				for v := l; v <= h; v += step {
					rng = append(rng, v)
				}
			}
			for _, v := range rng {
				item := strconv.Itoa(v)
				if fi == fDow && nthN > 0 {
					item = fmt.Sprintf("%d#%d", v, nthN)
				}
				if !slices.Contains(pending, item) {
					pending = append(pending, item)
				}
			}
			continue
		}
		if strings.HasPrefix(t, "-") {
			return cronField{}, false
		}
		if !cronStarInt.MatchString(t) {
			var ok bool
			if t, ok = alpha(t); !ok {
				return cronField{}, false
			}
		}
		switch t {
		case "*":
			f.star = true
		case "l":
			f.last = true
		default:
			if len(t) > 9 {
				return cronField{}, false
			}
			v, _ := strconv.Atoi(t)
			v = cronAlias(v, fi, len(exprs))
			if v < lo || v > hi {
				return cronField{}, false
			}
			vals[v] = true
			if fi == fDow && nthN != 0 {
				n := nthN
				if n < 0 {
					n = 0
				}
				if !slices.Contains(nth[v], n) {
					nth[v] = append(nth[v], n)
				}
			}
		}
	}
	for v := range vals {
		f.vals = append(f.vals, v)
	}
	slices.Sort(f.vals)
	count := len(f.vals)
	if f.star {
		count++
	}
	if f.last {
		count++
	}
	// croniter collapses a field listing every value to "*", except the day
	// of month and day of week while the other one has no "*" (day_or).
	if count == cronLenMeansAll[fi] && !(fi == fDay && !strings.Contains(exprs[fDow], "*")) && !(fi == fDow && !strings.Contains(exprs[fDay], "*")) {
		f = cronField{star: true}
	}
	return f, true
}

// maxCronYears is croniter's max_years_between_matches.
const maxCronYears = 50

// next is croniter's get_next on a naive wall time: the first matching
// time after cur, or ok false when none is within 50 years (croniter
// raises; Prefect's scheduler then fails the pass).
func (c cronSpec) next(cur time.Time, dayOr bool) (time.Time, bool) {
	fields := c.fields
	if dayOr && !fields[fDay].star && !fields[fDow].star {
		withDay := slices.Clone(fields)
		withDay[fDow] = cronField{star: true}
		withDow := slices.Clone(fields)
		withDow[fDay] = cronField{star: true}
		// croniter computes both and fails if either finds nothing.
		t1, ok1 := cronSpec{withDay, c.nth}.calc(cur)
		t2, ok2 := cronSpec{withDow, c.nth}.calc(cur)
		if !ok1 || !ok2 {
			return time.Time{}, false
		}
		if t1.Before(t2) {
			return t1, true
		}
		return t2, true
	}
	return c.calc(cur)
}

// nearestDiff is croniter's _get_next_nearest_diff: the distance from x to
// the next allowed value, wrapping by span (span 0: no wrap, ok false).
func (f cronField) nearestDiff(x, span int) (int, bool) {
	for _, v := range f.vals {
		if v >= x {
			return v - x, true
		}
	}
	if f.last && span != 0 && span >= x {
		return span - x, true
	}
	if span == 0 || len(f.vals) == 0 {
		return 0, false
	}
	return f.vals[0] - x + span, true
}

func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func (c cronSpec) calc(cur time.Time) (time.Time, bool) {
	f := c.fields
	withSeconds := len(f) > 5
	d := cur.Truncate(time.Second)
	if withSeconds {
		d = d.Add(time.Second)
	} else {
		d = d.Add(time.Minute)
	}
	startYear := d.Year()
	midnight := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	for abs(d.Year()-startYear) <= maxCronYears {
		// Each step moves d forward to the next candidate of one field and
		// starts over from the year, as croniter's procs do.
		if len(f) == 7 && !f[fYear].star {
			diff, ok := f[fYear].nearestDiff(d.Year(), 0)
			if !ok {
				return time.Time{}, false
			}
			if diff != 0 {
				d = time.Date(d.Year()+diff, 1, 1, 0, 0, 0, 0, time.UTC)
				continue
			}
		}
		if !f[fMonth].star {
			if diff, ok := f[fMonth].nearestDiff(int(d.Month()), 12); ok && diff != 0 {
				d = time.Date(d.Year(), d.Month()+time.Month(diff), 1, 0, 0, 0, 0, time.UTC)
				continue
			}
		}
		if !f[fDay].star {
			days := daysIn(d.Year(), d.Month())
			if !(f[fDay].last && days == d.Day()) {
				if diff, ok := f[fDay].nearestDiff(d.Day(), days); ok && diff != 0 {
					d = midnight(d).AddDate(0, 0, diff)
					continue
				}
			}
		}
		if len(c.nth) > 0 {
			days := daysIn(d.Year(), d.Month())
			best := 0
			for wday, ns := range c.nth {
				var occ []int
				for day := 1; day <= days; day++ {
					if int(time.Date(d.Year(), d.Month(), day, 0, 0, 0, 0, time.UTC).Weekday()) == wday {
						occ = append(occ, day)
					}
				}
				for _, n := range ns {
					cand := 0
					switch {
					case n == 0:
						cand = occ[len(occ)-1]
					case len(occ) < n:
						continue
					default:
						cand = occ[n-1]
					}
					if d.Day() <= cand && (best == 0 || cand < best) {
						best = cand
					}
				}
			}
			if best == 0 {
				d = midnight(d).AddDate(0, 0, days-d.Day()+1)
				continue
			}
			if best != d.Day() {
				d = midnight(d).AddDate(0, 0, best-d.Day())
				continue
			}
		} else if !f[fDow].star {
			if diff, ok := f[fDow].nearestDiff(int(d.Weekday()), 7); ok && diff != 0 {
				d = midnight(d).AddDate(0, 0, diff)
				continue
			}
		}
		if !f[fHour].star {
			if diff, ok := f[fHour].nearestDiff(d.Hour(), 24); ok && diff != 0 {
				d = d.Truncate(time.Hour).Add(time.Duration(diff) * time.Hour)
				continue
			}
		}
		if !f[fMinute].star {
			if diff, ok := f[fMinute].nearestDiff(d.Minute(), 60); ok && diff != 0 {
				d = d.Truncate(time.Minute).Add(time.Duration(diff) * time.Minute)
				continue
			}
		}
		if withSeconds {
			if !f[fSecond].star {
				if diff, ok := f[fSecond].nearestDiff(d.Second(), 60); ok && diff != 0 {
					d = d.Add(time.Duration(diff) * time.Second)
					continue
				}
			}
		} else {
			d = d.Truncate(time.Minute)
		}
		return d, true
	}
	return time.Time{}, false
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

var weekdayNames = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// Describe says it in words: "at 09:00 on Monday through Friday
// (America/New_York)", "every 5 minutes", "at minute 15 past every hour";
// what it cannot put in words it shows as the expression.
func (s *Cron) Describe() string {
	tz := ""
	if s.Timezone != nil {
		tz = zoneSuffix(*s.Timezone)
	}
	efl := strings.ToLower(strings.TrimSpace(s.Expr))
	if a, ok := cronAliases[efl]; ok {
		efl = a
	}
	fs := strings.Fields(efl)
	if len(fs) != 5 && !(len(fs) == 6 && fs[5] == "0") {
		return fmt.Sprintf("cron %q%s", s.Expr, tz)
	}
	min, hour, dom, mon, dow := fs[0], fs[1], fs[2], fs[3], fs[4]
	num := func(v string) (int, bool) {
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	var when string
	m, mOK := num(min)
	h, hOK := num(hour)
	switch {
	case mOK && hOK:
		when = fmt.Sprintf("at %02d:%02d", h, m)
	case mOK && hour == "*":
		if m == 0 {
			when = "every hour"
		} else {
			when = fmt.Sprintf("at minute %d past every hour", m)
		}
	case min == "*" && hour == "*":
		when = "every minute"
	case strings.HasPrefix(min, "*/") && hour == "*":
		when = "every " + strings.TrimPrefix(min, "*/") + " minutes"
	default:
		return fmt.Sprintf("cron %q%s", s.Expr, tz)
	}
	var days []string
	if dom != "*" && dom != "?" {
		if dom == "l" {
			days = append(days, "on the last day of the month")
		} else {
			days = append(days, "on day "+dom+" of the month")
		}
	}
	if dow != "*" && dow != "?" {
		days = append(days, "on "+describeDow(dow))
	}
	join := " or "
	if !s.DayOr {
		join = " and "
	}
	out := when
	if len(days) > 0 {
		out += " " + strings.Join(days, join)
	} else if mOK && hOK {
		out = "every day " + out
	}
	if mon != "*" {
		out += " in month " + mon
	}
	return out + tz
}

// describeDow names a day-of-week field: "Monday through Friday", "Monday
// and Thursday", or the field itself.
func describeDow(f string) string {
	name := func(v string) (string, bool) {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 7 {
			return weekdayNames[n%7], true
		}
		if n, ok := cronWeekdays[v]; ok {
			return weekdayNames[n], true
		}
		return "", false
	}
	var parts []string
	for _, item := range strings.Split(f, ",") {
		if a, b, ok := strings.Cut(item, "-"); ok {
			na, okA := name(a)
			nb, okB := name(b)
			if !okA || !okB {
				return "days of week " + f
			}
			parts = append(parts, na+" through "+nb)
			continue
		}
		n, ok := name(item)
		if !ok {
			return "days of week " + f
		}
		parts = append(parts, n)
	}
	if len(parts) > 1 {
		return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
	}
	return parts[0]
}
