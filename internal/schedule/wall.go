package schedule

import (
	"slices"
	"time"
)

// Prefect's three kinds compute on wall-clock ("naive") date-times and then
// place them in a zone, each with its library's rule for a wall time that a
// DST change skips or repeats. A wall time is held here as a time.Time in
// UTC whose fields are the local ones.

// wallOf is t's local wall time in loc.
func wallOf(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// placements are the instants whose wall time in loc is w: one normally, two
// (earlier first) when a fall-back repeats w, none when a spring-forward
// skips it. For a skipped w, before and after are the zone's UTC offsets
// (seconds) on either side of the gap.
func placements(w time.Time, loc *time.Location) (insts []time.Time, before, after int) {
	offsetAt := func(t time.Time) int { _, o := t.In(loc).Zone(); return o }
	var offsets []int
	for _, d := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		if o := offsetAt(w.Add(d)); !slices.Contains(offsets, o) {
			offsets = append(offsets, o)
		}
	}
	for _, o := range offsets {
		i := w.Add(-time.Duration(o) * time.Second)
		if offsetAt(i) == o {
			insts = append(insts, i)
		}
	}
	slices.SortFunc(insts, func(a, b time.Time) int { return a.Compare(b) })
	if len(insts) == 0 {
		a := offsetAt(w.Add(-time.Duration(offsets[0]) * time.Second))
		b := offsetAt(w.Add(-time.Duration(a) * time.Second))
		before, after = min(a, b), max(a, b)
	}
	return insts, before, after
}

// placeFold0 is Python's zoneinfo reading of a naive wall time with fold=0:
// a repeated time is its first occurrence, a skipped one takes the offset
// from before the gap (so 02:30 skipped in New York is 03:30 EDT).
func placeFold0(w time.Time, loc *time.Location) time.Time {
	insts, before, _ := placements(w, loc)
	if len(insts) > 0 {
		return insts[0].In(loc)
	}
	return w.Add(-time.Duration(before) * time.Second).In(loc)
}

// placeFold1 is zoneinfo with fold=1: a repeated time is its second
// occurrence, a skipped one takes the offset from after the gap.
func placeFold1(w time.Time, loc *time.Location) time.Time {
	insts, _, after := placements(w, loc)
	if len(insts) > 0 {
		return insts[len(insts)-1].In(loc)
	}
	return w.Add(-time.Duration(after) * time.Second).In(loc)
}

// placePendulum is pendulum's DateTime.create (fold=1 by default): a
// repeated time is its second occurrence, a skipped one is moved forward by
// the gap (02:30 skipped in New York is 03:30 EDT).
func placePendulum(w time.Time, loc *time.Location) time.Time {
	insts, before, _ := placements(w, loc)
	if len(insts) > 0 {
		return insts[len(insts)-1].In(loc)
	}
	return w.Add(-time.Duration(before) * time.Second).In(loc)
}
