package orchestration

import (
	"math"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/model"
)

func TestDecaySlots(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                   string
		l                      model.ConcurrencyLimit
		after                  time.Duration
		wantActive, wantDenied int
	}{
		{"no decay keeps active slots; denied drain one per 2 s of occupancy",
			model.ConcurrencyLimit{ActiveSlots: 3, DeniedSlots: 5, AvgSlotOccupancySeconds: 2}, 5 * time.Second, 3, 3},
		{"a rate limit drains both by its decay, whole slots only",
			model.ConcurrencyLimit{ActiveSlots: 10, DeniedSlots: 10, SlotDecayPerSecond: 1.5}, 3 * time.Second, 6, 6},
		{"never below zero", model.ConcurrencyLimit{ActiveSlots: 2, DeniedSlots: 1, SlotDecayPerSecond: 10}, time.Minute, 0, 0},
		{"occupancy clamped to 30 s: one denied slot a 30 s",
			model.ConcurrencyLimit{DeniedSlots: 4, AvgSlotOccupancySeconds: 600}, time.Minute, 0, 2},
		{"a tag's occupancy clamped to 10 s: one denied slot a 10 s",
			model.ConcurrencyLimit{Name: "tag:etl", DeniedSlots: 4, AvgSlotOccupancySeconds: 600}, 25 * time.Second, 0, 2},
		{"occupancy clamped to 0.1 s", model.ConcurrencyLimit{DeniedSlots: 40, AvgSlotOccupancySeconds: 0}, 3 * time.Second, 0, 10},
		{"a clock behind the row decays nothing", model.ConcurrencyLimit{ActiveSlots: 2, SlotDecayPerSecond: 1}, -time.Minute, 2, 0},
	} {
		l := c.l
		l.Updated = model.At(t0)
		DecaySlots(&l, t0.Add(c.after))
		if l.ActiveSlots != c.wantActive || l.DeniedSlots != c.wantDenied || !l.Updated.Equal(t0.Add(c.after)) {
			t.Errorf("%s: active %d, denied %d, updated %s; want %d, %d", c.name, l.ActiveSlots, l.DeniedSlots, l.Updated, c.wantActive, c.wantDenied)
		}
	}
}

func TestRecordOccupancy(t *testing.T) {
	l := model.ConcurrencyLimit{Limit: 2, AvgSlotOccupancySeconds: 2}
	RecordOccupancy(&l, 12, 2) // 6 s a slot over 4 samples: 2 + 6/4 - 2/4
	if l.AvgSlotOccupancySeconds != 3 {
		t.Errorf("average %v, want 3", l.AvgSlotOccupancySeconds)
	}
	RecordOccupancy(&l, 0, 1) // unknown: unchanged
	if l.AvgSlotOccupancySeconds != 3 {
		t.Errorf("an unknown occupancy changed the average to %v", l.AvgSlotOccupancySeconds)
	}
}

func TestSlotWait(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits []*model.ConcurrencyLimit
		slots  int
		want   float64
	}{
		{"occupancy times oversubscription", []*model.ConcurrencyLimit{{Limit: 2, DeniedSlots: 3, AvgSlotOccupancySeconds: 4}}, 1, 8},
		{"capped at 30 s", []*model.ConcurrencyLimit{{Limit: 1, DeniedSlots: 100, AvgSlotOccupancySeconds: 4}}, 1, 30},
		{"a tag's capped at 10 s", []*model.ConcurrencyLimit{{Name: "tag:etl", Limit: 1, DeniedSlots: 100, AvgSlotOccupancySeconds: 40}}, 1, 10},
		{"the most contended limit decides", []*model.ConcurrencyLimit{
			{Limit: 10, DeniedSlots: 1, AvgSlotOccupancySeconds: 20}, {Limit: 1, DeniedSlots: 1, AvgSlotOccupancySeconds: 1}}, 1, 2},
		{"a rate limit waits a decay interval a slot", []*model.ConcurrencyLimit{{Limit: 5, DeniedSlots: 3, SlotDecayPerSecond: 0.5}}, 1, 8},
	} {
		if got := SlotWait(c.limits, c.slots); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// Jitter stays within Prefect's clamp (1.3× above, about 0.75× below)
// and averages out to the interval asked for.
func TestJitter(t *testing.T) {
	if Jitter(0, 0.5) != 0 {
		t.Error("no wait jittered into one")
	}
	const n = 10000
	sum := 0.0
	for i := range n {
		w := Jitter(10, (float64(i)+0.5)/n)
		if w < 7.5 || w > 13+1e-9 {
			t.Fatalf("wait %v out of [7.5, 13]", w)
		}
		sum += w
	}
	if mean := sum / n; math.Abs(mean-10) > 0.5 {
		t.Errorf("mean wait %v, want about 10", mean)
	}
}

func TestTagLimitsFull(t *testing.T) {
	d := TagLimitsFull([]*model.ConcurrencyLimit{
		{Name: "tag:a", Limit: 4, ActiveSlots: 1, AvgSlotOccupancySeconds: 20},
		{Name: "tag:b", Limit: 1, ActiveSlots: 1, AvgSlotOccupancySeconds: 2},
	}, 0.999999)
	if d.Status != Wait || d.Reason != "Concurrency limit reached for tags: a, b" || d.Delay < 2 || d.Delay > 3 {
		t.Errorf("%+v: want a wait of about b's 2 s occupancy", d)
	}
}

func TestDeploymentSlotRules(t *testing.T) {
	st := func(typ model.StateType, name string) *model.State { return &model.State{Type: typ, Name: name} }
	for _, c := range []struct {
		cur                          *model.State
		d                            Decision
		secures, validates, releases bool
	}{
		{st(model.Scheduled, "Scheduled"), accept(st(model.Pending, "Pending")), true, false, false},
		{nil, accept(st(model.Pending, "Pending")), true, false, false},
		{st(model.Pending, "Pending"), accept(st(model.Pending, "Submitting")), false, false, false},
		{st(model.Pending, "Pending"), accept(st(model.Running, "Running")), false, true, false},
		{st(model.Running, "Running"), accept(st(model.Completed, "Completed")), false, false, true},
		{st(model.Pending, "Pending"), accept(st(model.Scheduled, "Scheduled")), false, false, true},
		{st(model.Cancelling, "Cancelling"), accept(st(model.Cancelled, "Cancelled")), false, false, true},
		{st(model.Running, "Running"), rejectWith(st(model.Scheduled, "AwaitingRetry"), "retry"), false, false, false},
		{st(model.Running, "Running"), accept(st(model.Scheduled, "AwaitingRetry")), false, false, true},
		{st(model.Completed, "Completed"), accept(st(model.Failed, "Failed")), false, false, false},
	} {
		if got := SecuresDeploymentSlot(c.cur, c.d.Write); got != c.secures {
			t.Errorf("%v → %v: secures %v", c.cur, c.d.Write, got)
		}
		if got := ValidatesDeploymentSlot(c.cur, c.d.Write); got != c.validates {
			t.Errorf("%v → %v: validates %v", c.cur, c.d.Write, got)
		}
		if got := ReleasesDeploymentSlot(c.cur, c.d); got != c.releases {
			t.Errorf("%v → %v (%s): releases %v", c.cur, c.d.Write, c.d.Status, got)
		}
	}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if d := DeploymentCollision(nil, now, 30*time.Second); d.Status != Reject || d.Write.Type != model.Scheduled ||
		d.Write.Name != "AwaitingConcurrencySlot" || !d.Write.StateDetails.ScheduledTime.Equal(now.Add(30*time.Second)) {
		t.Errorf("ENQUEUE: %+v", d.Write)
	}
	if d := DeploymentCollision(map[string]any{"collision_strategy": "CANCEL_NEW"}, now, time.Second); d.Write.Type != model.Cancelled {
		t.Errorf("CANCEL_NEW: %+v", d.Write)
	}
	if got := DeploymentLease(map[string]any{"grace_period_seconds": 90.0}); got != 90*time.Second {
		t.Errorf("grace period lease %s", got)
	}
}
