package worker

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/praetorhq/praetor/internal/profiles"
)

// Settings configure a worker.
type Settings struct {
	APIURL string // the API base, as PREFECT_API_URL spells it
	APIKey string

	Pool   string
	Type   string   // the pool type when the worker creates the pool
	Queues []string // empty: every queue of the pool
	Limit  int      // flow runs in flight at once; 0: no limit
	Name   string

	PollInterval      time.Duration // how often the pool is polled
	HeartbeatInterval time.Duration
	Prefetch          time.Duration // how far ahead of their start runs are taken
	CancelInterval    time.Duration // how often in-flight runs are checked for CANCELLING while the events stream is down
	KillGrace         time.Duration // between SIGTERM and SIGKILL of a run's process group
}

// Defaults are Prefect's worker defaults: poll every 10 s, heartbeat every
// 30 s, prefetch 10 s.
func Defaults() Settings {
	return Settings{
		Type:              "process",
		PollInterval:      10 * time.Second,
		HeartbeatInterval: 30 * time.Second,
		Prefetch:          10 * time.Second,
		CancelInterval:    5 * time.Second,
		KillGrace:         30 * time.Second,
	}
}

// activeProfile returns the settings of the Prefect profile in force, as
// the Python client and praetor's own commands read it (profiles.Open).
func activeProfile(getenv func(string) string) (map[string]string, error) {
	f, name, err := profiles.Open(getenv)
	if err != nil {
		return nil, err
	}
	return f.Settings(name), nil
}

// Resolve fills what the flags left empty from the environment, then from
// the active Prefect profile: for each setting PRAETOR_X wins over
// PREFECT_X, and both over the profile's PREFECT_X. getenv is os.Getenv
// outside tests.
func (s Settings) Resolve(getenv func(string) string) (Settings, error) {
	profile, err := activeProfile(getenv)
	if err != nil {
		return s, err
	}
	lookup := func(name string) string {
		if v := getenv("PRAETOR_" + name); v != "" {
			return v
		}
		if v := getenv("PREFECT_" + name); v != "" {
			return v
		}
		return profile["PREFECT_"+name]
	}
	if s.APIURL == "" {
		s.APIURL = lookup("API_URL")
	}
	if s.APIKey == "" {
		s.APIKey = lookup("API_KEY")
	}
	// Prefect's worker timing settings, so a worker tuned for Prefect's
	// worker behaves the same.
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{
		{"WORKER_QUERY_SECONDS", &s.PollInterval},
		{"WORKER_HEARTBEAT_SECONDS", &s.HeartbeatInterval},
		{"WORKER_PREFETCH_SECONDS", &s.Prefetch},
	} {
		v := lookup(d.name)
		if v == "" {
			continue
		}
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil || secs < 0 {
			return s, fmt.Errorf("PREFECT_%s: %q is not a number of seconds", d.name, v)
		}
		*d.to = time.Duration(secs * float64(time.Second))
	}
	if s.APIURL == "" {
		return s, errors.New("no API URL: set --api-url, PREFECT_API_URL or PREFECT_API_URL in the active profile")
	}
	if s.Pool == "" {
		return s, errors.New("no work pool: --pool is required")
	}
	return s, nil
}
