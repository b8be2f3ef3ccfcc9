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
	if err := json.Unmarshal([]byte(`12`), &back); err == nil {
		t.Fatal("a number decoded as a time")
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
