package schedule

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// The fuzz targets feed the parsers arbitrary text; a schedule that parses
// must compute dates, describe itself and survive a JSON round trip. Run
// one with e.g. go test -fuzz FuzzParseCron -fuzztime 60s ./internal/schedule/.

var fuzzStart = time.Date(2025, 3, 9, 6, 30, 0, 0, time.UTC)

// checkParsed exercises a parsed schedule: Dates within the limits, sorted
// and not before start (cron's skipped DST times may land up to the gap
// before it), and MarshalJSON parses back to the same JSON.
func checkParsed(t *testing.T, s Schedule) {
	t.Helper()
	_, isCron := s.(*Cron)
	for _, end := range []time.Time{{}, fuzzStart.Add(48 * time.Hour)} {
		dates := s.Dates(fuzzStart, end, 0)
		if len(dates) > maxIterations+2 {
			t.Fatalf("%d dates, more than the candidate limit", len(dates))
		}
		for i, d := range dates {
			if d.Before(fuzzStart.Add(-3 * time.Hour)) {
				t.Fatalf("date %v before start %v", d, fuzzStart)
			}
			if i > 0 && d.Before(dates[i-1]) && !isCron {
				t.Fatalf("dates not ascending: %v", dates)
			}
		}
	}
	_ = s.Describe()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	again, err := ParseAt(data, fuzzStart)
	if err != nil {
		t.Fatalf("re-parse %s: %v", data, err)
	}
	data2, _ := json.Marshal(again)
	if string(data2) != string(data) {
		t.Fatalf("round trip changed %s into %s", data, data2)
	}
}

func fuzzParse(t *testing.T, raw map[string]any) {
	data, err := json.Marshal(raw)
	if err != nil {
		t.Skip()
	}
	// Dates must never loop: a schedule still computing after a minute
	// crashes the run, and the fuzzer keeps the input. A rule that never
	// occurs (February 30) is walked to year 9999 as dateutil does: 25 ms,
	// but about a second under the race detector, several times over on a
	// loaded machine, so the bound is generous.
	watchdog := time.AfterFunc(time.Minute, func() { panic(fmt.Sprintf("schedule %s still computing after a minute", data)) })
	defer watchdog.Stop()
	s, err := ParseAt(data, fuzzStart)
	if err != nil {
		return
	}
	checkParsed(t, s)
}

func FuzzParseInterval(f *testing.F) {
	f.Add(3600.0, "2025-01-01T00:00:00Z", "America/New_York")
	f.Add(86400.0, "2025-01-15T01:30:00-05:00", "America/New_York")
	f.Add(1.5, "2030-01-01T00:00:00.5Z", "")
	f.Add(1e-6, "2025-03-09", "Europe/Berlin")
	f.Add(9e13, "9999-12-31T23:59:59Z", "UTC")
	f.Fuzz(func(t *testing.T, every float64, anchor, tz string) {
		fuzzParse(t, map[string]any{"interval": every, "anchor_date": anchor, "timezone": tz})
	})
}

func FuzzParseCron(f *testing.F) {
	for _, seed := range []string{"0 9 * * 1-5", "30 2 * * *", "0 0 L * *", "0 0 29 2 *", "0 9 * * 5#2", "0 9 * * L5",
		"*/15 * * * * *", "0 0 1 1 * 0 2027-2029", "@daily", "50-10/5 * * * *", "0 0 * JAN-MAR/2 FRI-MON", "0 0 30 2 *"} {
		f.Add(seed, true, "America/New_York")
		f.Add(seed, false, "Europe/Berlin")
	}
	f.Fuzz(func(t *testing.T, expr string, dayOr bool, tz string) {
		fuzzParse(t, map[string]any{"cron": expr, "day_or": dayOr, "timezone": tz})
	})
}

func FuzzParseRRule(f *testing.F) {
	for _, seed := range []string{
		"FREQ=DAILY", "DTSTART:20250101T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,FR",
		"DTSTART;TZID=Europe/Berlin:20250101T090000\nRRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=5",
		"DTSTART:20250101T090000\nRRULE:FREQ=DAILY\nEXDATE:20250103T090000\nRDATE:20250104T120000",
		"DTSTART:20250101T090000\nRRULE:FREQ=DAILY\nEXRULE:FREQ=WEEKLY;BYDAY=SA,SU",
		"FREQ=MINUTELY;INTERVAL=5", "DTSTART:20250309T023000\nRRULE:FREQ=DAILY;UNTIL=20250320T000000",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
	} {
		f.Add(seed, "America/New_York")
	}
	f.Fuzz(func(t *testing.T, text, tz string) {
		fuzzParse(t, map[string]any{"rrule": text, "timezone": tz})
	})
}
