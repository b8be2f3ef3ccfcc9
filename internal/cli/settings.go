package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/praetorhq/praetor/internal/client"
	"github.com/praetorhq/praetor/internal/profiles"
)

// settings are the Prefect settings in force, as the Python client
// resolves them: an environment variable over the active profile's value
// (PREFECT_PROFILE names the profile over the file's `active`).
type settings struct {
	file    *profiles.File
	profile string
}

func loadSettings() (*settings, error) {
	f, name, err := profiles.Open(os.Getenv)
	if err != nil {
		return nil, err
	}
	return &settings{file: f, profile: name}, nil
}

// get is a setting's value and where it comes from ("env" or "profile");
// empty when neither sets it.
func (s *settings) get(name string) (value, source string) {
	if v, ok := os.LookupEnv(name); ok {
		return v, "env"
	}
	if v, ok := s.file.Settings(s.profile)[name]; ok {
		return v, "profile"
	}
	return "", ""
}

func (s *settings) value(name string) string {
	v, _ := s.get(name)
	return v
}

// settingName is what `config set` accepts as a key: a Prefect setting's
// environment variable name.
var settingName = regexp.MustCompile(`^PREFECT_[A-Z0-9_]+$`)

// secretSetting reports whether a setting's value is masked unless asked
// for.
func secretSetting(name string) bool {
	for _, w := range []string{"KEY", "AUTH_STRING", "PASSWORD", "SECRET", "TOKEN"} {
		if strings.Contains(name, w) {
			return true
		}
	}
	return strings.Contains(name, "CONNECTION_URL") // may carry a database password
}

// workspaceClient is a client of the workspace the settings point at.
func (s *settings) workspaceClient() (*client.Client, error) {
	base := s.value("PREFECT_API_URL")
	if base == "" {
		return nil, errors.New("no API URL: log in with `praetor cloud login`, or set PREFECT_API_URL (`praetor config set PREFECT_API_URL=…`)")
	}
	return client.New(base, client.Credentials{APIKey: s.value("PREFECT_API_KEY"), AuthString: s.value("PREFECT_API_AUTH_STRING")}), nil
}

// cloudClient is a client of the account routes (PREFECT_CLOUD_API_URL).
func (s *settings) cloudClient() (*client.Client, error) {
	base := s.value("PREFECT_CLOUD_API_URL")
	if base == "" {
		return nil, errors.New("no Praetor server: log in with `praetor cloud login --url https://your-praetor`, or set PREFECT_CLOUD_API_URL")
	}
	key := s.value("PREFECT_API_KEY")
	if key == "" {
		return nil, errors.New("not logged in (no PREFECT_API_KEY): log in with `praetor cloud login`")
	}
	return client.New(base, client.Credentials{APIKey: key}), nil
}

// explain turns what the API answered into a message that says what to do.
func explain(err error) error {
	var ue *client.UnreachableError
	var se *client.StatusError
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach the server at %s (%v): is it running, and is the URL right? (`praetor config view` shows the settings)", ue.URL, rootCause(ue.Err))
	case errors.As(err, &se) && se.Code == http.StatusUnauthorized:
		return errors.New("the server refused the API key (401): it is wrong, expired or revoked; log in again with `praetor cloud login`")
	case errors.As(err, &se) && se.Code == http.StatusForbidden:
		return fmt.Errorf("not allowed (403): %s; your role in the workspace does not permit this", se.Detail)
	}
	return err
}

// rootCause is the innermost error, without the URL and method the layers
// above repeat.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
