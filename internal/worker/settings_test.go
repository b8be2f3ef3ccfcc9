package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeProfiles(t *testing.T, text string) string {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, "profiles.toml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

const profilesTOML = `active = "work"

[profiles.default]
PREFECT_API_URL = "http://default.invalid/api"

[profiles.work]
PREFECT_API_URL = "http://profile.invalid/api"
PREFECT_API_KEY = "pnu_profile"
PREFECT_WORKER_QUERY_SECONDS = "3"
`

// Flags win over the environment, PRAETOR_ over PREFECT_, and the
// environment over the active profile.
func TestSettingsPrecedence(t *testing.T) {
	home := writeProfiles(t, profilesTOML)
	cases := []struct {
		name             string
		flagURL          string
		env              map[string]string
		wantURL, wantKey string
		wantPoll         time.Duration
	}{
		{"profile", "", map[string]string{}, "http://profile.invalid/api", "pnu_profile", 3 * time.Second},
		{"PREFECT_PROFILE picks another profile", "", map[string]string{"PREFECT_PROFILE": "default"}, "http://default.invalid/api", "", 10 * time.Second},
		{"environment over profile", "", map[string]string{"PREFECT_API_URL": "http://env.invalid/api", "PREFECT_WORKER_QUERY_SECONDS": "0.5"},
			"http://env.invalid/api", "pnu_profile", 500 * time.Millisecond},
		{"PRAETOR_ over PREFECT_", "", map[string]string{"PREFECT_API_URL": "http://env.invalid/api", "PRAETOR_API_URL": "http://praetor.invalid/api", "PRAETOR_API_KEY": "pnu_praetor"},
			"http://praetor.invalid/api", "pnu_praetor", 3 * time.Second},
		{"flag over all", "http://flag.invalid/api", map[string]string{"PRAETOR_API_URL": "http://praetor.invalid/api"}, "http://flag.invalid/api", "pnu_profile", 3 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.env["PREFECT_HOME"] = home
			s := Defaults()
			s.Pool, s.APIURL = "p", c.flagURL
			got, err := s.Resolve(envOf(c.env))
			if err != nil {
				t.Fatal(err)
			}
			if got.APIURL != c.wantURL || got.APIKey != c.wantKey || got.PollInterval != c.wantPoll {
				t.Errorf("got url %q key %q poll %s, want %q %q %s", got.APIURL, got.APIKey, got.PollInterval, c.wantURL, c.wantKey, c.wantPoll)
			}
		})
	}
}

// A missing profiles file is no error, an unknown active profile or no API
// URL at all is.
func TestSettingsErrors(t *testing.T) {
	s := Defaults()
	s.Pool = "p"
	if _, err := s.Resolve(envOf(map[string]string{"PREFECT_HOME": t.TempDir()})); err == nil || !strings.Contains(err.Error(), "no API URL") {
		t.Errorf("no URL anywhere: %v", err)
	}
	if got, err := s.Resolve(envOf(map[string]string{"PREFECT_HOME": t.TempDir(), "PREFECT_API_URL": "http://x.invalid/api"})); err != nil || got.APIURL != "http://x.invalid/api" {
		t.Errorf("no profiles file: %+v %v", got, err)
	}
	home := writeProfiles(t, profilesTOML)
	if _, err := s.Resolve(envOf(map[string]string{"PREFECT_HOME": home, "PREFECT_PROFILE": "nope"})); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := s.Resolve(envOf(map[string]string{"PREFECT_HOME": writeProfiles(t, "active = [")})); err == nil {
		t.Error("a broken profiles.toml is accepted")
	}
	if _, err := s.Resolve(envOf(map[string]string{"PREFECT_HOME": home, "PREFECT_WORKER_QUERY_SECONDS": "soon"})); err == nil {
		t.Error("a poll interval that is not a number is accepted")
	}
}
