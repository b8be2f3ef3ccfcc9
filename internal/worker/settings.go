package worker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"
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

// profileFile is the part of Prefect's profiles.toml the worker reads.
type profileFile struct {
	Active   string                       `toml:"active"`
	Profiles map[string]map[string]string `toml:"profiles"`
}

// activeProfile returns the settings of the active profile in
// $PREFECT_HOME/profiles.toml (PREFECT_PROFILE overrides the file's
// `active`, as it does for Prefect); none when the file is missing.
func activeProfile(getenv func(string) string) (map[string]string, error) {
	home := getenv("PREFECT_HOME")
	if home == "" {
		dir, err := os.UserHomeDir()
		if err != nil {
			return nil, nil
		}
		home = filepath.Join(dir, ".prefect")
	}
	path := filepath.Join(home, "profiles.toml")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading profiles: %w", err)
	}
	var f profileFile
	if err := toml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	name := getenv("PREFECT_PROFILE")
	if name == "" {
		name = f.Active
	}
	if name == "" {
		return nil, nil
	}
	p, ok := f.Profiles[name]
	if !ok {
		return nil, fmt.Errorf("%s: the active profile %q is not defined", path, name)
	}
	return p, nil
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
