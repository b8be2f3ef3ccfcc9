package services

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schedule"
	"github.com/praetorhq/praetor/internal/store"
)

// Prefect's scheduler settings: runs are made until at least MinRuns and
// MinTime ahead, never more than MaxRuns per schedule or MaxTime ahead.
const (
	SchedulerMinRuns = 3
	SchedulerMaxRuns = 100
	SchedulerMinTime = time.Hour
	SchedulerMaxTime = 100 * 24 * time.Hour
)

// Scheduler makes the runs of deployments' active schedules ahead of
// time. Every run carries Prefect's idempotency key, so a pass that runs
// twice, after a restart or on a second server on the same database,
// makes no run twice.
type Scheduler struct {
	Store  store.Store
	Logger *slog.Logger
	// Count, when set, is told what each pass did (action "runs_created").
	Count func(action string, n int)
}

// Pass makes the runs that are missing at now.
func (s *Scheduler) Pass(ctx context.Context, now time.Time) error {
	due, err := s.Store.SchedulableDeployments(ctx, now, now.Add(SchedulerMinTime), SchedulerMinRuns)
	if err != nil {
		return err
	}
	created := 0
	for _, wd := range due {
		n, err := ScheduleRuns(ctx, s.Store, wd.Workspace, wd.Deployment, DefaultWindow(now), s.Logger)
		if err != nil {
			return err
		}
		created += n
	}
	s.Logger.Debug("scheduler pass", "deployments", len(due), "runs_created", created)
	if s.Count != nil {
		s.Count("runs_created", created)
	}
	return nil
}

// Window bounds the runs ScheduleRuns makes, in Prefect's order: from
// Start, at most MaxRuns a schedule, none after End, at least MinRuns, and
// until at least Start+MinTime.
type Window struct {
	Start, End       time.Time
	MinTime          time.Duration
	MinRuns, MaxRuns int
}

// DefaultWindow is the scheduler's window at now.
func DefaultWindow(now time.Time) Window {
	return Window{Start: now, End: now.Add(SchedulerMaxTime), MinTime: SchedulerMinTime, MinRuns: SchedulerMinRuns, MaxRuns: SchedulerMaxRuns}
}

// ScheduleRuns makes the runs of d's active schedules in w that d does not
// have yet, and returns how many it made.
func ScheduleRuns(ctx context.Context, s store.Scheduling, ws uuid.UUID, d *model.Deployment, w Window, log *slog.Logger) (int, error) {
	runs := scheduledRuns(d, w, log)
	if len(runs) == 0 {
		return 0, nil
	}
	n, err := s.CreateScheduledRuns(ctx, ws, runs)
	if err != nil {
		return 0, fmt.Errorf("schedule deployment %s: %w", d.ID, err)
	}
	return n, nil
}

// scheduledRuns are the runs d's active schedules make in w, as Prefect's
// scheduler makes them. A schedule that no longer parses (stored by an
// older version) is skipped and logged.
func scheduledRuns(d *model.Deployment, w Window, log *slog.Logger) []store.ScheduledRun {
	var runs []store.ScheduledRun
	for _, ds := range d.Schedules {
		if !ds.Active {
			continue
		}
		sch, err := schedule.Parse(ds.Schedule)
		if err != nil {
			log.Warn("scheduler: a stored schedule does not parse", "deployment", d.ID, "schedule", ds.ID, "err", err)
			continue
		}
		maxRuns := w.MaxRuns
		if ds.MaxScheduledRuns != nil {
			maxRuns = min(maxRuns, *ds.MaxScheduledRuns)
		}
		var dates []time.Time
		for _, t := range sch.Dates(w.Start, w.End, maxRuns) {
			dates = append(dates, t)
			if len(dates) >= w.MinRuns && !t.Before(w.Start.Add(w.MinTime)) {
				break
			}
		}
		parameters := maps.Clone(d.Parameters)
		if parameters == nil {
			parameters = map[string]any{}
		}
		maps.Copy(parameters, ds.Parameters)
		display := kindName(ds.Schedule)
		if ds.Slug != nil {
			display = *ds.Slug
		}
		kind := "SCHEDULE"
		for _, t := range dates {
			at := model.At(t)
			key := fmt.Sprintf("scheduled %s %s %s", d.ID, ds.ID, pythonTime(t))
			labels := maps.Clone(d.Labels)
			if labels == nil {
				labels = map[string]any{}
			}
			labels["prefect.flow.id"] = d.FlowID.String()
			labels["prefect.deployment.id"] = d.ID.String()
			r := &model.FlowRun{
				ID: uuid.Must(uuid.NewV7()), Name: model.RunName(), FlowID: d.FlowID, DeploymentID: &d.ID,
				DeploymentVersion: d.Version, WorkQueueName: d.WorkQueueName, WorkQueueID: d.WorkQueueID, WorkPoolName: d.WorkPoolName,
				Parameters: parameters, InfrastructureDocumentID: d.InfrastructureDocumentID, IdempotencyKey: &key,
				Tags: append([]string{"auto-scheduled"}, d.Tags...), Labels: labels, AutoScheduled: true,
				CreatedBy: &model.CreatedBy{ID: &ds.ID, Type: &kind, DisplayValue: &display},
			}
			msg := "Flow run scheduled"
			runs = append(runs, store.ScheduledRun{Run: r, Initial: model.StateCreate{Type: model.Scheduled, Message: &msg,
				StateDetails: &model.StateDetails{ScheduledTime: &at}}})
		}
	}
	return runs
}

// kindName is the class name Prefect shows for a schedule without a slug.
func kindName(raw []byte) string {
	s := string(raw)
	switch {
	case strings.Contains(s, `"cron"`):
		return "CronSchedule"
	case strings.Contains(s, `"rrule"`):
		return "RRuleSchedule"
	}
	return "IntervalSchedule"
}

// pythonTime formats t as Python's str(datetime) does, which Prefect's
// idempotency keys use: "2026-01-02 03:04:05+01:00", with microseconds
// only when there are some.
func pythonTime(t time.Time) string {
	layout := "2006-01-02 15:04:05"
	if t.Nanosecond()/1000 != 0 {
		layout += ".000000"
	}
	return t.Format(layout + "-07:00")
}
