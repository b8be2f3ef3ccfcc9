package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// target is one server/engine pair of the comparison.
type target struct {
	name   string // "praetor-sqlite", "prefect-postgres", ...
	kind   string // "praetor" or "prefect"
	engine string // "sqlite" or "postgres"
}

var targets = []target{
	{"praetor-sqlite", "praetor", "sqlite"},
	{"prefect-sqlite", "prefect", "sqlite"},
	{"praetor-postgres", "praetor", "postgres"},
	{"prefect-postgres", "prefect", "postgres"},
}

// server is a running server process, started in a process group of its
// own so that stop ends the whole tree.
type server struct {
	target
	cmd     *exec.Cmd
	api     string // base URL of its API: http://127.0.0.1:port/api
	dir     string // its home and log
	logPath string
	dbName  string // the PostgreSQL database made for it
	env     []string
	bin     string
	header  string // Authorization for the API calls, when set
	exited  chan struct{}
	startup time.Duration // exec to the first healthy /api/health
}

// startServer starts t on a fresh database under dir and waits until its
// API is healthy.
func (r *runner) startServer(ctx context.Context, t target) (*server, error) {
	dir, err := os.MkdirTemp(r.tmp, t.name+"-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{target: t, dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	env := environWithout("PRAETOR_", "PREFECT_")
	if t.engine == "postgres" {
		s.dbName = fmt.Sprintf("bench_%s_%d", strings.ReplaceAll(t.name, "-", "_"), os.Getpid())
		if err := pgExec(ctx, r.pgURL, "DROP DATABASE IF EXISTS "+s.dbName+" WITH (FORCE)", "CREATE DATABASE "+s.dbName); err != nil {
			return nil, fmt.Errorf("creating the database of %s: %w", t.name, err)
		}
	}
	var argv []string
	switch t.kind {
	case "praetor":
		// A scheduler pass every 5 s (as Prefect's recent-deployments
		// loop), so the scheduler workload sees one in seconds.
		env = append(env, "PRAETOR_HOME="+filepath.Join(dir, "home"), "PRAETOR_SCHEDULER_INTERVAL=5s")
		if t.engine == "postgres" {
			env = append(env, "PRAETOR_DATABASE_URL="+withDatabase(r.pgURL, s.dbName, "postgres"))
		}
		argv = []string{r.praetorBin, "server", "start", "--host", "127.0.0.1", "--port", port}
	case "prefect":
		// Its full scheduler loop every 5 s too (the default is 60 s; the
		// recent-deployments loop is 5 s already), as Praetor's above.
		env = append(env, "PREFECT_HOME="+filepath.Join(dir, "home"),
			"PREFECT_SERVER_ANALYTICS_ENABLED=false", "PREFECT_SERVER_UI_ENABLED=false",
			"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS=5")
		if t.engine == "postgres" {
			env = append(env, "PREFECT_API_DATABASE_CONNECTION_URL="+withDatabase(r.pgURL, s.dbName, "postgresql+asyncpg"))
		}
		argv = []string{filepath.Join(r.venv, "bin", "prefect"), "server", "start", "--host", "127.0.0.1", "--port", port}
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env, s.env, s.bin = env, env, argv[0]
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", t.name, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	s.api = "http://127.0.0.1:" + port + "/api"
	if err := s.waitHealthy(ctx, 3*time.Minute); err != nil {
		s.stop(ctx, r.pgURL)
		return nil, fmt.Errorf("%s: %w\n%s", t.name, err, tail(s.logPath, 30))
	}
	s.startup = time.Since(start)
	return s, nil
}

func (s *server) waitHealthy(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return errors.New("exited before it was healthy")
		default:
		}
		if req, err := http.NewRequestWithContext(ctx, "GET", s.api+"/health", nil); err == nil {
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy after %v", timeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop ends the server's process group (SIGTERM, then SIGKILL after 15 s),
// drops its database and removes its directory.
func (s *server) stop(ctx context.Context, pgURL string) {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
		// Children that outlived the leader.
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	if s.dbName != "" {
		_ = pgExec(context.WithoutCancel(ctx), pgURL, "DROP DATABASE IF EXISTS "+s.dbName+" WITH (FORCE)")
	}
	os.RemoveAll(s.dir)
}

// keyedWorkspace makes a user with a workspace and an API key with
// `praetor admin` on a Praetor server's database, and returns the
// workspace's API root and the key.
func (s *server) keyedWorkspace(ctx context.Context) (string, string, error) {
	admin := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, s.bin, append([]string{"admin"}, args...)...)
		cmd.Env, cmd.Dir, cmd.Stdin = s.env, s.dir, strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("praetor admin %s: %w", strings.Join(args, " "), err)
		}
		return string(out), nil
	}
	const email = "bench@example.com"
	if _, err := admin("bench password\n", "user", "create", "--email", email, "--handle", "bench", "--password-stdin"); err != nil {
		return "", "", err
	}
	out, err := admin("", "workspace", "create", "--account", "bench", "--owner", email, "--name", "bench")
	if err != nil {
		return "", "", err
	}
	path := regexp.MustCompile(`/api/accounts/[0-9a-f-]{36}/workspaces/[0-9a-f-]{36}`).FindString(out)
	if path == "" {
		return "", "", fmt.Errorf("workspace create printed no API path: %s", out)
	}
	key, err := admin("", "api-key", "create", "--user", email, "--name", "bench")
	if err != nil {
		return "", "", err
	}
	return strings.TrimSuffix(s.api, "/api") + path, strings.TrimSpace(key), nil
}

// usage is the server's process tree as the kernel counts it.
type usage struct {
	cpu     float64 // user + system seconds of the live tree and its reaped children
	rss     int64   // bytes resident now, summed over the tree
	peakRSS int64   // VmHWM summed over the tree: each process's peak
}

// usage reads /proc for the server's process group.
func (s *server) usage() usage {
	var u usage
	pgid := s.cmd.Process.Pid
	entries, _ := os.ReadDir("/proc")
	tick := 100.0 // USER_HZ on Linux
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		// f[0] is field 3 (state): pgrp is field 5, utime..cstime 14..17.
		if len(f) < 16 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		for _, k := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseFloat(f[k], 64)
			u.cpu += v / tick
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			name, val, ok := strings.Cut(line, ":")
			if !ok || (name != "VmRSS" && name != "VmHWM") {
				continue
			}
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
			if name == "VmRSS" {
				u.rss += kb << 10
			} else {
				u.peakRSS += kb << 10
			}
		}
	}
	return u
}

// logCount counts the lines of the server's log holding s.
func (s *server) logCount(sub string) int {
	b, _ := os.ReadFile(s.logPath)
	return strings.Count(string(b), sub)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

func environWithout(prefixes ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// withDatabase returns the PostgreSQL URL base naming database name, with
// scheme (postgresql+asyncpg for Prefect's SQLAlchemy URL).
func withDatabase(base, name, scheme string) string {
	rest := base[strings.Index(base, "://"):]
	host, query, _ := strings.Cut(rest, "?")
	if i := strings.LastIndexByte(host, '/'); i > len("://") {
		host = host[:i]
	}
	u := scheme + host + "/" + name
	if query != "" && scheme == "postgres" {
		u += "?" + query
	}
	return u
}

func pgExec(ctx context.Context, url string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
