package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/worker"
)

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "worker", Short: "Run a worker that executes the flow runs of a work pool"}
	cmd.AddCommand(newWorkerStartCmd())
	return cmd
}

func newWorkerStartCmd() *cobra.Command {
	s := worker.Defaults()
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start a process worker for a work pool (speaks Prefect's worker protocol; needs no Python itself)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resolved, err := s.Resolve(os.Getenv)
			if err != nil {
				return err
			}
			return worker.New(resolved, newLogger(), clock.Real).Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&s.Pool, "pool", "p", "", "the work pool to serve (required; created when missing)")
	f.StringVarP(&s.Type, "type", "t", s.Type, "the worker type, used when the pool must be created")
	f.StringArrayVarP(&s.Queues, "work-queue", "q", nil, "serve only this queue of the pool (repeatable; default: every queue)")
	f.IntVarP(&s.Limit, "limit", "l", 0, "the most flow runs in flight at once (0: no limit)")
	f.StringVarP(&s.Name, "name", "n", "", "the worker's name (default: PraetorWorker <uuid>)")
	f.StringVar(&s.APIURL, "api-url", "", "the API URL (default: PRAETOR_API_URL, PREFECT_API_URL, then the active Prefect profile)")
	f.DurationVar(&s.KillGrace, "kill-grace", s.KillGrace, "how long a stopped flow run's process has between SIGTERM and SIGKILL")
	f.DurationVar(&s.CancelInterval, "cancel-poll", s.CancelInterval, "while the events stream is down, how often the states of the runs in flight are checked for cancellation")
	return cmd
}
