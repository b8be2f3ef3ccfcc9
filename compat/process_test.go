package compat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// flowTimeout bounds one run of a Python flow script.
const flowTimeout = 3 * time.Minute

// process is a long-running child (a server) in its own process group, with
// its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited
	waitErr error         // valid after done is closed
}

func startProcess(name, logPath string, env []string, path string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks the process group to terminate and kills it after grace.
func (p *process) stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	// Whatever is left of the group (children of the leader) goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// kill ends the process group at once with SIGKILL, as a crash would.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// log returns the process's output so far.
func (p *process) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", p.logPath, err)
	}
	return string(b)
}

// waitHealthy polls GET /health until it answers true, the process exits or
// the timeout passes.
func waitHealthy(api *apiClient, p *process, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		if ended, err := p.exited(); ended {
			return fmt.Errorf("%s exited before it was healthy (%v)", p.name, err)
		}
		var healthy bool
		err := api.call(ctx, "GET", "/health", nil, &healthy)
		switch {
		case err == nil && healthy:
			return nil
		case err == nil:
			last = "GET /health answered false"
		default:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s: %s", p.name, timeout, last)
		case <-tick.C:
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// environWithout returns the current environment without the variables whose
// names start with one of prefixes.
func environWithout(prefixes ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// runPython runs a flow script from flows/ with the Prefect client pointed at
// apiURL and a private PREFECT_HOME, and returns its combined output.
func runPython(ctx context.Context, apiURL, prefectHome, script string, extraEnv ...string) (string, error) {
	path, err := filepath.Abs(filepath.Join("flows", script))
	if err != nil {
		return "", err
	}
	return runClient(ctx, prefectHome, append([]string{"PREFECT_API_URL=" + apiURL}, extraEnv...), path)
}

// runClient runs the venv's python with args (a script, or "-m prefect …")
// under PREFECT_HOME=prefectHome and env, and none of the caller's own
// PREFECT_ settings.
func runClient(ctx context.Context, prefectHome string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, flowTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonBin, args...)
	cmd.Env = append(environWithout("PREFECT_"),
		"PREFECT_HOME="+prefectHome,
		"PREFECT_SERVER_ANALYTICS_ENABLED=false",
		"PYTHONUNBUFFERED=1",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return string(out), fmt.Errorf("python %v did not finish: %w", args, ctxErr)
	}
	return string(out), err
}

// runFlow runs a flow script against api; its output is logged if the test
// fails later.
func runFlow(t *testing.T, api *apiClient, script string, extraEnv ...string) (string, error) {
	t.Helper()
	out, err := runPython(t.Context(), api.base, t.TempDir(), script, extraEnv...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of %s:\n%s", script, out)
		}
	})
	return out, err
}

// mustRunFlow runs a flow script that must exit 0.
func mustRunFlow(t *testing.T, api *apiClient, script string, extraEnv ...string) {
	t.Helper()
	if _, err := runFlow(t, api, script, extraEnv...); err != nil {
		t.Fatalf("%s: %v (want exit status 0; its output is logged below)", script, err)
	}
}

// exitCode returns the exit status of a finished command's error, or false
// if err is not an ordinary non-zero exit.
func exitCode(err error) (int, bool) {
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() > 0 {
		return exitErr.ExitCode(), true
	}
	return 0, false
}

// tailLines returns at most the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d earlier lines …", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
