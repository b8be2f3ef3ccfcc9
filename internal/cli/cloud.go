package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/praetorhq/praetor/internal/client"
)

func newCloudCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cloud", Short: "Log in to a Praetor server and choose a workspace (for praetor and the Prefect client alike)"}
	ws := &cobra.Command{Use: "workspace", Short: "List and choose workspaces"}
	ws.AddCommand(newWorkspaceLsCmd(), newWorkspaceSetCmd())
	cmd.AddCommand(newLoginCmd(), newLogoutCmd(), ws)
	return cmd
}

// cloudAPIURL is the Cloud API URL of a server given as its address or its
// /api (what PREFECT_CLOUD_API_URL holds).
func cloudAPIURL(server string) string {
	server = strings.TrimRight(server, "/")
	if strings.HasSuffix(server, "/api") {
		return server
	}
	return server + "/api"
}

// interactive reports whether the command may ask: not --no-prompt, and a
// person at a terminal on both ends.
func interactive(noPrompt bool) bool {
	return !noPrompt && terminalWidth(os.Stdin) > 0 && terminalWidth(os.Stderr) > 0
}

func newLoginCmd() *cobra.Command {
	var key, workspace, server string
	var noPrompt bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with an API key or the browser, and point the active profile at a workspace",
		Long: `Log in to a Praetor server. Without --key it asks how (the browser, or pasting a key);
without --workspace it offers the workspaces to choose from. It writes PREFECT_API_URL,
PREFECT_API_KEY and PREFECT_CLOUD_API_URL to the active profile, so the Prefect client
is in Cloud mode with nothing else to set. With --no-prompt, or without a terminal, it
never asks: --key (and --workspace when the key has several) must be given.`,
		Example: "  praetor cloud login --url https://praetor.example.com -k pnu_… -w acme/production",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			ask := interactive(noPrompt)
			cloud := s.value("PREFECT_CLOUD_API_URL")
			if server != "" {
				cloud = cloudAPIURL(server)
			}
			if cloud == "" {
				return usagef("no server: pass --url https://your-praetor (or set PREFECT_CLOUD_API_URL)")
			}
			if env := os.Getenv("PREFECT_API_KEY"); env != "" && key != "" && env != key {
				return errors.New("PREFECT_API_KEY is set in the environment to another key, which would override the one logged in with: unset it first")
			}
			if key == "" {
				if !ask {
					return usagef("--key is required with --no-prompt or without a terminal")
				}
				key, err = askKey(cmd.Context(), cloud)
				if err != nil {
					return err
				}
			}
			list, err := client.New(cloud, client.Credentials{APIKey: key}).MyWorkspaces(cmd.Context())
			if err != nil {
				return loginError(err, cloud)
			}
			chosen, err := chooseWorkspace(list, workspace, ask, cloud, "")
			if err != nil {
				return err
			}
			s.file.Set(s.profile, "PREFECT_API_KEY", key)
			s.file.Set(s.profile, "PREFECT_API_URL", chosen.APIURL(cloud))
			s.file.Set(s.profile, "PREFECT_CLOUD_API_URL", cloud)
			if err := s.file.Save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Authenticated with Praetor! Using workspace %q (profile %q).\n", chosen.Handle(), s.profile)
			warnOverridden(cmd, "PREFECT_API_URL", "PREFECT_CLOUD_API_URL")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&key, "key", "k", "", "the API key (pnu_…)")
	f.StringVarP(&workspace, "workspace", "w", "", "the workspace, as account/workspace")
	f.StringVar(&server, "url", "", "the Praetor server (default: PREFECT_CLOUD_API_URL)")
	f.BoolVar(&noPrompt, "no-prompt", false, "never ask: fail when --key or --workspace is needed")
	return cmd
}

// warnOverridden says which of the settings just written an environment
// variable overrides.
func warnOverridden(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if _, ok := os.LookupEnv(n); ok {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s is also set in the environment, which overrides the profile's value.\n", n)
		}
	}
}

// loginError says in one line what went wrong with a key.
func loginError(err error, cloud string) error {
	var ue *client.UnreachableError
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("cannot reach a Praetor server at %s (%v): check --url", cloud, rootCause(ue.Err))
	case client.IsStatus(err, http.StatusUnauthorized):
		return errors.New("the server refused the key: it is wrong, expired or revoked; create a new one on the API keys page of the UI")
	case client.IsStatus(err, http.StatusNotFound):
		return fmt.Errorf("%s is not a Praetor server's API (no /me/workspaces): check --url", cloud)
	}
	return explain(err)
}

// chooseWorkspace picks the workspace named by handle, the only one, or
// one the user chooses (current is preselected).
func chooseWorkspace(list []client.Workspace, handle string, ask bool, cloud, current string) (client.Workspace, error) {
	if len(list) == 0 {
		return client.Workspace{}, fmt.Errorf("this key's user has no workspaces: create one at %s and log in again", strings.TrimSuffix(cloud, "/api")+"/workspaces")
	}
	slices.SortFunc(list, func(a, b client.Workspace) int { return strings.Compare(a.Handle(), b.Handle()) })
	if handle != "" {
		for _, w := range list {
			if w.Handle() == handle {
				return w, nil
			}
		}
		return client.Workspace{}, fmt.Errorf("no workspace %q for this key; it has %s", handle, handles(list))
	}
	if len(list) == 1 {
		return list[0], nil
	}
	if !ask {
		return client.Workspace{}, usagef("the key has several workspaces: pass --workspace (one of %s)", handles(list))
	}
	options := make([]string, len(list))
	start := 0
	for i, w := range list {
		options[i] = w.Handle()
		if w.Handle() == current {
			start = i
		}
	}
	i, err := pick(os.Stdin, os.Stderr, "Which workspace?", options, start)
	if err != nil {
		return client.Workspace{}, err
	}
	return list[i], nil
}

func handles(list []client.Workspace) string {
	hs := make([]string, len(list))
	for i, w := range list {
		hs[i] = w.Handle()
	}
	return strings.Join(hs, ", ")
}

// askKey asks how to log in, and gets a key by that way.
func askKey(ctx context.Context, cloud string) (string, error) {
	how, err := pick(os.Stdin, os.Stderr, "How would you like to authenticate?", []string{"Log in with a web browser", "Paste an API key"}, 0)
	if err != nil {
		return "", err
	}
	if how == 1 {
		return readSecret(os.Stdin, os.Stderr, "Paste your API key: ")
	}
	return browserLogin(ctx, strings.TrimSuffix(cloud, "/api"), os.Stderr)
}

// currentWorkspace is the handle of the workspace PREFECT_API_URL points
// at, empty when none of list.
func currentWorkspace(list []client.Workspace, cloud, apiURL string) string {
	for _, w := range list {
		if strings.TrimRight(apiURL, "/") == w.APIURL(cloud) {
			return w.Handle()
		}
	}
	return ""
}

// myWorkspaces lists the logged-in user's workspaces, with the settings
// and the Cloud API client it used.
func myWorkspaces(ctx context.Context) (*settings, *client.Client, []client.Workspace, error) {
	s, err := loadSettings()
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := s.cloudClient()
	if err != nil {
		return nil, nil, nil, err
	}
	list, err := c.MyWorkspaces(ctx)
	if err != nil {
		return nil, nil, nil, explain(err)
	}
	return s, c, list, nil
}

func newWorkspaceLsCmd() *cobra.Command {
	var o output
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List the workspaces of the logged-in user; * marks the current one",
		Example: "  praetor cloud workspace ls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, c, list, err := myWorkspaces(cmd.Context())
			if err != nil {
				return err
			}
			slices.SortFunc(list, func(a, b client.Workspace) int { return strings.Compare(a.Handle(), b.Handle()) })
			if o.json() {
				return printJSON(cmd.OutOrStdout(), list)
			}
			current := currentWorkspace(list, c.Base(), s.value("PREFECT_API_URL"))
			t := table{headers: []string{"", "WORKSPACE", "NAME", "ROLE"}, keep: map[int]bool{1: true}}
			for _, w := range list {
				mark := ""
				if w.Handle() == current {
					mark = "*"
				}
				t.add(nil, mark, w.Handle(), w.WorkspaceName, w.Role)
			}
			return t.print(cmd.OutOrStdout())
		},
	}
	o.flag(cmd)
	return cmd
}

func newWorkspaceSetCmd() *cobra.Command {
	var workspace string
	var noPrompt bool
	cmd := &cobra.Command{
		Use:     "set",
		Short:   "Point the active profile at another workspace (a picker without --workspace)",
		Example: "  praetor cloud workspace set --workspace acme/staging",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, c, list, err := myWorkspaces(cmd.Context())
			if err != nil {
				return err
			}
			chosen, err := chooseWorkspace(list, workspace, interactive(noPrompt), c.Base(), currentWorkspace(list, c.Base(), s.value("PREFECT_API_URL")))
			if err != nil {
				return err
			}
			s.file.Set(s.profile, "PREFECT_API_URL", chosen.APIURL(c.Base()))
			if err := s.file.Save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Using workspace %q (profile %q).\n", chosen.Handle(), s.profile)
			warnOverridden(cmd, "PREFECT_API_URL")
			return nil
		},
	}
	cmd.Flags().StringVarP(&workspace, "workspace", "w", "", "the workspace, as account/workspace")
	cmd.Flags().BoolVar(&noPrompt, "no-prompt", false, "never ask: fail when --workspace is needed")
	return cmd
}

func newLogoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Short:   "Remove the API key and API URL from the active profile",
		Example: "  praetor cloud logout",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			if _, ok := s.file.Settings(s.profile)["PREFECT_API_KEY"]; !ok {
				return fmt.Errorf("profile %q is not logged in", s.profile)
			}
			s.file.Unset(s.profile, "PREFECT_API_KEY")
			s.file.Unset(s.profile, "PREFECT_API_URL")
			if err := s.file.Save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged out from profile %q.\n", s.profile)
			return nil
		},
	}
}
