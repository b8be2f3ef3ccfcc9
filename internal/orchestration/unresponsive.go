package orchestration

import (
	"context"
	"fmt"
	"time"

	"github.com/praetorhq/praetor/internal/model"
)

// WorkerLabel is the label a worker puts on the runs it claims, naming
// itself; with the run's pool it finds the worker.
const WorkerLabel = "prefect.worker.name"

// Silence is why a RUNNING run of a worker looks abandoned: its worker
// stopped heartbeating (or is gone) and the run itself sent nothing since
// LastActivity.
type Silence struct {
	Worker, Pool string
	// LastHeartbeat is the worker's last heartbeat; nil when the pool no
	// longer has the worker.
	LastHeartbeat *time.Time
	// LastActivity is the latest of the run's state change, log line and
	// task-run change.
	LastActivity time.Time
}

// Reason says why the server marked the run crashed at now.
func (s Silence) Reason(now time.Time) string {
	stopped := "is no longer registered"
	if s.LastHeartbeat != nil {
		stopped = "stopped heartbeating at " + s.LastHeartbeat.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("Worker %q of pool %q %s and the run sent nothing for %d s; marked crashed by the server.",
		s.Worker, s.Pool, stopped, int(now.Sub(s.LastActivity).Round(time.Second)/time.Second))
}

// CrashUnresponsive sets run (as read by LockFlowRun) CRASHED with reason,
// forced, as nothing of the run is left to propose a state; it returns nil
// and writes nothing for a run no longer RUNNING.
func CrashUnresponsive(ctx context.Context, tx FlowRunTx, run *model.FlowRun, reason string) (*Result, error) {
	if run.State == nil || run.State.Type != model.Running {
		return nil, nil
	}
	return tx.SetFlowRunState(ctx, run, model.StateCreate{Type: model.Crashed, Message: &reason}, true)
}
