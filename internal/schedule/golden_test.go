package schedule

// The golden cases in testdata/golden.json were computed by Prefect's own
// server schedule classes from the pinned virtualenv (its version is in the
// file). To regenerate them after adding cases to testdata/generate.py:
//
//	$PRAETOR_TEST_PYTHON internal/schedule/testdata/generate.py
//
// and commit the new golden.json. The test needs no Python: it reads the file.

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"
)

type goldenFile struct {
	Prefect string          `json:"prefect"`
	Cases   []goldenCase    `json:"cases"`
	Valid   []goldenVerdict `json:"validity"`
}

type goldenCase struct {
	Name       string          `json:"name"`
	Schedule   json.RawMessage `json:"schedule"`
	Normalized json.RawMessage `json:"normalized"`
	Start      string          `json:"start"`
	End        *string         `json:"end"`
	N          *int            `json:"n"`
	Dates      []string        `json:"dates"`
}

type goldenVerdict struct {
	Schedule json.RawMessage `json:"schedule"`
	Valid    bool            `json:"valid"`
}

func readGolden(t *testing.T) goldenFile {
	t.Helper()
	data, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatalf("read golden cases: %v", err)
	}
	var g goldenFile
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("decode golden cases: %v", err)
	}
	if len(g.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	return g
}

func pyTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("golden time %q: %v", s, err)
	}
	return v
}

// goldenNow is the "now" the cases are parsed at; the generator only uses
// schedules whose normalisation does not depend on it.
var goldenNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestGoldenDates checks every golden case: the normalised JSON and each
// date, instant and UTC offset, against what Prefect's server computed.
func TestGoldenDates(t *testing.T) {
	g := readGolden(t)
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			s, err := ParseAt(c.Schedule, goldenNow)
			if err != nil {
				t.Fatalf("Parse(%s): %v", c.Schedule, err)
			}
			got, err := json.Marshal(s)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if !jsonEqual(t, got, c.Normalized) {
				t.Errorf("normalised schedule:\n got %s\nwant %s", got, c.Normalized)
			}
			var end time.Time
			if c.End != nil {
				end = pyTime(t, *c.End)
			}
			n := 0
			if c.N != nil {
				n = *c.N
			}
			dates := s.Dates(pyTime(t, c.Start), end, n)
			for i := 0; i < max(len(dates), len(c.Dates)); i++ {
				var g, w string
				if i < len(dates) {
					g = dates[i].Format(time.RFC3339Nano)
				}
				if i < len(c.Dates) {
					w = pyTime(t, c.Dates[i]).Format(time.RFC3339Nano)
				}
				if g != w {
					t.Errorf("%s from %s: date %d is %q, Prefect's is %q", c.Schedule, c.Start, i, g, w)
				}
			}
		})
	}
}

// TestGoldenValidity checks that Parse accepts exactly what Prefect's
// server accepts among the validity cases.
func TestGoldenValidity(t *testing.T) {
	for _, v := range readGolden(t).Valid {
		_, err := ParseAt(v.Schedule, goldenNow)
		if (err == nil) != v.Valid {
			t.Errorf("Parse(%s): error %v, Prefect accepts it: %v", v.Schedule, err, v.Valid)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	for _, p := range []struct {
		data []byte
		v    *any
	}{{a, &x}, {b, &y}} {
		dec := json.NewDecoder(bytes.NewReader(p.data))
		dec.UseNumber()
		if err := dec.Decode(p.v); err != nil {
			t.Fatalf("decode %s: %v", p.data, err)
		}
	}
	return reflect.DeepEqual(x, y)
}
