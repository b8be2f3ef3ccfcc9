package schedule

import (
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/apperr"
)

// TestParseErrors checks that bad schedules are refused with a validation
// error (a 422 for the API) whose message names the problem.
func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[]`, "JSON object"},
		{`{}`, "one of the keys interval, cron or rrule"},
		{`{"foo": 1}`, "one of the keys interval, cron or rrule"},
		{`{"interval": 60, "cron": "* * * * *"}`, "not interval and cron"},
		{`{"interval": 0}`, "interval must be positive"},
		{`{"interval": -3}`, "interval must be positive"},
		{`{"interval": "often"}`, "ISO 8601 duration"},
		{`{"interval": 60, "timezone": "Mars/Base"}`, `Invalid timezone: "Mars/Base"`},
		{`{"interval": 60, "timezone": "Local"}`, `Invalid timezone: "Local"`},
		{`{"interval": 60, "anchor_date": "yesterday"}`, "anchor_date"},
		{`{"interval": 60, "every": 1}`, "extra inputs are not permitted: every"},
	} {
		_, err := ParseAt([]byte(c.in), goldenNow)
		if err == nil {
			t.Errorf("Parse(%s) accepted it", c.in)
			continue
		}
		if apperr.ErrorCode(err) != apperr.EInvalid {
			t.Errorf("Parse(%s): error %v is not a validation error", c.in, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s): %q does not say %q", c.in, err, c.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"interval": 3}`, "every 3 seconds"},
		{`{"interval": 1}`, "every second"},
		{`{"interval": 1.5}`, "every 1.5 seconds"},
		{`{"interval": 300}`, "every 5 minutes"},
		{`{"interval": 7200}`, "every 2 hours"},
		{`{"interval": 86400, "anchor_date": "2025-01-01T08:00:00Z", "timezone": "Europe/Berlin"}`, "every day at 09:00 (Europe/Berlin)"},
		{`{"interval": 172800, "anchor_date": "2025-01-01T08:00:30Z"}`, "every 2 days at 08:00:30"},
	} {
		s, err := ParseAt([]byte(c.in), goldenNow)
		if err != nil {
			t.Fatalf("Parse(%s): %v", c.in, err)
		}
		if got := s.Describe(); got != c.want {
			t.Errorf("Describe(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestIntervalDefaults checks Prefect's defaults: a missing anchor is now,
// a missing time zone is UTC.
func TestIntervalDefaults(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 891011000, time.UTC)
	s, err := ParseAt([]byte(`{"interval": 60}`), now)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.MarshalJSON()
	if want := `{"interval":60.0,"anchor_date":"2026-03-04T05:06:07.891011Z","timezone":"UTC"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
