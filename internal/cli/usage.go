package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes of every command: 0 success, 1 failure, 2 wrong usage.
const (
	exitFailure = 1
	exitUsage   = 2
)

// usageError is wrong usage of a command: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError ends a command with this exit code; msg, when set, is printed
// as the error.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// exitCode is the process exit code for what a command returned.
func exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ee):
		return ee.code
	}
	return exitFailure
}

// args wraps one of cobra's argument checks so that its refusal is wrong
// usage.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &usageError{msg: fmt.Sprintf("%s (see %s --help)", err, cmd.CommandPath())}
		}
		return nil
	}
}

// group makes cmd a command that only holds subcommands: without one it
// prints its help and exits 2; an unknown one is wrong usage.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if len(a) > 0 {
			return usagef("unknown command %q for %q (see %s --help)", a[0], cmd.CommandPath(), cmd.CommandPath())
		}
		cmd.SetOut(cmd.ErrOrStderr())
		_ = cmd.Help()
		return usagef("%s needs a subcommand", cmd.CommandPath())
	}
	return cmd
}

// usageRules applies the exit code rules to the whole tree: a command of
// subcommands is a group, and every argument check's refusal is wrong
// usage.
func usageRules(cmd *cobra.Command) {
	if cmd.HasSubCommands() && cmd.RunE == nil && cmd.Run == nil {
		group(cmd)
	} else if cmd.Args != nil {
		cmd.Args = args(cmd.Args)
	} else {
		cmd.Args = args(cobra.NoArgs)
	}
	for _, sub := range cmd.Commands() {
		usageRules(sub)
	}
}
