package model

import (
	"bytes"
	"fmt"
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

// UnmarshalJSON reads any of the accepted forms.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) < 2 || b[0] != '"' {
		return fmt.Errorf("invalid datetime: %s", b)
	}
	p, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

var inputLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02",
}

// ParseTime parses a datetime in any form Prefect clients send. A value with
// no offset is taken as UTC, as Prefect's server does.
func ParseTime(s string) (Time, error) {
	v := strings.TrimSpace(s)
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	for _, layout := range inputLayouts {
		if p, err := time.Parse(layout, v); err == nil {
			return At(p), nil
		}
	}
	return Time{}, fmt.Errorf("invalid datetime %q", s)
}
