package schedule

import "encoding/json"

func parseCron(raw map[string]json.RawMessage) (Schedule, error) {
	return nil, invalid("cron schedules are not supported yet")
}
