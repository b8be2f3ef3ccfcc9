package model

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 6, 1, 12, 0, 10, 123456000, time.UTC)
	for _, in := range []string{
		"2025-06-01T12:00:10.123456Z",
		"2025-06-01T12:00:10.123456+00:00",
		"2025-06-01 12:00:10.123456+00:00", // Python >= 3.13 str(datetime)
		"2025-06-01T14:00:10.123456+02:00",
		"2025-06-01T12:00:10.123456",
	} {
		got, err := ParseTime(in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, want %v", in, got, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2025-13-01T00:00:00Z"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) succeeded, want an error", bad)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	tm := At(time.Date(2025, 6, 1, 12, 0, 0, 5000, time.FixedZone("x", 3600)))
	b, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"2025-06-01T11:00:00.000005Z"` {
		t.Fatalf("marshal = %s", b)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tm.Time) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`true`), &back); err == nil {
		t.Fatal("a boolean decoded as a time")
	}
}

// TestTimeForms pins the forms Prefect's server (pydantic) reads as a
// datetime, among them the epoch seconds that pause_flow_run sends.
func TestTimeForms(t *testing.T) {
	at := func(s string) time.Time {
		p, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		json string
		want time.Time
	}{
		{`"2025-06-01"`, at("2025-06-01T00:00:00Z")},
		{`"2025-06-01 12:00"`, at("2025-06-01T12:00:00Z")},
		{`"2025-06-01t12:00:10z"`, at("2025-06-01T12:00:10Z")},
		{`"2025-06-01T12:00:10,5Z"`, at("2025-06-01T12:00:10.5Z")},
		{`"2025-06-01T12:00:10.1234567Z"`, at("2025-06-01T12:00:10.123456Z")},
		{`"2025-06-01T12:00:10.123456+0200"`, at("2025-06-01T10:00:10.123456Z")},
		{`"2025-06-01T12:00:10+02"`, at("2025-06-01T10:00:10Z")},
		{`"2025-06-01T12:00:10-05:30"`, at("2025-06-01T17:30:10Z")},
		{`1700000000`, at("2023-11-14T22:13:20Z")},
		{`1700000000.25`, at("2023-11-14T22:13:20.25Z")},
		{`1.7e9`, at("2023-11-14T22:13:20Z")},
		{`"1700000000.5"`, at("2023-11-14T22:13:20.5Z")},
		{`1700000000000`, at("2023-11-14T22:13:20Z")}, // milliseconds above 2e10
		{`20000000000`, at("2603-10-11T11:33:20Z")},
		{`-5`, at("1969-12-31T23:59:55Z")},
		{`"0"`, at("1970-01-01T00:00:00Z")},
	} {
		var got Time
		if err := json.Unmarshal([]byte(c.json), &got); err != nil {
			t.Errorf("%s: %v", c.json, err)
		} else if !got.Equal(c.want) {
			t.Errorf("%s = %v, want %v", c.json, got, c.want)
		}
	}
	for _, bad := range []string{`true`, `"1e9"`, `1e20`, `"  2025-06-01T12:00:10Z"`, `"2025-06-01T24:00:00Z"`,
		`"2025-06-01T12:00:60Z"`, `"2025-02-30"`, `"2025-06-01T12:00:10+00:00:00"`, `"2025-06-01T12"`, `"2025-06-01T12:00:10."`, `{}`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s decoded as %v, want an error", bad, got)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2025-06-01T12:00:10.123456Z", "2025-06-01 12:00:10+00:00", "2025-06-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s)
		if err != nil {
			return
		}
		// Whatever parses must survive our own wire format.
		again, err := ParseTime(got.String())
		if err != nil || !again.Equal(got.Time) {
			t.Fatalf("%q parsed to %v, which re-parses to %v (%v)", s, got, again, err)
		}
	})
}

func TestStateTypeDefaultName(t *testing.T) {
	if got := Running.DefaultName(); got != "Running" {
		t.Fatalf("DefaultName = %q", got)
	}
	if StateType("NOPE").Valid() {
		t.Fatal("unknown state type is valid")
	}
}
