package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/praetorhq/praetor/internal/client"
	"github.com/praetorhq/praetor/internal/model"
)

// pollInterval is how often --follow and --watch read the run again.
const pollInterval = time.Second

// workspace is the client of the workspace the settings point at.
func workspace() (*client.Client, error) {
	s, err := loadSettings()
	if err != nil {
		return nil, err
	}
	return s.workspaceClient()
}

// notFound turns a 404 into a message naming what was looked for.
func notFound(err error, what string) error {
	if client.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%s not found in this workspace", what)
	}
	return explain(err)
}

func parseRunID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, usagef("%q is not a flow run id (a UUID, as `praetor flow-run ls` shows)", s)
	}
	return id, nil
}

// flowNames maps flow ids to names, for the tables that show runs and
// deployments.
func flowNames(ctx context.Context, c *client.Client, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	names := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return names, nil
	}
	flows, err := c.Flows(ctx, client.Filter{"flows": map[string]any{"id": client.AnyOf(ids...)}})
	if err != nil {
		return nil, explain(err)
	}
	for _, f := range flows {
		names[f.ID] = f.Name
	}
	return names, nil
}

func newFlowCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "flow", Short: "Flows of the workspace"}
	var o output
	var limit int
	ls := &cobra.Command{
		Use:     "ls",
		Short:   "List flows",
		Example: "  praetor flow ls --limit 50",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := workspace()
			if err != nil {
				return err
			}
			flows, err := c.Flows(cmd.Context(), client.Filter{"limit": limit, "sort": "NAME_ASC"})
			if err != nil {
				return explain(err)
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), flows)
			}
			t := table{headers: []string{"ID", "NAME", "CREATED"}, keep: map[int]bool{0: true}}
			for _, f := range flows {
				t.add(nil, f.ID.String(), f.Name, timeOf(&f.Created))
			}
			return t.print(cmd.OutOrStdout())
		},
	}
	o.flag(ls)
	ls.Flags().IntVar(&limit, "limit", 15, "the most flows to list")
	cmd.AddCommand(ls)
	return cmd
}

func newFlowRunCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "flow-run", Short: "Flow runs of the workspace: list, inspect, follow their logs, cancel"}
	cmd.AddCommand(newFlowRunLsCmd(), newFlowRunInspectCmd(), newFlowRunLogsCmd(), newFlowRunCancelCmd())
	return cmd
}

func newFlowRunLsCmd() *cobra.Command {
	var o output
	var states, flows, deployments []string
	var limit int
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List flow runs, the latest first",
		Example: "  praetor flow-run ls --state FAILED --flow etl --limit 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := workspace()
			if err != nil {
				return err
			}
			f := client.Filter{"limit": limit, "sort": "EXPECTED_START_TIME_DESC"}
			runFilter := map[string]any{}
			var types, names []string
			for _, s := range states {
				if t := model.StateType(strings.ToUpper(s)); t.Valid() {
					types = append(types, string(t))
				} else {
					names = append(names, s)
				}
			}
			state := map[string]any{}
			if len(types) > 0 {
				state["type"] = client.AnyOf(types...)
			}
			if len(names) > 0 {
				state["name"] = client.AnyOf(names...)
			}
			if len(state) > 0 {
				state["operator"] = "or_"
				runFilter["state"] = state
			}
			if len(runFilter) > 0 {
				f["flow_runs"] = runFilter
			}
			if len(flows) > 0 {
				f["flows"] = map[string]any{"name": client.AnyOf(flows...)}
			}
			if len(deployments) > 0 {
				var depNames []string
				for _, d := range deployments {
					// flow/deployment, or the deployment's name alone
					_, name, ok := strings.Cut(d, "/")
					if !ok {
						name = d
					}
					depNames = append(depNames, name)
				}
				f["deployments"] = map[string]any{"name": client.AnyOf(depNames...)}
			}
			runs, err := c.FlowRuns(cmd.Context(), f)
			if err != nil {
				return explain(err)
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), runs)
			}
			ids := make([]uuid.UUID, 0, len(runs))
			for _, r := range runs {
				ids = append(ids, r.FlowID)
			}
			names2, err := flowNames(cmd.Context(), c, ids)
			if err != nil {
				return err
			}
			t := table{headers: []string{"ID", "FLOW", "NAME", "STATE", "WHEN"}, keep: map[int]bool{0: true, 3: true}}
			for _, r := range runs {
				when := r.StartTime
				if when == nil {
					when = r.ExpectedStartTime
				}
				t.add(stateStyle(3, r.StateType), r.ID.String(), names2[r.FlowID], r.Name, stateOf(r.StateType, r.StateName), timeOf(when))
			}
			return t.print(cmd.OutOrStdout())
		},
	}
	o.flag(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&states, "state", nil, "only runs in this state: a type (COMPLETED) or a name (Late); repeatable")
	fl.StringArrayVar(&flows, "flow", nil, "only runs of this flow (repeatable)")
	fl.StringArrayVar(&deployments, "deployment", nil, "only runs of this deployment, FLOW/NAME or NAME (repeatable)")
	fl.IntVar(&limit, "limit", 15, "the most runs to list")
	return cmd
}

func newFlowRunInspectCmd() *cobra.Command {
	var o output
	cmd := &cobra.Command{
		Use:     "inspect ID",
		Short:   "Show a flow run",
		Example: "  praetor flow-run inspect 5f0c…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := parseRunID(a[0])
			if err != nil {
				return err
			}
			c, err := workspace()
			if err != nil {
				return err
			}
			r, err := c.FlowRun(cmd.Context(), id)
			if err != nil {
				return notFound(err, "flow run "+a[0])
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), r)
			}
			names, err := flowNames(cmd.Context(), c, []uuid.UUID{r.FlowID})
			if err != nil {
				return err
			}
			params, _ := json.Marshal(r.Parameters)
			msg := ""
			if r.State != nil && r.State.Message != nil {
				msg = *r.State.Message
			}
			dep := "-"
			if r.DeploymentID != nil {
				dep = r.DeploymentID.String()
			}
			return kv(cmd.OutOrStdout(),
				[2]string{"ID", r.ID.String()},
				[2]string{"Name", r.Name},
				[2]string{"Flow", names[r.FlowID]},
				[2]string{"Deployment", dep},
				[2]string{"State", stateOf(r.StateType, r.StateName)},
				[2]string{"Message", msg},
				[2]string{"Expected start", timeOf(r.ExpectedStartTime)},
				[2]string{"Start", timeOf(r.StartTime)},
				[2]string{"End", timeOf(r.EndTime)},
				[2]string{"Run count", strconv.Itoa(r.RunCount)},
				[2]string{"Work pool", strOr(r.WorkPoolName, "-")},
				[2]string{"Parameters", string(params)},
				[2]string{"Tags", strings.Join(r.Tags, ", ")},
			)
		},
	}
	o.flag(cmd)
	return cmd
}

// finalExit is the exit code for a run that ended: 0 when it COMPLETED,
// 1 otherwise.
func finalExit(w io.Writer, r model.FlowRun) error {
	state := stateOf(r.StateType, r.StateName)
	if r.StateType != nil && *r.StateType == "COMPLETED" {
		fmt.Fprintf(w, "Flow run %q ended %s.\n", r.Name, state)
		return nil
	}
	return &exitError{code: exitFailure, msg: fmt.Sprintf("flow run %q ended %s", r.Name, state)}
}

func terminal(r model.FlowRun) bool { return r.StateType != nil && r.StateType.Terminal() }

func newFlowRunLogsCmd() *cobra.Command {
	var follow bool
	var o output
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a flow run's logs; --follow prints them as they arrive until the run ends",
		Long: `Print a flow run's logs. With --follow it keeps printing new lines as they arrive
and exits when the run ends: 0 when it ended COMPLETED, 1 for any other final state.`,
		Example: "  praetor flow-run logs 5f0c… --follow",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := parseRunID(a[0])
			if err != nil {
				return err
			}
			c, err := workspace()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			run, err := c.FlowRun(ctx, id)
			if err != nil {
				return notFound(err, "flow run "+a[0])
			}
			out := cmd.OutOrStdout()
			seen := map[uuid.UUID]bool{}
			var since *model.Time
			// print prints the lines not printed yet. Log lines arrive in
			// batches and late, so each read goes back a minute before
			// the latest line printed and skips those already printed.
			print := func() error {
				for offset := 0; ; {
					f := client.Filter{"logs": map[string]any{"flow_run_id": client.AnyOf(id)}, "sort": "TIMESTAMP_ASC", "limit": 200, "offset": offset}
					if since != nil {
						f["logs"].(map[string]any)["timestamp"] = map[string]any{"after_": model.At(since.Add(-time.Minute))}
					}
					logs, err := c.Logs(ctx, f)
					if err != nil {
						return explain(err)
					}
					for _, l := range logs {
						if seen[l.ID] {
							continue
						}
						seen[l.ID] = true
						if since == nil || l.Timestamp.After(since.Time) {
							ts := l.Timestamp
							since = &ts
						}
						if o.json() {
							if err := json.NewEncoder(out).Encode(l); err != nil {
								return err
							}
							continue
						}
						fmt.Fprintf(out, "%s | %-7s | %s - %s\n", l.Timestamp.Local().Format("2006-01-02 15:04:05.000"), model.LevelName(l.Level), l.Name, l.Message)
					}
					if len(logs) < 200 {
						return nil
					}
					offset += len(logs)
				}
			}
			wait := func() error {
				select {
				case <-ctx.Done():
					return errInterrupted
				case <-time.After(pollInterval):
					return nil
				}
			}
			for {
				ended := terminal(run)
				if err := print(); err != nil {
					return err
				}
				if !follow {
					return nil
				}
				if ended {
					// A client ships its last lines as its process exits,
					// just after the final state: one more read a poll
					// later gets them.
					if err := wait(); err != nil {
						return err
					}
					if err := print(); err != nil {
						return err
					}
					return finalExit(cmd.ErrOrStderr(), run)
				}
				if err := wait(); err != nil {
					return err
				}
				if run, err = c.FlowRun(ctx, id); err != nil {
					return explain(err)
				}
			}
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing lines until the run ends; the exit code is 0 only if it COMPLETED")
	cmd.Flags().StringVarP(&o.format, "output", "o", "text", "text, or json (one log object a line)")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if o.format != "text" && o.format != "json" {
			return usagef("--output must be text or json, not %q", o.format)
		}
		return nil
	}
	return cmd
}

func newFlowRunCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "cancel ID",
		Short:   "Cancel a flow run (its worker stops it)",
		Example: "  praetor flow-run cancel 5f0c…",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			id, err := parseRunID(a[0])
			if err != nil {
				return err
			}
			c, err := workspace()
			if err != nil {
				return err
			}
			name := "Cancelling"
			res, err := c.SetFlowRunState(cmd.Context(), id, model.StateCreate{Type: "CANCELLING", Name: &name}, false)
			if err != nil {
				return notFound(err, "flow run "+a[0])
			}
			// A run that nothing runs yet is cancelled at once: the answer
			// is then a REJECT whose state is CANCELLED.
			if res.State == nil || (res.State.Type != "CANCELLING" && res.State.Type != "CANCELLED") {
				reason, _ := res.Details["reason"].(string)
				return fmt.Errorf("flow run %s was not cancelled (%s): %s", a[0], res.Status, strOr(&reason, "the server gave no reason"))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Flow run %s is %s.\n", a[0], res.State.Name)
			return nil
		},
	}
}

func newDeploymentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "deployment", Short: "Deployments of the workspace: list, inspect, run"}
	cmd.AddCommand(newDeploymentLsCmd(), newDeploymentInspectCmd(), newDeploymentRunCmd())
	return cmd
}

// checkDeploymentName refuses a name that is neither FLOW/NAME nor an id.
func checkDeploymentName(name string) error {
	if _, err := uuid.Parse(name); err == nil {
		return nil
	}
	flow, dep, ok := strings.Cut(name, "/")
	if !ok || flow == "" || dep == "" {
		return usagef("%q is not FLOW/DEPLOYMENT (as `praetor deployment ls` shows) or a deployment id", name)
	}
	return nil
}

// readDeployment reads a deployment named FLOW/NAME, or by id.
func readDeployment(ctx context.Context, c *client.Client, name string) (model.Deployment, error) {
	if id, err := uuid.Parse(name); err == nil {
		d, err := c.Deployment(ctx, id)
		return d, notFound(err, "deployment "+name)
	}
	flow, dep, _ := strings.Cut(name, "/")
	d, err := c.DeploymentByName(ctx, flow, dep)
	return d, notFound(err, "deployment "+name)
}

func newDeploymentLsCmd() *cobra.Command {
	var o output
	var limit int
	cmd := &cobra.Command{
		Use:     "ls",
		Short:   "List deployments",
		Example: "  praetor deployment ls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := workspace()
			if err != nil {
				return err
			}
			deps, err := c.Deployments(cmd.Context(), client.Filter{"limit": limit, "sort": "NAME_ASC"})
			if err != nil {
				return explain(err)
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), deps)
			}
			ids := make([]uuid.UUID, 0, len(deps))
			for _, d := range deps {
				ids = append(ids, d.FlowID)
			}
			names, err := flowNames(cmd.Context(), c, ids)
			if err != nil {
				return err
			}
			t := table{headers: []string{"NAME", "ID", "WORK POOL", "STATUS", "PAUSED"}, keep: map[int]bool{1: true}}
			for _, d := range deps {
				t.add(nil, names[d.FlowID]+"/"+d.Name, d.ID.String(), strOr(d.WorkPoolName, "-"), d.Status, strconv.FormatBool(d.Paused))
			}
			return t.print(cmd.OutOrStdout())
		},
	}
	o.flag(cmd)
	cmd.Flags().IntVar(&limit, "limit", 200, "the most deployments to list")
	return cmd
}

func newDeploymentInspectCmd() *cobra.Command {
	var o output
	cmd := &cobra.Command{
		Use:     "inspect FLOW/NAME",
		Short:   "Show a deployment",
		Example: "  praetor deployment inspect etl/nightly",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkDeploymentName(a[0]); err != nil {
				return err
			}
			c, err := workspace()
			if err != nil {
				return err
			}
			d, err := readDeployment(cmd.Context(), c, a[0])
			if err != nil {
				return err
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), d)
			}
			params, _ := json.Marshal(d.Parameters)
			return kv(cmd.OutOrStdout(),
				[2]string{"ID", d.ID.String()},
				[2]string{"Name", a[0]},
				[2]string{"Description", strOr(d.Description, "-")},
				[2]string{"Status", d.Status},
				[2]string{"Paused", strconv.FormatBool(d.Paused)},
				[2]string{"Work pool", strOr(d.WorkPoolName, "-")},
				[2]string{"Work queue", strOr(d.WorkQueueName, "-")},
				[2]string{"Entrypoint", strOr(d.Entrypoint, "-")},
				[2]string{"Schedules", strconv.Itoa(len(d.Schedules))},
				[2]string{"Parameters", string(params)},
				[2]string{"Tags", strings.Join(d.Tags, ", ")},
			)
		},
	}
	o.flag(cmd)
	return cmd
}

// parseParams reads --param k=v: v as JSON when it is JSON, else as a
// string, as Prefect's CLI does.
func parseParams(raw []string) (map[string]any, error) {
	params := map[string]any{}
	for _, p := range raw {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, usagef("--param %q is not KEY=VALUE", p)
		}
		var val any
		if err := json.Unmarshal([]byte(v), &val); err != nil {
			val = v
		}
		params[k] = val
	}
	return params, nil
}

func newDeploymentRunCmd() *cobra.Command {
	var raw []string
	var watch bool
	cmd := &cobra.Command{
		Use:   "run FLOW/NAME",
		Short: "Start a run of a deployment; --watch waits for it to end",
		Long: `Start a run of a deployment, with --param KEY=VALUE over its default parameters
(VALUE is read as JSON when it is JSON, else as a string). With --watch it prints the
run's state changes and exits when the run ends: 0 when it ended COMPLETED, 1 otherwise.`,
		Example: "  praetor deployment run etl/nightly --param day=2024-01-01 --param retries=3 --watch",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			params, err := parseParams(raw)
			if err != nil {
				return err
			}
			if err := checkDeploymentName(a[0]); err != nil {
				return err
			}
			c, err := workspace()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			d, err := readDeployment(ctx, c, a[0])
			if err != nil {
				return err
			}
			run, err := c.CreateFlowRunFromDeployment(ctx, d.ID, params)
			if err != nil {
				var se *client.StatusError
				if errors.As(err, &se) && se.Code == http.StatusUnprocessableEntity {
					return fmt.Errorf("the server refused the run: %s", se.Detail)
				}
				return explain(err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Created flow run %q (%s), %s.\n", run.Name, run.ID, stateOf(run.StateType, run.StateName))
			if !watch {
				return nil
			}
			last := stateOf(run.StateType, run.StateName)
			for !terminal(run) {
				select {
				case <-ctx.Done():
					return errInterrupted
				case <-time.After(pollInterval):
				}
				if run, err = c.FlowRun(ctx, run.ID); err != nil {
					return explain(err)
				}
				if s := stateOf(run.StateType, run.StateName); s != last {
					fmt.Fprintf(out, "%s %s\n", time.Now().Format("15:04:05"), s)
					last = s
				}
			}
			return finalExit(cmd.ErrOrStderr(), run)
		},
	}
	cmd.Flags().StringArrayVarP(&raw, "param", "p", nil, "a parameter, KEY=VALUE (repeatable)")
	cmd.Flags().BoolVar(&watch, "watch", false, "wait for the run to end; the exit code is 0 only if it COMPLETED")
	return cmd
}

func newWorkPoolCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "work-pool", Short: "Work pools of the workspace"}
	var o output
	ls := &cobra.Command{
		Use:     "ls",
		Short:   "List work pools",
		Example: "  praetor work-pool ls",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := workspace()
			if err != nil {
				return err
			}
			pools, err := c.WorkPools(cmd.Context(), client.Filter{})
			if err != nil {
				return explain(err)
			}
			if o.json() {
				return printJSON(cmd.OutOrStdout(), pools)
			}
			t := table{headers: []string{"NAME", "TYPE", "STATUS", "CONCURRENCY", "ID"}, keep: map[int]bool{4: true}}
			for _, p := range pools {
				limit := "-"
				if p.ConcurrencyLimit != nil {
					limit = strconv.Itoa(*p.ConcurrencyLimit)
				}
				t.add(nil, p.Name, p.Type, p.Status, limit, p.ID.String())
			}
			return t.print(cmd.OutOrStdout())
		},
	}
	o.flag(ls)
	var io2 output
	inspect := &cobra.Command{
		Use:     "inspect NAME",
		Short:   "Show a work pool",
		Example: "  praetor work-pool inspect default",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			c, err := workspace()
			if err != nil {
				return err
			}
			p, err := c.WorkPool(cmd.Context(), a[0])
			if err != nil {
				return notFound(err, "work pool "+a[0])
			}
			if io2.json() {
				return printJSON(cmd.OutOrStdout(), p)
			}
			limit := "-"
			if p.ConcurrencyLimit != nil {
				limit = strconv.Itoa(*p.ConcurrencyLimit)
			}
			return kv(cmd.OutOrStdout(),
				[2]string{"ID", p.ID.String()},
				[2]string{"Name", p.Name},
				[2]string{"Type", p.Type},
				[2]string{"Description", strOr(p.Description, "-")},
				[2]string{"Status", p.Status},
				[2]string{"Paused", strconv.FormatBool(p.IsPaused)},
				[2]string{"Concurrency limit", limit},
			)
		},
	}
	io2.flag(inspect)
	cmd.AddCommand(ls, inspect)
	return cmd
}
