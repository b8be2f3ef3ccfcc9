package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/creack/pty"

	"github.com/praetorhq/praetor/internal/testenv"
)

// terminal is a praetor command on a real pseudo-terminal, all that it
// printed kept.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	mu   sync.Mutex
	out  strings.Builder
	more chan struct{} // a signal after each read
	done chan struct{}
}

func startTerminal(t *testing.T, p praetorCLI, env []string, args ...string) *terminal {
	t.Helper()
	cmd := p.command(env, args...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, cmd: cmd, tty: tty, more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			select {
			case term.more <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		tty.Close()
	})
	return term
}

func (term *terminal) printed() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until the terminal shows re after position from, and
// returns the match and where it ends.
func (term *terminal) waitFor(from int, re string) (string, int) {
	term.t.Helper()
	rx := regexp.MustCompile(re)
	timeout := time.After(time.Minute)
	for {
		out := term.printed()
		if loc := rx.FindStringIndex(out[from:]); loc != nil {
			return out[from+loc[0] : from+loc[1]], from + loc[1]
		}
		select {
		case <-term.more:
		case <-term.done:
			if out := term.printed(); !rx.MatchString(out[from:]) {
				term.t.Fatalf("the command ended without showing %q; it showed:\n%s", re, out)
			}
		case <-timeout:
			term.t.Fatalf("the terminal did not show %q within a minute; it showed:\n%s", re, term.printed())
		}
	}
}

func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := term.tty.WriteString(keys); err != nil {
		term.t.Fatal(err)
	}
}

// exit waits for the command to end and returns its exit code.
func (term *terminal) exit() int {
	term.t.Helper()
	term.cmd.Wait()
	<-term.done
	return term.cmd.ProcessState.ExitCode()
}

const (
	arrowDown = "\x1b[B"
	enter     = "\r"
)

// profileSetting reads a setting of the active profile of home.
func profileSetting(t *testing.T, home, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(home, "profiles.toml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` = "([^"]*)"`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("profiles.toml has no %s:\n%s", name, data)
	}
	return m[1]
}

// The interactive login, typed on a real terminal: "Paste an API key", the
// key, the second workspace with the arrow keys; then workspace set by
// typing to filter; then the browser login, approved in Chromium signed in
// to the UI. One engine: what is tested is the terminal and the browser.
func TestPraetorCLIInteractiveLogin(t *testing.T) {
	api := startPraetor(t, "sqlite")
	c := newCloud(t, api)
	server := strings.TrimSuffix(api.base, "/api")
	p := praetorCLI{t, t.TempDir()}

	term := startTerminal(t, p, nil, "cloud", "login", "--url", server)
	_, at := term.waitFor(0, `> Log in with a web browser`)
	term.send(arrowDown)
	_, at = term.waitFor(at, `> Paste an API key`)
	term.send(enter)
	_, at = term.waitFor(at, `Paste your API key: `)
	term.send(c.aliceKey + enter)
	_, at = term.waitFor(at, `> alice/other\r*\n  alice/prod`)
	term.send(arrowDown)
	_, at = term.waitFor(at, `  alice/other\r*\n> alice/prod`)
	term.send(enter)
	term.waitFor(at, `Using workspace "alice/prod"`)
	if code := term.exit(); code != 0 {
		t.Fatalf("the interactive login exited %d:\n%s", code, term.printed())
	}
	if strings.Contains(term.printed(), c.aliceKey) {
		t.Errorf("the pasted key was echoed")
	}
	if got := profileSetting(t, p.home, "PREFECT_API_URL"); got != c.ws["alice/prod"] {
		t.Errorf("after the interactive login PREFECT_API_URL = %s, want alice/prod's %s", got, c.ws["alice/prod"])
	}
	if got := profileSetting(t, p.home, "PREFECT_API_KEY"); got != c.aliceKey {
		t.Errorf("after the interactive login PREFECT_API_KEY = %s", got)
	}

	term = startTerminal(t, p, nil, "cloud", "workspace", "set")
	_, at = term.waitFor(0, `> alice/prod`) // the current one first
	term.send("oth")
	_, at = term.waitFor(at, `filter: oth\r*\n> alice/other\r*\n\S*`)
	term.send(enter)
	term.waitFor(at, `Using workspace "alice/other"`)
	if code := term.exit(); code != 0 {
		t.Fatalf("workspace set exited %d:\n%s", code, term.printed())
	}
	if got := profileSetting(t, p.home, "PREFECT_API_URL"); got != c.ws["alice/other"] {
		t.Errorf("after workspace set PREFECT_API_URL = %s, want alice/other's", got)
	}

	// Without a terminal: one-line reasons for a user without workspaces
	// and for an expired key.
	admin(t, api, "correct horse battery\n", "user", "create", "--email", "carol@example.com", "--handle", "carol", "--password-stdin")
	carolKey := strings.TrimSpace(admin(t, api, "", "api-key", "create", "--user", "carol@example.com", "--name", "k"))
	if _, errOut, code := p.run(nil, "cloud", "login", "--url", server, "-k", carolKey); code != 1 || !strings.Contains(errOut, "no workspaces: create one at "+server+"/workspaces") {
		t.Errorf("login of a user without workspaces: exit %d, %s", code, errOut)
	}
	expired := strings.TrimSpace(admin(t, api, "", "api-key", "create", "--user", "alice@example.com", "--name", "brief", "--expires-in", "1ms"))
	if _, errOut, code := p.run(nil, "cloud", "login", "--url", server, "-k", expired, "-w", "alice/prod"); code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "expired") {
		t.Errorf("login with an expired key: exit %d, %s", code, errOut)
	}

	// The browser path, in a fresh home.
	exe := os.Getenv("PRAETOR_TEST_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		testenv.Missing(t, "no Chromium: install Debian's chromium or set PRAETOR_TEST_CHROMIUM")
	}
	ctx := newChromium(t, exe)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(server+"/signin"),
		chromedp.SendKeys(`form[action="/signin"] input[name="email"]`, "alice@example.com"),
		chromedp.SendKeys(`form[action="/signin"] input[name="password"]`, "correct horse battery"),
		chromedp.Click(`form[action="/signin"] [type="submit"]`),
		chromedp.WaitNotPresent(`form[action="/signin"]`),
	); err != nil {
		t.Fatalf("signing in to the UI: %v", err)
	}
	p = praetorCLI{t, t.TempDir()}
	term = startTerminal(t, p, []string{"BROWSER=true"}, "cloud", "login", "--url", server)
	_, at = term.waitFor(0, `> Log in with a web browser`)
	term.send(enter)
	page, at := term.waitFor(at, `http://\S+/auth/client\?callback=\S+`)
	// The page marks the hand-off done either way, so a failed POST shows
	// at once, not as a timeout.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.Click(`#cli-authorize button[value="authorize"]`),
		chromedp.WaitReady(`#cli-handoff[data-cli-done]`),
	); err != nil {
		t.Fatalf("approving the login in the browser: %v\n%s", err, term.printed())
	}
	if done, err := chromedp.Run(ctx, chromedp.AttributeValue(`#cli-handoff`, "data-cli-done")); err != nil || done.Value != "sent" {
		t.Fatalf("the page did not hand the key to the CLI: %q, %v\n%s", done.Value, err, term.printed())
	}
	_, at = term.waitFor(at, `> alice/other`)
	term.send(enter)
	term.waitFor(at, `Using workspace "alice/other"`)
	if code := term.exit(); code != 0 {
		t.Fatalf("the browser login exited %d:\n%s", code, term.printed())
	}
	if key := profileSetting(t, p.home, "PREFECT_API_KEY"); !strings.HasPrefix(key, "pnu_") || key == c.aliceKey {
		t.Errorf("after the browser login PREFECT_API_KEY = %q, want a new key", key)
	}
	if out := p.must("flow-run", "ls"); !strings.HasPrefix(out, "ID") {
		t.Errorf("flow-run ls with the browser's key:\n%s", out)
	}
}

// newChromium starts a headless Chromium, closed when the test ends.
func newChromium(t *testing.T, exe string) context.Context {
	t.Helper()
	tmp, err := os.MkdirTemp("", "cr") // a short path: Chromium's socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR="+tmp),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser and binds it to ctx, which must
	// therefore carry no timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return tctx
}
