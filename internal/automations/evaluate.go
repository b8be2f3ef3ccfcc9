package automations

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Lookback is how far before its first event a reactive trigger's first
// window opens, so that events arriving out of order around it still count
// (Prefect's preceding-event lookback).
const Lookback = 15 * time.Minute

// Bucket is the window an event trigger counts events in, for one
// bucketing key.
type Bucket struct {
	AutomationID uuid.UUID
	TriggerID    uuid.UUID
	Key          []string
	Start, End   time.Time
	Count        int
	LastEvent    *model.Event
}

// Firing is one firing of a trigger: of an event trigger, with the labels
// and event that made it; of a composite, with the child firings.
type Firing struct {
	ID        uuid.UUID         `json:"id"`
	TriggerID uuid.UUID         `json:"trigger_id"`
	Triggered time.Time         `json:"triggered"`
	Labels    map[string]string `json:"triggering_labels"`
	Event     *model.Event      `json:"triggering_event"`
	Children  []*Firing         `json:"triggering_firings"`
}

// BucketRef names a trigger's bucket for one key.
type BucketRef struct {
	Trigger uuid.UUID
	Key     []string
}

// Tx is the state an evaluation reads and writes, in one transaction of
// the automation's workspace.
type Tx interface {
	// Prefetch tells the transaction which buckets the evaluations to come
	// touch, so it can read them at once.
	Prefetch(ctx context.Context, refs []BucketRef) error
	// Bucket returns the trigger's bucket for key, nil if there is none;
	// like the buckets EnsureBucket and IncrementBucket return, without its
	// last event.
	Bucket(ctx context.Context, trigger uuid.UUID, key []string) (*Bucket, error)
	// Buckets returns the trigger's buckets, by start, with their last
	// events.
	Buckets(ctx context.Context, trigger uuid.UUID) ([]*Bucket, error)
	// EnsureBucket stores b unless the trigger has a bucket for its key,
	// whose last event it then sets to b's when b has one; it returns the
	// stored bucket.
	EnsureBucket(ctx context.Context, b *Bucket) (*Bucket, error)
	// StartBucket stores b in place of the trigger's bucket for its key.
	StartBucket(ctx context.Context, b *Bucket) error
	// IncrementBucket adds n to a bucket's count (setting its last event
	// when last is not nil) and returns it.
	IncrementBucket(ctx context.Context, b *Bucket, n int, last *model.Event) (*Bucket, error)
	RemoveBucket(ctx context.Context, b *Bucket) error
	// RemoveBucketsReaching removes the trigger's buckets whose count
	// reached n.
	RemoveBucketsReaching(ctx context.Context, trigger uuid.UUID, n int) error

	// ChildFirings returns the firings a composite trigger holds, one per
	// child at most.
	ChildFirings(ctx context.Context, parent uuid.UUID) ([]*Firing, error)
	// SaveChildFiring keeps f as the latest firing of its trigger under
	// parent, a composite trigger of the automation.
	SaveChildFiring(ctx context.Context, automation, parent uuid.UUID, f *Firing) error
	// ClearChildFirings removes the composite's child firings of ids and
	// returns how many it removed.
	ClearChildFirings(ctx context.Context, parent uuid.UUID, ids []uuid.UUID) (int, error)
	// ClearChildFiringsBefore removes the composite's child firings older
	// than t.
	ClearChildFiringsBefore(ctx context.Context, parent uuid.UUID, t time.Time) error

	// Emit stores an event of the workspace (published once committed).
	Emit(ctx context.Context, e *model.Event) error
	// QueueActions stores triggered actions for the executor.
	QueueActions(ctx context.Context, actions []*model.TriggeredAction) error
}

// Evaluator evaluates one automation's triggers in a transaction.
type Evaluator struct {
	Tx         Tx
	Automation *model.Automation
	// Now is the wall clock, for the time firings are triggered.
	Now func() time.Time
}

// Touches lists the buckets evaluating e would touch: one per event
// trigger of the automation that covers e.
func (ev *Evaluator) Touches(e *model.Event) []BucketRef {
	var refs []BucketRef
	for _, t := range ev.Automation.Trigger.All() {
		if t.Type == model.TriggerEvent && Covers(t, e) {
			refs = append(refs, BucketRef{Trigger: t.ID, Key: BucketingKey(t, e)})
		}
	}
	return refs
}

// Event evaluates every event trigger of the automation that covers e.
func (ev *Evaluator) Event(ctx context.Context, e *model.Event) error {
	for _, t := range ev.Automation.Trigger.All() {
		if t.Type != model.TriggerEvent || !Covers(t, e) {
			continue
		}
		if err := ev.reactive(ctx, t, e); err != nil {
			return fmt.Errorf("automation %s trigger %s: %w", ev.Automation.ID, t.ID, err)
		}
	}
	return nil
}

func (ev *Evaluator) reactive(ctx context.Context, t *model.Trigger, e *model.Event) error {
	key := BucketingKey(t, e)
	// Only a proactive firing reads a window's last event (a reactive one
	// fires on the event at hand), so only proactive windows keep it.
	keep := e
	if t.Posture != model.PostureProactive {
		keep = nil
	}
	occurred := e.Occurred.Time
	within := seconds(t.Within)
	var b *Bucket
	var err error
	if len(t.After) > 0 && StartsAfter(t, e.Event) {
		// An event both after and expected opens a window and counts in
		// the previous one: starting at -1 leaves the new window at 0.
		initial := 0
		if Expects(t, e.Event) {
			initial = -1
		}
		b, err = ev.Tx.EnsureBucket(ctx, ev.bucket(t, key, occurred, occurred.Add(within), initial, keep))
		if err != nil {
			return err
		}
	}
	if b == nil && len(t.After) == 0 && Expects(t, e.Event) {
		b, err = ev.Tx.EnsureBucket(ctx, ev.bucket(t, key, occurred.Add(-Lookback), occurred.Add(within), 0, keep))
		if err != nil {
			return err
		}
	}
	if !Expects(t, e.Event) {
		return nil
	}
	if b == nil {
		if b, err = ev.Tx.Bucket(ctx, t.ID, key); err != nil || b == nil {
			return err
		}
	}
	_, err = ev.evaluate(ctx, t, b, occurred, e)
	return err
}

// Proactive evaluates a proactive trigger as of asOf: the windows that
// ended without enough events fire. It returns when it should run again.
func (ev *Evaluator) Proactive(ctx context.Context, t *model.Trigger, asOf time.Time) (time.Time, error) {
	within := seconds(t.Within)
	next := asOf.Add(within)
	if len(t.ForEach) == 0 {
		if _, err := ev.Tx.EnsureBucket(ctx, ev.bucket(t, []string{}, asOf, asOf.Add(within), 0, nil)); err != nil {
			return next, err
		}
	}
	if err := ev.Tx.RemoveBucketsReaching(ctx, t.ID, t.Threshold); err != nil {
		return next, err
	}
	buckets, err := ev.Tx.Buckets(ctx, t.ID)
	if err != nil {
		return next, err
	}
	for _, b := range buckets {
		nb, err := ev.evaluate(ctx, t, b, asOf, nil)
		if err != nil {
			return next, err
		}
		if nb != nil && asOf.Before(nb.End) && nb.End.Before(next) {
			next = nb.End
		}
	}
	return next, nil
}

func (ev *Evaluator) bucket(t *model.Trigger, key []string, start, end time.Time, count int, last *model.Event) *Bucket {
	return &Bucket{AutomationID: ev.Automation.ID, TriggerID: t.ID, Key: key, Start: start, End: end, Count: count, LastEvent: last}
}

// evaluate is Prefect's bucket algorithm: one window open per trigger and
// key; an event counts in it (or, arriving after it, in the next); a
// reactive trigger fires as soon as its count reaches the threshold, a
// proactive one when its window ends short of it. It returns the bucket
// that stays open, if any.
func (ev *Evaluator) evaluate(ctx context.Context, t *model.Trigger, b *Bucket, now time.Time, e *model.Event) (*Bucket, error) {
	count := 0
	if e != nil {
		count = 1
	}
	if now.Before(b.Start) {
		// A late event, or one for a window that already fired.
		return b, nil
	}
	immediate := t.Posture == model.PostureReactive && t.Within == 0
	var err error
	if count > 0 && (immediate || !now.Before(b.Start) && now.Before(b.End)) {
		last := e
		if t.Posture != model.PostureProactive {
			last = nil
		}
		if b, err = ev.Tx.IncrementBucket(ctx, b, count, last); err != nil {
			return nil, err
		}
		count = 0
	}
	ready := t.Posture == model.PostureReactive || !now.Before(b.End)
	meets := t.Posture == model.PostureReactive && b.Count >= t.Threshold || t.Posture == model.PostureProactive && b.Count < t.Threshold
	switch {
	case ready && meets:
		last := e
		if last == nil {
			last = b.LastEvent
		}
		f := &Firing{ID: uuid.Must(uuid.NewV7()), TriggerID: t.ID, Triggered: ev.Now().UTC(), Labels: TriggeringLabels(t, b.Key), Event: last}
		if err := ev.fire(ctx, t, f); err != nil {
			return nil, err
		}
		if err := ev.Tx.RemoveBucket(ctx, b); err != nil {
			return nil, err
		}
	case now.Before(b.End):
		// The window has time left. A proactive trigger whose one event
		// both opens and satisfies it (a heartbeat) starts over from it.
		if e != nil && t.Posture == model.PostureProactive && StartsAfter(t, e.Event) && Expects(t, e.Event) {
			if err := ev.Tx.RemoveBucket(ctx, b); err != nil {
				return nil, err
			}
			nb := ev.bucket(t, b.Key, e.Occurred.Time, e.Occurred.Add(seconds(t.Within)), 0, e)
			return nb, ev.Tx.StartBucket(ctx, nb)
		}
		return b, nil
	}
	// The window is over, or fired: an "after" trigger waits for its next
	// opening event; others open the next window at once.
	if len(t.After) > 0 {
		return nil, ev.Tx.RemoveBucket(ctx, b)
	}
	if t.Within == 0 {
		return nil, nil
	}
	start := b.End
	if now.After(start) {
		start = now
	}
	nb := ev.bucket(t, b.Key, start, start.Add(seconds(t.Within)), 0, nil)
	if t.Posture == model.PostureReactive && count > 0 {
		// The event belongs to the next window and may fill it.
		if err := ev.Tx.StartBucket(ctx, nb); err != nil {
			return nil, err
		}
		return ev.evaluate(ctx, t, nb, now, e)
	}
	nb.Count = count
	return nb, ev.Tx.StartBucket(ctx, nb)
}

// fire acts on a firing of the automation's trigger, or lets the composite
// above the trigger decide.
func (ev *Evaluator) fire(ctx context.Context, t *model.Trigger, f *Firing) error {
	_, parent := ev.Automation.Trigger.Find(t.ID)
	if parent == nil {
		return ev.act(ctx, t, f)
	}
	return ev.composite(ctx, parent, f)
}

func (ev *Evaluator) composite(ctx context.Context, parent *model.Trigger, child *Firing) error {
	up := func(children []*Firing) *Firing {
		return &Firing{ID: uuid.Must(uuid.NewV7()), TriggerID: parent.ID, Triggered: ev.Now().UTC(), Labels: map[string]string{},
			Event: child.Event, Children: children}
	}
	if parent.RequiredFirings() == 1 {
		return ev.fire(ctx, parent, up([]*Firing{child}))
	}
	if parent.CompositeWithin != nil {
		if err := ev.Tx.ClearChildFiringsBefore(ctx, parent.ID, child.Triggered.Add(-seconds(*parent.CompositeWithin))); err != nil {
			return err
		}
	}
	if err := ev.Tx.SaveChildFiring(ctx, ev.Automation.ID, parent.ID, child); err != nil {
		return err
	}
	firings, err := ev.Tx.ChildFirings(ctx, parent.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(firings, func(f *Firing) bool { return f.ID == child.ID }) {
		return nil
	}
	if !ready(parent, firings) {
		return nil
	}
	ids := make([]uuid.UUID, len(firings))
	for i, f := range firings {
		ids[i] = f.ID
	}
	if n, err := ev.Tx.ClearChildFirings(ctx, parent.ID, ids); err != nil || n != len(ids) {
		return err
	}
	return ev.fire(ctx, parent, up(firings))
}

// ready reports whether a composite's child firings make it fire: enough
// of them for a compound trigger, all in the children's order for a
// sequence.
func ready(t *model.Trigger, firings []*Firing) bool {
	if t.Type == model.TriggerCompound {
		return len(firings) >= t.RequiredFirings()
	}
	sorted := slices.Clone(firings)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Triggered.Before(sorted[j].Triggered) })
	if len(sorted) != len(t.Triggers) {
		return false
	}
	for i, f := range sorted {
		if f.TriggerID != t.Triggers[i].ID {
			return false
		}
	}
	return true
}

// act records the automation's firing as Prefect does: a
// prefect.automation.triggered event, and one triggered action for each
// of its actions and actions on trigger.
func (ev *Evaluator) act(ctx context.Context, t *model.Trigger, f *Firing) error {
	a := ev.Automation
	resource := model.Resource{"prefect.resource.id": model.AutomationResource + a.ID.String(), "prefect.resource.name": a.Name}
	if t.Type == model.TriggerEvent {
		resource["prefect.posture"] = t.Posture
	}
	related := []model.Resource{}
	var triggering any
	if f.Event != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.event." + f.Event.ID.String(), "prefect.resource.role": "triggering-event"})
		triggering = f.Event
	}
	labels := f.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	payload, err := json.Marshal(map[string]any{"triggering_labels": labels, "triggering_event": triggering})
	if err != nil {
		return err
	}
	triggered := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: model.At(f.Triggered), Event: "prefect.automation.triggered",
		Resource: resource, Related: related, Payload: payload, Received: model.At(ev.Now())}
	if err := ev.Tx.Emit(ctx, triggered); err != nil {
		return err
	}
	var actions []*model.TriggeredAction
	add := func(act *model.Action, event *model.Event) {
		actions = append(actions, &model.TriggeredAction{ID: uuid.Must(uuid.NewV7()), AutomationID: a.ID, Index: len(actions), Action: act,
			Triggered: model.At(f.Triggered), TriggeringLabels: labels, TriggeringEvent: event, TriggeredEventID: &triggered.ID,
			State: model.ActionPending, NextAttempt: model.At(f.Triggered).Ptr()})
	}
	for _, act := range a.Actions {
		add(act, f.Event)
	}
	for _, act := range a.ActionsOnTrigger {
		add(act, triggered)
	}
	if len(actions) == 0 {
		return nil
	}
	return ev.Tx.QueueActions(ctx, actions)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
