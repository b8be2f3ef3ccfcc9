package events

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// Bus fans stored events out to live subscribers of the same workspace.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// MaxBacklog is how many events may wait for one subscriber. It holds
// many ingest batches (an events/in socket stores up to 1,000 at once), so
// a subscriber that keeps up on average loses nothing to a burst.
const MaxBacklog = 10_000

// Subscription receives, a batch at a time, the events of one workspace
// that match its filter; the receiver calls Done with each batch's length
// once it has sent it on. A subscriber too slow to keep up loses events
// (a batch that would take its backlog beyond MaxBacklog) rather than
// stall ingestion.
type Subscription struct {
	C         chan []*model.Event
	backlog   atomic.Int64
	workspace uuid.UUID
	filter    *store.EventFilter
}

// Done tells the bus that n events of the subscription were handled.
func (s *Subscription) Done(n int) { s.backlog.Add(-int64(n)) }

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Subscribe registers a subscriber; call Unsubscribe when done.
func (b *Bus) Subscribe(ws uuid.UUID, f *store.EventFilter) *Subscription {
	s := &Subscription{C: make(chan []*model.Event, 1024), workspace: ws, filter: f}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe removes s.
func (b *Bus) Unsubscribe(s *Subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// Publish delivers events of workspace ws to matching subscribers.
func (b *Bus) Publish(ws uuid.UUID, events []*model.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.workspace != ws {
			continue
		}
		var batch []*model.Event
		for _, e := range events {
			if Matches(s.filter, e) {
				batch = append(batch, e)
			}
		}
		n := int64(len(batch))
		if n == 0 {
			continue
		}
		if s.backlog.Add(n) > MaxBacklog {
			s.backlog.Add(-n)
			continue
		}
		select {
		case s.C <- batch:
		default:
			s.backlog.Add(-n)
		}
	}
}

// Matches evaluates an event filter in memory, as the store does in SQL.
func Matches(f *store.EventFilter, e *model.Event) bool {
	if f == nil {
		return true
	}
	if o := f.Occurred; o != nil {
		if o.Since != nil && e.Occurred.Before(o.Since.Time) || o.Until != nil && e.Occurred.After(o.Until.Time) {
			return false
		}
	}
	if ev := f.Event; ev != nil {
		if ev.Name != nil && !contains(ev.Name, e.Event) {
			return false
		}
		if len(ev.Prefix) > 0 && !hasAnyPrefix(e.Event, ev.Prefix) {
			return false
		}
	}
	if r := f.Resource; r != nil && !resourceMatches(r.ID, r.IDPrefix, e.Resource) {
		return false
	}
	if r := f.Any; r != nil {
		found := resourceMatches(r.ID, r.IDPrefix, e.Resource)
		for _, rel := range e.Related {
			found = found || resourceMatches(r.ID, r.IDPrefix, rel)
		}
		if !found {
			return false
		}
	}
	return true
}

func resourceMatches(ids, prefixes []string, r model.Resource) bool {
	if len(ids) == 0 && len(prefixes) == 0 {
		return true
	}
	return contains(ids, r.ID()) || hasAnyPrefix(r.ID(), prefixes)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
