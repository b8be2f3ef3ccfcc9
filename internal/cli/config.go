package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "View and change the settings of the active profile (shared with the Prefect client)"}
	cmd.AddCommand(newConfigSetCmd(), newConfigUnsetCmd(), newConfigViewCmd())
	return cmd
}

const masked = "********"

func maskedValue(name, value string, showSecrets bool) string {
	if secretSetting(name) && !showSecrets && value != "" {
		return masked
	}
	return value
}

func newConfigSetCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "set KEY=VALUE...",
		Short:   "Set settings in the active profile",
		Example: "  praetor config set PREFECT_API_URL=http://127.0.0.1:4200/api",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			pairs := make([][2]string, 0, len(a))
			for _, arg := range a {
				k, v, ok := strings.Cut(arg, "=")
				if !ok || !settingName.MatchString(k) {
					return usagef("%q is not KEY=VALUE with a setting's name as KEY (such as PREFECT_API_URL=…)", arg)
				}
				pairs = append(pairs, [2]string{k, v})
			}
			s, err := loadSettings()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, p := range pairs {
				s.file.Set(s.profile, p[0], p[1])
				fmt.Fprintf(out, "Set %q to %q.\n", p[0], maskedValue(p[0], p[1], false))
				if _, ok := os.LookupEnv(p[0]); ok {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s is also set by an environment variable, which overrides the profile.\n", p[0])
				}
			}
			if err := s.file.Save(); err != nil {
				return err
			}
			fmt.Fprintf(out, "Updated profile %q.\n", s.profile)
			return nil
		},
	}
}

func newConfigUnsetCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "unset KEY...",
		Short:   "Remove settings from the active profile",
		Example: "  praetor config unset PREFECT_API_KEY",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			for _, k := range a {
				if !s.file.Unset(s.profile, k) {
					return fmt.Errorf("%s is not set in profile %q", k, s.profile)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Unset %q.\n", k)
			}
			if err := s.file.Save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Updated profile %q.\n", s.profile)
			return nil
		},
	}
}

func newConfigViewCmd() *cobra.Command {
	var showSources, showSecrets bool
	cmd := &cobra.Command{
		Use:     "view",
		Short:   "Show the settings in force: the environment's over the active profile's",
		Example: "  praetor config view --show-sources",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			names := map[string]bool{}
			for k := range s.file.Settings(s.profile) {
				names[k] = true
			}
			for _, kv := range os.Environ() {
				if k, _, _ := strings.Cut(kv, "="); settingName.MatchString(k) && k != "PREFECT_PROFILE" {
					names[k] = true
				}
			}
			var b strings.Builder
			fmt.Fprintf(&b, "PREFECT_PROFILE=%q\n", s.profile)
			for _, k := range sortedKeys(names) {
				v, source := s.get(k)
				fmt.Fprintf(&b, "%s=%q", k, maskedValue(k, v, showSecrets))
				if showSources {
					fmt.Fprintf(&b, " (from %s)", source)
				}
				b.WriteString("\n")
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		},
	}
	cmd.Flags().BoolVar(&showSources, "show-sources", false, "say where each value comes from (env or profile)")
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "show API keys and other secrets instead of ********")
	return cmd
}

func newProfileCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "profile", Short: "Manage the profiles of profiles.toml (shared with the Prefect client)"}
	cmd.AddCommand(newProfileLsCmd(), newProfileCreateCmd(), newProfileUseCmd(), newProfileDeleteCmd(),
		newProfileInspectCmd(), newProfileRenameCmd())
	return cmd
}

// editProfiles loads the settings, lets edit change the file and saves it.
func editProfiles(edit func(s *settings) error) error {
	s, err := loadSettings()
	if err != nil {
		return err
	}
	if err := edit(s); err != nil {
		return err
	}
	return s.file.Save()
}

func newProfileLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ls",
		Short:   "List the profiles; * marks the active one",
		Example: "  praetor profile ls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, n := range s.file.Names() {
				mark := "  "
				if n == s.profile {
					mark = "* "
				}
				b.WriteString(mark + n + "\n")
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		},
	}
}

func newProfileCreateCmd() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a profile, empty or a copy of another",
		Example: "  praetor profile create staging --from default",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			err := editProfiles(func(s *settings) error {
				var copied map[string]string
				if from != "" {
					if !s.file.Has(from) {
						return fmt.Errorf("profile %q not found", from)
					}
					copied = s.file.Settings(from)
				}
				return s.file.Create(a[0], copied)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Created profile %q. Switch to it with `praetor profile use %s`.\n", a[0], a[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "copy the settings of this profile")
	return cmd
}

func newProfileUseCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "use NAME",
		Short:   "Make a profile the active one",
		Example: "  praetor profile use local",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			err := editProfiles(func(s *settings) error {
				if !s.file.Has(a[0]) {
					return fmt.Errorf("profile %q not found (`praetor profile ls` lists them)", a[0])
				}
				s.file.SetActive(a[0])
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Switched to profile %q.\n", a[0])
			if p := os.Getenv("PREFECT_PROFILE"); p != "" && p != a[0] {
				fmt.Fprintf(cmd.ErrOrStderr(), "PREFECT_PROFILE=%s in the environment overrides it.\n", p)
			}
			return nil
		},
	}
}

func newProfileDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a profile (not the active one)",
		Example: "  praetor profile delete staging",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			err := editProfiles(func(s *settings) error {
				if a[0] == s.profile {
					return fmt.Errorf("profile %q is the active profile: switch to another one first (`praetor profile use NAME`)", a[0])
				}
				return s.file.Delete(a[0])
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed profile %q.\n", a[0])
			return nil
		},
	}
}

func newProfileInspectCmd() *cobra.Command {
	var o output
	var showSecrets bool
	cmd := &cobra.Command{
		Use:     "inspect [NAME]",
		Short:   "Show the settings of a profile (default: the active one)",
		Example: "  praetor profile inspect local",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			s, err := loadSettings()
			if err != nil {
				return err
			}
			name := s.profile
			if len(a) == 1 {
				name = a[0]
			}
			if !s.file.Has(name) {
				return fmt.Errorf("profile %q not found", name)
			}
			values := s.file.Settings(name)
			for k, v := range values {
				values[k] = maskedValue(k, v, showSecrets)
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), values)
			}
			var b strings.Builder
			if len(values) == 0 {
				fmt.Fprintf(&b, "Profile %q has no settings.\n", name)
			}
			for _, k := range sortedKeys(values) {
				fmt.Fprintf(&b, "%s=%q\n", k, values[k])
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), b.String())
			return err
		},
	}
	o.flag(cmd)
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "show API keys and other secrets instead of ********")
	return cmd
}

func newProfileRenameCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rename OLD NEW",
		Short:   "Rename a profile",
		Example: "  praetor profile rename staging stage",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := editProfiles(func(s *settings) error { return s.file.Rename(a[0], a[1]) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Renamed profile %q to %q.\n", a[0], a[1])
			return nil
		},
	}
}
