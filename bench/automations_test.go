package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/services"
)

// BenchmarkAutomations compares, on each engine, what the ingest path
// accepts (events stored in batches of 100, as the events websocket stores
// them, into a workspace with enabled automations, so every event is
// queued for them) with what the evaluator takes off the queue: flow-run
// state events of 1,000 runs against 1 or 10 automations (reactive and
// proactive triggers, per run with for_each and not; a quarter of the
// events fire each "failed" automation). The evaluator keeps up when its events/s is at
// least the ingest's:
//
//	go test ./bench -run XXX -bench Automations -benchtime 20000x
//
// The numbers measured are in docs/benchmarks.md.
func BenchmarkAutomations(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		for _, count := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/%d-automations", engine, count), func(b *testing.B) { benchAutomations(b, engine, count) })
		}
	}
}

func benchAutomations(b *testing.B, engine string, count int) {
	ctx := b.Context()
	db := openEmpty(b, engine)
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for i := range count {
		doc := `{"name": "failed", "trigger": {"posture": "Reactive", "expect": ["prefect.flow-run.Failed"], "match": {"prefect.resource.id": "prefect.flow-run.*"}}, "actions": [{"type": "do-nothing"}]}`
		switch i % 3 {
		case 1:
			doc = `{"name": "burst", "trigger": {"posture": "Reactive", "expect": ["prefect.flow-run.*"], "for_each": ["prefect.resource.id"], "threshold": 50, "within": 60}, "actions": [{"type": "do-nothing"}]}`
		case 2:
			doc = `{"name": "hangs", "trigger": {"posture": "Proactive", "after": ["prefect.flow-run.Running"], "expect": ["prefect.flow-run.Completed"], "for_each": ["prefect.resource.id"], "within": 3600}, "actions": [{"type": "do-nothing"}]}`
		}
		var a model.Automation
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			b.Fatal(err)
		}
		a.Enabled = true
		if err := automations.Prepare(&a); err != nil {
			b.Fatal(err)
		}
		if err := db.CreateAutomation(ctx, ws.ID, &a, ""); err != nil {
			b.Fatal(err)
		}
	}
	runs := make([]uuid.UUID, 1000)
	for i := range runs {
		runs[i] = uuid.Must(uuid.NewV7())
	}
	states := []string{"Pending", "Running", "Completed", "Failed"}
	batch := func(n int) []*model.Event {
		out := make([]*model.Event, 100)
		for i := range out {
			k := n*100 + i
			now := model.Now()
			out[i] = &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: now, Received: now,
				Event:    "prefect.flow-run." + states[k%len(states)],
				Resource: model.Resource{"prefect.resource.id": model.FlowRunResource + runs[k%len(runs)].String()},
				Related:  []model.Resource{{"prefect.resource.id": "prefect.flow.x", "prefect.resource.role": "flow"}}, Payload: json.RawMessage(`{}`)}
		}
		return out
	}
	batches := (b.N + 99) / 100
	b.ResetTimer()
	start := time.Now()
	for n := range batches {
		if err := db.IngestEvents(ctx, ws.ID, batch(n), nil); err != nil {
			b.Fatal(err)
		}
	}
	ingest := time.Since(start)
	triggers := &services.Triggers{Store: db, Clock: clock.Real, Logger: slog.New(slog.DiscardHandler)}
	start = time.Now()
	if err := triggers.Reactive(ctx, time.Now()); err != nil {
		b.Fatal(err)
	}
	evaluate := time.Since(start)
	b.StopTimer()
	events := float64(batches * 100)
	b.ReportMetric(events/ingest.Seconds(), "ingest-events/s")
	b.ReportMetric(events/evaluate.Seconds(), "evaluated-events/s")
	if n, err := db.EvaluateQueuedEvents(ctx, 1, func(ctx2 context.Context, _ uuid.UUID, _ []*model.Automation, _ automations.Tx, _ []*model.Event) error {
		return nil
	}); err != nil || n != 0 {
		b.Fatalf("queue not empty after the pass: %d (%v)", n, err)
	}
}
