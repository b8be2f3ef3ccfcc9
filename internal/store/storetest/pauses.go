package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

func testExpiredPauses(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	t0 := time.Now()
	paused := func(ws uuid.UUID, name string, timeout *time.Time, typ model.StateType) uuid.UUID {
		t.Helper()
		r := h.flowRun(ws, h.flow(ws, name).ID, name, state(model.Running))
		details := &model.StateDetails{}
		if timeout != nil {
			details.PauseTimeout = model.At(*timeout).Ptr()
		}
		h.setFlowRunState(ws, r.ID, model.StateCreate{Type: model.Paused, StateDetails: details}, false)
		if typ != model.Paused {
			h.setFlowRunState(ws, r.ID, state(typ), true)
		}
		return r.ID
	}
	past, future := t0.Add(-time.Minute), t0.Add(time.Hour)
	expired := paused(ws, "expired", &past, model.Paused)
	theirs := paused(other, "theirs", &past, model.Paused)
	paused(ws, "later", &future, model.Paused)
	paused(ws, "no-timeout", nil, model.Paused)
	paused(ws, "resumed", &past, model.Running)
	mine := func(limit int) []uuid.UUID {
		t.Helper()
		got, err := h.s.ExpiredPauses(h.ctx, t0, limit)
		h.must(err, "expired pauses")
		var ids []uuid.UUID
		for _, wr := range got {
			if wr.Workspace == ws || wr.Workspace == other {
				ids = append(ids, wr.Run)
			}
			if wr.Run == expired && wr.Workspace != ws || wr.Run == theirs && wr.Workspace != other {
				t.Errorf("run %s named with workspace %s", wr.Run, wr.Workspace)
			}
		}
		return ids
	}
	if got := mine(1000); !slices.Contains(got, expired) || !slices.Contains(got, theirs) || len(got) != 2 {
		t.Errorf("expired pauses %v, want %s and %s (another workspace's) only", got, expired, theirs)
	}
	if got, err := h.s.ExpiredPauses(h.ctx, t0, 1); err != nil || len(got) != 1 {
		t.Errorf("limit 1: %v (%v)", got, err)
	}
	// Every pause has expired two hours on.
	got, err := h.s.ExpiredPauses(h.ctx, t0.Add(2*time.Hour), 1000)
	h.must(err, "expired pauses later")
	n := 0
	for _, wr := range got {
		if wr.Workspace == ws {
			n++
		}
	}
	if n != 2 {
		t.Errorf("two hours on, %d of this workspace's pauses expired, want 2 (the one without a timeout never does): %v", n, got)
	}
}
