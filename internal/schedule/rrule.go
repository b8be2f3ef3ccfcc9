package schedule

import (
	"encoding/json"
	"time"
)

func parseRRule(raw map[string]json.RawMessage, now time.Time) (Schedule, error) {
	return nil, invalid("rrule schedules are not supported yet")
}
