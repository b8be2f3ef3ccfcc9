package bench

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
)

// BenchmarkSQLiteSynchronous measures what durable commits cost: writers
// (one, or 64 at once) drive forced state transitions of their own flow
// runs, or 10-line log batches, through the store on a SQLite file with
// synchronous=FULL (the default) and NORMAL. With many writers, group
// commit shares one fsync between the writes of a batch:
//
//	go test ./bench -run XXX -bench SQLiteSynchronous -benchtime 3s -count 3
//
// The numbers measured are in docs/configuration.md.
func BenchmarkSQLiteSynchronous(b *testing.B) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		for _, work := range []string{"transitions", "logs"} {
			for _, writers := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/%s/writers=%d", mode, work, writers), func(b *testing.B) {
					benchWrites(b, mode, work, writers)
				})
			}
		}
	}
}

func benchWrites(b *testing.B, mode, work string, writers int) {
	ctx := b.Context()
	db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "praetor.db"), slog.New(slog.DiscardHandler), sqlstore.SQLiteSynchronous(mode))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		b.Fatal(err)
	}
	flow := &model.Flow{Name: "bench"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		b.Fatal(err)
	}
	runs := make([]uuid.UUID, writers)
	for w := range runs {
		run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: fmt.Sprintf("run-%d", w)}
		if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Pending}); err != nil {
			b.Fatal(err)
		}
		runs[w] = run.ID
	}
	types := []model.StateType{model.Running, model.Completed}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				var err error
				if work == "transitions" {
					_, err = db.SetFlowRunState(ctx, ws.ID, run, model.StateCreate{Type: types[i%2]}, true)
				} else {
					logs := make([]*model.Log, 10)
					for j := range logs {
						logs[j] = &model.Log{Name: "bench", Level: 20, Message: "line", Timestamp: model.Now(), FlowRunID: &run}
					}
					err = db.CreateLogs(ctx, ws.ID, logs)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
