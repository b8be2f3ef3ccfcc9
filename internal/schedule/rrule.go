package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	rrulego "github.com/teambition/rrule-go"
)

// RRule is Prefect's RRuleSchedule: an RFC 5545 recurrence (one RRULE, or
// a set of RRULE, RDATE, EXRULE and EXDATE lines) as python-dateutil reads
// it, computed in Timezone.
type RRule struct {
	Text string
	// Timezone is the IANA zone; nil when the client sent null (Prefect
	// keeps it; Praetor then computes in UTC).
	Timezone *string

	loc *time.Location
	set ruleSet
}

// maxRRuleLength is Prefect's MAX_RRULE_LENGTH.
const maxRRuleLength = 6500

// maxRRuleSkip bounds the occurrences walked before start: an explicit
// DTSTART years back on a per-second rule would otherwise cost minutes
// (Prefect walks them all).
const maxRRuleSkip = 5_000_000

// defaultRRuleAnchor is dateutil's implied DTSTART in Prefect (2020-01-01).
var defaultRRuleAnchor = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func parseRRule(raw map[string]json.RawMessage, now time.Time) (*RRule, error) {
	if err := checkKeys(raw, "rrule", "rrule", "timezone"); err != nil {
		return nil, err
	}
	s := &RRule{loc: time.UTC}
	if err := json.Unmarshal(raw["rrule"], &s.Text); err != nil || isNull(raw["rrule"]) {
		return nil, invalid("rrule must be a string")
	}
	utc := "UTC"
	s.Timezone = &utc
	if v, ok := raw["timezone"]; ok {
		if isNull(v) {
			s.Timezone = nil
		} else {
			var tz string
			if err := json.Unmarshal(v, &tz); err != nil {
				return nil, invalid("timezone must be a string")
			}
			if tz == "" {
				return nil, invalidZone(tz)
			}
			loc, err := loadZone(tz)
			if err != nil {
				return nil, err
			}
			s.Timezone, s.loc = &tz, loc
		}
	}
	// Prefect validates with dateutil's default DTSTART (now), then
	// injects a DTSTART into a rule without one.
	if _, err := parseRuleSet(s.Text, wallOf(now, time.UTC).Truncate(time.Second)); err != nil {
		return nil, invalid("Invalid RRule string %q: %s", s.Text, err)
	}
	if len(s.Text) > maxRRuleLength {
		return nil, invalid("Invalid RRule string %q\nMax length is %d, got %d", truncateRunes(s.Text, 40)+"...", maxRRuleLength, len(s.Text))
	}
	s.Text = normalizeRRule(s.Text, now, s.loc)
	set, err := parseRuleSet(s.Text, defaultRRuleAnchor)
	if err != nil {
		return nil, invalid("Invalid RRule string %q: %s", s.Text, err)
	}
	s.set = set
	return s, nil
}

func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// normalizeRRule is Prefect's normalize_rrule_string: a rule without a
// DTSTART gets one; a per-second or per-minute rule without COUNT gets the
// latest phase-equivalent instant before now (so it is cheap to walk),
// everything else dateutil's implied 2020-01-01.
func normalizeRRule(text string, now time.Time, loc *time.Location) string {
	if strings.Contains(strings.ToUpper(text), "DTSTART") {
		return text
	}
	set, err := parseRuleSet(text, defaultRRuleAnchor)
	if err != nil {
		return text
	}
	anchor := defaultRRuleAnchor
	if set.single && len(set.rules) == 1 {
		opt := set.rules[0].OrigOptions
		unit := map[rrulego.Frequency]int64{rrulego.SECONDLY: 1, rrulego.MINUTELY: 60}[opt.Freq]
		if unit != 0 && opt.Count == 0 {
			interval := int64(max(opt.Interval, 1))
			period := unit * interval
			delta := wallOf(now, loc).Sub(defaultRRuleAnchor).Seconds()
			if delta > 0 {
				k := int64(math.Floor(delta / float64(period)))
				anchor = defaultRRuleAnchor.Add(time.Duration(k*period) * time.Second)
			}
		}
	}
	return "DTSTART:" + anchor.Format("20060102T150405") + "\n" + text
}

// MarshalJSON emits {"rrule", "timezone"}.
func (s *RRule) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		RRule    string  `json:"rrule"`
		Timezone *string `json:"timezone"`
	}{s.Text, s.Timezone})
}

// Dates follows Prefect's RRuleSchedule: dateutil walks wall times (the
// DTSTART's digits relabelled with the schedule's zone, whatever zone the
// DTSTART named), each is placed as dateutil places it (a repeated time is
// its first occurrence, a skipped one takes the offset from after the
// gap), and those at or after start, by instant, are candidates.
func (s *RRule) Dates(start, end time.Time, n int) []time.Time {
	n = defaultN(n, end)
	start, end = start.Truncate(time.Microsecond), end.Truncate(time.Microsecond)
	next := s.set.iterator()
	skipped := 0
	return collect(func() (time.Time, bool) {
		for {
			w, ok := next()
			if !ok {
				return time.Time{}, false
			}
			t := placeCreateFold0(w, s.loc)
			if !t.Before(start) {
				return t, true
			}
			if skipped++; skipped > maxRRuleSkip {
				return time.Time{}, false
			}
		}
	}, s.loc, func(t time.Time) bool { return !end.IsZero() && t.After(end) }, n)
}

// ruleSet is a parsed rrule string, every time a wall time (in UTC).
type ruleSet struct {
	single         bool // one RRULE and nothing else: dateutil's rrule, not an rruleset
	rules, exrules []*rrulego.RRule
	rdates         []time.Time
	exdates        []time.Time
}

// iterator yields the set's wall times ascending, each once, as dateutil's
// rruleset does: the union of the rules and RDATEs less EXDATEs and EXRULEs.
func (r ruleSet) iterator() func() (time.Time, bool) {
	type stream struct {
		next func() (time.Time, bool)
		cur  time.Time
		ok   bool
	}
	mk := func(rules []*rrulego.RRule, dates []time.Time) []*stream {
		var out []*stream
		ds := slices.Clone(dates)
		slices.SortFunc(ds, func(a, b time.Time) int { return a.Compare(b) })
		i := 0
		gens := []func() (time.Time, bool){func() (time.Time, bool) {
			if i >= len(ds) {
				return time.Time{}, false
			}
			i++
			return ds[i-1], true
		}}
		for _, rule := range rules {
			gens = append(gens, rule.Iterator())
		}
		for _, g := range gens {
			st := &stream{next: g}
			st.cur, st.ok = g()
			out = append(out, st)
		}
		return out
	}
	incl, excl := mk(r.rules, r.rdates), mk(r.exrules, r.exdates)
	lowest := func(ss []*stream) *stream {
		var best *stream
		for _, st := range ss {
			if st.ok && (best == nil || st.cur.Before(best.cur)) {
				best = st
			}
		}
		return best
	}
	var last time.Time
	started := false
	return func() (time.Time, bool) {
		for {
			st := lowest(incl)
			if st == nil {
				return time.Time{}, false
			}
			t := st.cur
			st.cur, st.ok = st.next()
			if started && t.Equal(last) {
				continue
			}
			started, last = true, t
			excluded := false
			for {
				ex := lowest(excl)
				if ex == nil || !ex.cur.Before(t) {
					excluded = ex != nil && ex.cur.Equal(t)
					break
				}
				ex.cur, ex.ok = ex.next()
			}
			if !excluded {
				return t, true
			}
		}
	}
}

var rdateRe = regexp.MustCompile(`^(\d{8})(?:T(\d{6})(Z?))?$`)

// parseDateValue reads one RFC 5545 DATE or DATE-TIME: its wall digits,
// and whether it carried a zone (Z or a TZID), with that zone.
func parseDateValue(v string, tzid *time.Location) (wall time.Time, zone *time.Location, err error) {
	m := rdateRe.FindStringSubmatch(v)
	if m == nil {
		return time.Time{}, nil, fmt.Errorf("unknown date-time %q", v)
	}
	layout, value := "20060102", m[1]
	if m[2] != "" {
		layout, value = "20060102150405", m[1]+m[2]
	}
	wall, err = time.Parse(layout, value)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("unknown date-time %q", v)
	}
	switch {
	case m[3] == "Z":
		zone = time.UTC
	case tzid != nil:
		zone = tzid
	}
	return wall, zone, nil
}

// dateParams reads a property's parameters (TZID, VALUE) as dateutil does;
// origParams are the same in their original case, for the zone name. An
// unknown zone leaves the time floating, as dateutil's gettz does.
func dateParams(name string, params, origParams []string) (*time.Location, error) {
	var tzid *time.Location
	for i, p := range params {
		switch {
		case p == "VALUE=DATE-TIME" || p == "VALUE=DATE":
		case strings.HasPrefix(p, "TZID="):
			zone := origParams[i][len("TZID="):]
			if loc, err := loadZone(zone); err == nil && zone != "" {
				tzid = loc
			}
		default:
			return nil, fmt.Errorf("unsupported %s parm: %s", name, p)
		}
	}
	return tzid, nil
}

// parseRuleSet reads an rrule string as dateutil's rrulestr does (upper
// case, whitespace-separated lines, a lone rule with or without "RRULE:"),
// with defaultStart as DTSTART when it has none.
func parseRuleSet(text string, defaultStart time.Time) (ruleSet, error) {
	s := strings.ToUpper(text)
	lines, origLines := strings.Fields(s), strings.Fields(text)
	if len(lines) == 0 {
		return ruleSet{}, errors.New("empty string")
	}
	dtstart, dtzone := defaultStart, (*time.Location)(nil)
	var rrules, exrules, rdates []string
	var exdates []time.Time
	if len(lines) == 1 && (!strings.Contains(s, ":") || strings.HasPrefix(s, "RRULE:")) {
		rrules = []string{strings.TrimPrefix(lines[0], "RRULE:")}
	} else {
		for li, line := range lines {
			name, value, found := strings.Cut(line, ":")
			if !found {
				name, value = "RRULE", line
			}
			parts := strings.Split(name, ";")
			name, params := parts[0], parts[1:]
			switch name {
			case "RRULE", "EXRULE":
				if len(params) > 0 {
					return ruleSet{}, fmt.Errorf("unsupported %s parm: %s", name, params[0])
				}
				if name == "RRULE" {
					rrules = append(rrules, value)
				} else {
					exrules = append(exrules, value)
				}
			case "RDATE":
				for _, p := range params {
					if p != "VALUE=DATE-TIME" {
						return ruleSet{}, fmt.Errorf("unsupported RDATE parm: %s", p)
					}
				}
				rdates = append(rdates, strings.Split(value, ",")...)
			case "EXDATE", "DTSTART":
				var origParams []string
				if len(origLines) == len(lines) && len(origLines[li]) == len(line) {
					origName, _, _ := strings.Cut(origLines[li], ":")
					origParams = strings.Split(origName, ";")[1:]
				} else {
					origParams = params
				}
				tzid, err := dateParams(name, params, origParams)
				if err != nil {
					return ruleSet{}, err
				}
				vals := strings.Split(value, ",")
				if name == "DTSTART" && len(vals) != 1 {
					return ruleSet{}, fmt.Errorf("multiple DTSTART values specified: %s", value)
				}
				for _, v := range vals {
					w, zone, err := parseDateValue(v, tzid)
					if err != nil {
						return ruleSet{}, err
					}
					if name == "DTSTART" {
						dtstart, dtzone = w, zone
					} else {
						exdates = append(exdates, w)
					}
				}
			default:
				return ruleSet{}, fmt.Errorf("unsupported property: %s", name)
			}
		}
	}
	if len(rrules) == 0 && len(rdates) == 0 {
		return ruleSet{}, errors.New("no RRULE or RDATE")
	}
	set := ruleSet{single: len(rrules) == 1 && len(rdates) == 0 && len(exrules) == 0 && len(exdates) == 0, exdates: exdates}
	for _, body := range rrules {
		r, err := parseRule(body, dtstart, dtzone)
		if err != nil {
			return ruleSet{}, err
		}
		set.rules = append(set.rules, r)
	}
	for _, body := range exrules {
		r, err := parseRule(body, dtstart, dtzone)
		if err != nil {
			return ruleSet{}, err
		}
		set.exrules = append(set.exrules, r)
	}
	for _, v := range rdates {
		w, _, err := parseDateValue(v, nil)
		if err != nil {
			return ruleSet{}, err
		}
		set.rdates = append(set.rdates, w)
	}
	return set, nil
}

var untilRe = regexp.MustCompile(`(?:^|;)UNTIL=([^;]*)`)

// parseRule reads one RRULE value ("FREQ=DAILY;COUNT=3") from dtstart, a
// wall time with the zone its DTSTART named (nil: floating).
func parseRule(body string, dtstart time.Time, dtzone *time.Location) (*rrulego.RRule, error) {
	if strings.Contains(body, ":") {
		name, _, _ := strings.Cut(body, ":")
		if name != "RRULE" {
			return nil, errors.New("unknown parameter name")
		}
		body = strings.TrimPrefix(body, "RRULE:")
	}
	var until time.Time
	if m := untilRe.FindStringSubmatch(body); m != nil {
		w, zone, err := parseDateValue(m[1], nil)
		if err != nil {
			return nil, err
		}
		// dateutil refuses a floating UNTIL with a zoned DTSTART and the
		// reverse. Prefect then relabels the UNTIL's digits with the
		// schedule's zone, as it does the DTSTART's.
		if (zone != nil) != (dtzone != nil) {
			return nil, errors.New("RRULE UNTIL values must be specified in UTC when DTSTART is timezone-aware")
		}
		until = w
		body = untilRe.ReplaceAllString(body, "")
		body = strings.TrimPrefix(body, ";")
	}
	opt, err := rrulego.StrToROption(body)
	if err != nil {
		return nil, err
	}
	if opt.Interval < 0 || opt.Count < 0 {
		return nil, errors.New("INTERVAL and COUNT must be positive")
	}
	opt.Dtstart, opt.Until = dtstart, until
	return rrulego.NewRRule(*opt)
}

var freqNames = map[rrulego.Frequency][2]string{
	rrulego.YEARLY:   {"year", "years"},
	rrulego.MONTHLY:  {"month", "months"},
	rrulego.WEEKLY:   {"week", "weeks"},
	rrulego.DAILY:    {"day", "days"},
	rrulego.HOURLY:   {"hour", "hours"},
	rrulego.MINUTELY: {"minute", "minutes"},
	rrulego.SECONDLY: {"second", "seconds"},
}

var rruleWeekdays = map[int]string{0: "Monday", 1: "Tuesday", 2: "Wednesday", 3: "Thursday", 4: "Friday", 5: "Saturday", 6: "Sunday"}

// Describe summarises the rule: "every 2 weeks on Monday and Friday at
// 09:00, 10 times (Europe/Berlin)"; a set of several rules is named as such.
func (s *RRule) Describe() string {
	tz := ""
	if s.Timezone != nil {
		tz = zoneSuffix(*s.Timezone)
	}
	if len(s.set.rules) != 1 {
		return fmt.Sprintf("a calendar of %d rules and %d dates%s", len(s.set.rules), len(s.set.rdates), tz)
	}
	opt := s.set.rules[0].OrigOptions
	names := freqNames[opt.Freq]
	out := "every " + names[0]
	if opt.Interval > 1 {
		out = fmt.Sprintf("every %d %s", opt.Interval, names[1])
	}
	if len(opt.Byweekday) > 0 {
		var days []string
		for _, d := range opt.Byweekday {
			prefix := ""
			if n := d.N(); n != 0 {
				prefix = ordinal(n) + " "
			}
			days = append(days, prefix+rruleWeekdays[d.Day()])
		}
		out += " on " + strings.Join(days, ", ")
	}
	if len(opt.Bymonthday) > 0 {
		out += " on day " + strings.Trim(strings.Join(strings.Fields(fmt.Sprint(opt.Bymonthday)), ", "), "[]") + " of the month"
	}
	if opt.Freq <= rrulego.DAILY && len(opt.Byhour) == 0 && len(opt.Byminute) == 0 {
		out += " at " + opt.Dtstart.Format("15:04")
	}
	if opt.Count > 0 {
		out += fmt.Sprintf(", %d times", opt.Count)
	}
	if !opt.Until.IsZero() {
		out += ", until " + opt.Until.Format("2006-01-02 15:04")
	}
	return out + tz
}

func ordinal(n int) string {
	switch n {
	case 1:
		return "first"
	case 2:
		return "second"
	case 3:
		return "third"
	case -1:
		return "last"
	}
	return fmt.Sprintf("%dth", n)
}
