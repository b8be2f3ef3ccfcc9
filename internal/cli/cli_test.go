package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// run runs praetor in this process, as Main does, with its outputs
// captured.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// commands are the runnable commands of the tree, groups left out.
func commands(cmd *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	if !cmd.HasSubCommands() {
		out = append(out, cmd)
	}
	for _, sub := range cmd.Commands() {
		out = append(out, commands(sub)...)
	}
	return out
}

// codeBlocks are the fenced blocks of a markdown file, by info string.
func codeBlocks(text string) (blocks []string, infos []string) {
	re := regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")
	for _, m := range re.FindAllStringSubmatch(text, -1) {
		infos = append(infos, m[1])
		blocks = append(blocks, m[2])
	}
	return blocks, infos
}

// docs/cli.md's synopsis (its first code block) has one line per command,
// with every flag the command has and none it has not; every command has
// an example in a bash block.
func TestDocsListEveryCommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, infos := codeBlocks(string(data))
	if len(blocks) == 0 {
		t.Fatal("docs/cli.md has no code block")
	}
	config, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	root := newRoot()
	documented := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(blocks[0]), "\n") {
		words := strings.Fields(line)
		cmd, _, err := root.Find(words[1:])
		if err != nil || cmd.HasSubCommands() || !strings.HasPrefix(line+" ", cmd.CommandPath()+" ") {
			t.Errorf("docs/cli.md lists %q, which is no command", line)
			continue
		}
		documented[cmd.CommandPath()] = true
		listed := map[string]bool{}
		for _, w := range words {
			if i := strings.Index(w, "--"); i >= 0 {
				name := strings.Trim(strings.SplitN(w[i+2:], "=", 2)[0], "[]|")
				listed[name] = true
				if cmd.Flags().Lookup(name) == nil {
					t.Errorf("docs/cli.md: %s has no flag --%s", cmd.CommandPath(), name)
				}
			}
		}
		// A command of many settings (server start) has them in the
		// configuration table instead.
		inConfig := strings.Contains(line, "in configuration.md]")
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if inConfig && !listed[f.Name] && f.Name != "help" && !strings.Contains(string(config), "| `--"+f.Name+"` |") {
				t.Errorf("docs/configuration.md: the table lacks --%s of %s", f.Name, cmd.CommandPath())
			}
			if f.Name != "help" && !listed[f.Name] && !inConfig {
				t.Errorf("docs/cli.md: the line of %s lacks --%s", cmd.CommandPath(), f.Name)
			}
		})
	}
	var examples strings.Builder
	for i, b := range blocks {
		if infos[i] == "bash" {
			examples.WriteString(b)
		}
	}
	for _, cmd := range commands(root) {
		path := cmd.CommandPath()
		if !documented[path] {
			t.Errorf("docs/cli.md does not list %s", path)
		}
		if !regexp.MustCompile(`(?m)(^|\| |\$\()(\S+=\S+ )*` + regexp.QuoteMeta(path) + `( |$)`).MatchString(examples.String()) {
			t.Errorf("docs/cli.md has no example of %s in a bash block", path)
		}
	}
}

// Every command answers --help, with its usage, and exits 0.
func TestEveryCommandHasHelp(t *testing.T) {
	var all func(*cobra.Command) []*cobra.Command
	all = func(c *cobra.Command) []*cobra.Command {
		out := []*cobra.Command{c}
		for _, sub := range c.Commands() {
			out = append(out, all(sub)...)
		}
		return out
	}
	for _, cmd := range all(newRoot()) {
		args := append(strings.Fields(cmd.CommandPath())[1:], "--help")
		out, errOut, code := run(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || !strings.Contains(out, strings.Split(cmd.Long+cmd.Short, "\n")[0]) {
			t.Errorf("praetor %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errOut)
		}
	}
}

// Wrong usage exits 2 with a one-line reason; nothing is written.
func TestWrongUsageExits2(t *testing.T) {
	home := t.TempDir()
	t.Setenv("PREFECT_HOME", home)
	t.Setenv("PREFECT_PROFILE", "")
	for _, args := range [][]string{
		{"bogus"},
		{"flow"},
		{"flow", "bogus"},
		{"flow", "ls", "--bogus"},
		{"flow", "ls", "extra"},
		{"flow", "ls", "--output", "yaml"},
		{"flow", "ls", "--limit", "many"},
		{"flow-run", "inspect"},
		{"flow-run", "inspect", "not-a-uuid"},
		{"flow-run", "logs", "a", "b"},
		{"deployment", "inspect", "no-slash"},
		{"deployment", "run", "f/d", "--param", "novalue"},
		{"config", "set", "NOEQUALS"},
		{"config", "set", "lower=1"},
		{"config", "unset"},
		{"profile", "rename", "a"},
		{"cloud", "login", "--no-prompt", "--url", "http://127.0.0.1:9"},
		{"cloud", "login", "--no-prompt"},
	} {
		_, errOut, code := run(t, args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		last := lines[len(lines)-1]
		if code != 2 || !strings.HasPrefix(last, "Error: ") {
			t.Errorf("praetor %s: exit %d, stderr %q; want 2 and a one-line Error", strings.Join(args, " "), code, errOut)
		}
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("wrong usage wrote %d files to PREFECT_HOME", len(entries))
	}
}
