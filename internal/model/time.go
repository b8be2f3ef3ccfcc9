package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Time is a UTC timestamp in Prefect's wire format: ISO 8601 with microseconds
// and a Z suffix on output; on input, RFC 3339 with a T or a space separator,
// an optional fraction, and Z or a numeric offset (Python's str(datetime) form).
type Time struct{ time.Time }

// Now returns the current time, truncated to the microseconds Prefect keeps.
func Now() Time { return At(time.Now()) }

// At wraps t in UTC at microsecond precision.
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Microsecond)} }

// Ptr returns a pointer to t.
func (t Time) Ptr() *Time { return &t }

const wireLayout = "2006-01-02T15:04:05.000000Z"

func (t Time) String() string { return t.UTC().Format(wireLayout) }

// MarshalJSON writes the wire form.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.String() + `"`), nil
}

// UnmarshalJSON reads any of the accepted forms: a string, or a number of
// seconds since the epoch (the real client's pause_flow_run sends one).
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var (
		p   Time
		err error
	)
	switch {
	case len(b) >= 2 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("invalid datetime: %s", b)
		}
		p, err = ParseTime(s)
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return fmt.Errorf("invalid datetime: %s", b)
		}
		p, err = FromEpoch(f)
	default:
		return fmt.Errorf("invalid datetime: %s", b)
	}
	if err != nil {
		return err
	}
	*t = p
	return nil
}

// Timestamps larger than this are milliseconds, not seconds, as pydantic
// reads them.
const epochMillisAbove = 2e10

// maxEpochSeconds is the end of year 9999, the last pydantic accepts.
const maxEpochSeconds = 253402300799

// FromEpoch reads a Unix timestamp as pydantic does: seconds, or
// milliseconds when its magnitude is above 2e10.
func FromEpoch(f float64) (Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Time{}, fmt.Errorf("invalid datetime %v", f)
	}
	if math.Abs(f) > epochMillisAbove {
		f /= 1000
	}
	if math.Abs(f) > maxEpochSeconds {
		return Time{}, fmt.Errorf("invalid datetime %v: dates after 9999 are not supported as unix timestamps", f)
	}
	sec, frac := math.Modf(f)
	return At(time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)), nil
}

// ParseTime parses a datetime in any form Prefect's server accepts: a date,
// or a date and a time separated by T or a space (Python's str(datetime)),
// with optional seconds and fraction (a dot or a comma; digits past the
// microsecond are dropped) and an optional zone (Z, ±HH:MM, ±HHMM or ±HH);
// or a number of seconds since the epoch. A value with no zone is taken as
// UTC, as Prefect's server does.
func ParseTime(s string) (Time, error) {
	if t, ok := parseISO(s); ok {
		return t, nil
	}
	if isDecimal(s) {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return FromEpoch(f)
		}
	}
	return Time{}, fmt.Errorf("invalid datetime %q", s)
}

// isDecimal reports whether s is an optionally signed decimal number with
// no exponent, the only number forms pydantic reads from a string.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// parseISO parses the ISO 8601 forms ParseTime describes.
func parseISO(s string) (Time, bool) {
	p := isoParser{s: s}
	year := p.num(4)
	p.lit('-')
	month := p.num(2)
	p.lit('-')
	day := p.num(2)
	if p.bad || month == 0 {
		return Time{}, false
	}
	var hour, min, sec, nsec int
	loc := time.UTC
	if !p.done() {
		if c := p.next(); c != 'T' && c != 't' && c != ' ' {
			return Time{}, false
		}
		hour = p.num(2)
		p.lit(':')
		min = p.num(2)
		if p.peek(':') {
			p.next()
			sec = p.num(2)
			if p.peek('.') || p.peek(',') {
				p.next()
				nsec = p.fraction()
			}
		}
		if !p.done() {
			loc = p.zone()
		}
	}
	if p.bad || !p.done() || hour > 23 || min > 59 || sec > 59 {
		return Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
	// time.Date normalises 31 February to March; a real date round-trips.
	if y, m, d := t.Date(); y != year || int(m) != month || d != day {
		return Time{}, false
	}
	return At(t), true
}

// isoParser reads fixed-width fields; any mismatch sets bad.
type isoParser struct {
	s   string
	i   int
	bad bool
}

func (p *isoParser) done() bool { return p.i >= len(p.s) }

func (p *isoParser) peek(c byte) bool { return !p.done() && p.s[p.i] == c }

func (p *isoParser) next() byte {
	if p.done() {
		p.bad = true
		return 0
	}
	p.i++
	return p.s[p.i-1]
}

func (p *isoParser) lit(c byte) {
	if p.next() != c {
		p.bad = true
	}
}

// num reads exactly n digits.
func (p *isoParser) num(n int) int {
	v := 0
	for range n {
		c := p.next()
		if c < '0' || c > '9' {
			p.bad = true
			return 0
		}
		v = v*10 + int(c-'0')
	}
	return v
}

// fraction reads one or more digits as nanoseconds, truncated to
// microseconds.
func (p *isoParser) fraction() int {
	v, n := 0, 0
	for !p.done() && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		if n < 6 {
			v = v*10 + int(p.s[p.i]-'0')
		}
		n++
		p.i++
	}
	if n == 0 {
		p.bad = true
	}
	for ; n < 6; n++ {
		v *= 10
	}
	return v * 1000
}

// zone reads Z, ±HH:MM, ±HHMM or ±HH.
func (p *isoParser) zone() *time.Location {
	c := p.next()
	if c == 'Z' || c == 'z' {
		return time.UTC
	}
	if c != '+' && c != '-' {
		p.bad = true
		return time.UTC
	}
	h, m := p.num(2), 0
	if p.peek(':') {
		p.next()
		m = p.num(2)
	} else if !p.done() {
		m = p.num(2)
	}
	if h > 23 || m > 59 {
		p.bad = true
	}
	off := h*3600 + m*60
	if c == '-' {
		off = -off
	}
	return time.FixedZone("", off)
}
