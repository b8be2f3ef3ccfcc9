package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

// stopWorkers ends a worker's whole group and the processes it started in
// sessions of their own (as Prefect's process worker starts each flow),
// which a signal to the group alone leaves running.
func TestStopWorkersEndsProcessesInTheirOwnSessions(t *testing.T) {
	token := uuid.NewString()
	cmd := exec.Command("sh", "-c", "setsid sleep 300 & sleep 300 & wait")
	cmd.Env = append(os.Environ(), "BENCH_WORKERS_TOKEN="+token)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }()
	var pids []int
	for wait := time.Now(); len(pids) < 3; time.Sleep(10 * time.Millisecond) {
		if pids = tokenProcesses(token); time.Since(wait) > 10*time.Second {
			stopWorkers([]*exec.Cmd{cmd}, token)
			t.Fatalf("%d processes hold the token, want the shell and its 2 sleeps", len(pids))
		}
	}
	stopWorkers([]*exec.Cmd{cmd}, token)
	if left := tokenProcesses(token); len(left) != 0 {
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		t.Fatalf("processes %v of %v outlived stopWorkers", left, pids)
	}
}
