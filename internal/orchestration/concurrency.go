package orchestration

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/praetorhq/praetor/internal/model"
)

// Prefect's constants of slot accounting.
const (
	// MaxSlotWaitSeconds caps how long a client denied a slot of a limit
	// without decay is told to wait (Prefect's
	// maximum_concurrency_slot_wait_seconds).
	MaxSlotWaitSeconds = 30.0
	// TagSlotWaitSeconds is that cap for tag limits, and the fixed wait of
	// a task run denied a tag's slot (Prefect's
	// tag_concurrency_slot_wait_seconds).
	TagSlotWaitSeconds = 10.0
	// minOccupancySeconds keeps the average occupancy, a divisor, off zero.
	minOccupancySeconds = 0.1
	// occupancySamples weighs the average occupancy over limit × this many
	// releases.
	occupancySamples = 2
)

// DecaySlots brings l's active and denied slots to now, as Prefect counts
// them: a rate limit's active slots drain by SlotDecayPerSecond, and denied
// slots drain at the same rate, or for a limit without decay at one slot per
// average occupancy (clamped to [0.1, 30] s), whole slots only, from the
// last time the row changed. It sets l.Updated to now, so a write of l
// starts the next decay from there.
func DecaySlots(l *model.ConcurrencyLimit, now time.Time) {
	elapsed := now.Sub(l.Updated.Time).Seconds()
	if elapsed < 0 {
		elapsed = 0
	}
	l.ActiveSlots = max(0, l.ActiveSlots-int(math.Floor(l.SlotDecayPerSecond*elapsed)))
	rate := l.SlotDecayPerSecond
	if rate <= 0 {
		rate = 1 / max(minOccupancySeconds, min(l.AvgSlotOccupancySeconds, maxWait(l)))
	}
	l.DeniedSlots = max(0, l.DeniedSlots-int(math.Floor(rate*elapsed)))
	l.Updated = model.At(now)
}

// RecordOccupancy folds a release of slots held for seconds into l's
// average occupancy per slot, a moving average over the last limit × 2
// releases.
func RecordOccupancy(l *model.ConcurrencyLimit, seconds float64, slots int) {
	if seconds <= 0 || slots <= 0 || l.Limit <= 0 {
		return
	}
	perSlot := max(seconds/float64(slots), minOccupancySeconds)
	n := float64(l.Limit * occupancySamples)
	l.AvgSlotOccupancySeconds += perSlot/n - l.AvgSlotOccupancySeconds/n
}

// SlotWait is how long, on average, a client denied slots of limits (the
// active ones, with their denied slots before this denial) should wait
// before it asks again: by the most contended limit, one decay interval per
// blocking slot for a rate limit, else its average occupancy per slot
// scaled by how oversubscribed it is, capped at its maxWait.
func SlotWait(limits []*model.ConcurrencyLimit, slots int) float64 {
	var (
		blocking *model.ConcurrencyLimit
		most     = math.Inf(-1)
	)
	blockingSlots := func(l *model.ConcurrencyLimit) float64 {
		n := float64(slots + l.DeniedSlots)
		if l.SlotDecayPerSecond > 0 || l.Limit == 0 {
			return n
		}
		return n / float64(l.Limit)
	}
	for _, l := range limits {
		if b := blockingSlots(l); b > most {
			blocking, most = l, b
		}
	}
	if blocking == nil {
		return 0
	}
	if blocking.SlotDecayPerSecond > 0 {
		return most / blocking.SlotDecayPerSecond
	}
	ceiling := maxWait(blocking)
	return min(min(blocking.AvgSlotOccupancySeconds, ceiling)*most, ceiling)
}

// maxWait caps the wait for a slot of l without decay: tag limits have
// their own cap.
func maxWait(l *model.ConcurrencyLimit) float64 {
	if strings.HasPrefix(l.Name, model.ConcurrencyLimitTagPrefix) {
		return TagSlotWaitSeconds
	}
	return MaxSlotWaitSeconds
}

// Jitter draws a wait around average from Prefect's clamped Poisson
// distribution (at most 1.3 × average, a lower bound keeping the mean), so
// that clients denied together do not retry together. u is uniform in
// [0, 1).
func Jitter(average, u float64) float64 {
	if average <= 0 {
		return 0
	}
	const upperMultiple = 1.3
	lowerMultiple := math.Log2(math.Exp2(upperMultiple) / (math.Exp2(upperMultiple) - 1))
	cdf := func(x float64) float64 { return 1 - math.Exp(-x/average) }
	lo, hi := cdf(average*lowerMultiple), cdf(average*upperMultiple)
	return -math.Log(max(1-(lo+u*(hi-lo)), 1e-10)) * average
}

// Tag limits of task runs proposed RUNNING through the API (Prefect's
// SecureTaskConcurrencySlots; its client's task engine takes the same
// slots itself, with concurrency()).

// TagLimitZero aborts a RUNNING proposal of a task run with a tag whose
// limit is 0: the task could never run.
func TagLimitZero(tag string) Decision {
	return abort(fmt.Sprintf("The concurrency limit on tag %q is 0 and will deadlock if the task tries to run again.", tag))
}

// TagLimitsFull makes a RUNNING proposal of a task run wait when its tags'
// limits (the active ones, none of them 0) are full: by the most contended limit's average
// occupancy, at most TagSlotWaitSeconds, jittered by u (uniform in [0, 1)).
func TagLimitsFull(limits []*model.ConcurrencyLimit, u float64) Decision {
	var blocking *model.ConcurrencyLimit
	tags := make([]string, len(limits))
	for i, l := range limits {
		tags[i] = strings.TrimPrefix(l.Name, model.ConcurrencyLimitTagPrefix)
		// The fullest (limits are above 0 here: a 0 aborts first).
		if blocking == nil || l.ActiveSlots*blocking.Limit > blocking.ActiveSlots*l.Limit {
			blocking = l
		}
	}
	wait := TagSlotWaitSeconds
	if blocking != nil && blocking.AvgSlotOccupancySeconds > 0 {
		wait = min(blocking.AvgSlotOccupancySeconds, TagSlotWaitSeconds)
	}
	return Decision{Status: Wait, Delay: int(math.Round(Jitter(wait, u))),
		Reason: "Concurrency limit reached for tags: " + strings.Join(tags, ", ")}
}

// HoldsTagSlots reports whether a task run in s keeps the slots of its
// tags' limits: while RUNNING or CANCELLING.
func HoldsTagSlots(s *model.State) bool {
	return s.Type == model.Running || s.Type == model.Cancelling
}
