package services

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
)

var quiet = slog.New(slog.DiscardHandler)

// A loop passes at once and then every interval, with the clock's time,
// keeps going after a failed pass, and Stop waits for the pass in progress.
func TestLoopPassesUntilStopped(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	passes := make(chan time.Time, 10)
	var running atomic.Bool
	var n atomic.Int32
	var observed []Pass
	var mu sync.Mutex
	l := &Loop{Service: "test", Interval: time.Millisecond, Clock: clk, Logger: quiet,
		Run: func(ctx context.Context, now time.Time) error {
			running.Store(true)
			defer running.Store(false)
			select {
			case passes <- now:
			default:
			}
			if n.Add(1) == 1 {
				return errors.New("first pass fails")
			}
			return nil
		},
		Observe: func(p Pass) { mu.Lock(); observed = append(observed, p); mu.Unlock() },
	}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(t.Context()); err != nil { // a second start is a no-op
		t.Fatal(err)
	}
	for range 3 {
		if got := <-passes; !got.Equal(clk.Now()) {
			t.Fatalf("pass at %v, want the clock's %v", got, clk.Now())
		}
	}
	l.Stop()
	if running.Load() {
		t.Fatal("Stop returned while a pass was running")
	}
	l.Stop() // a second stop is a no-op
	after := n.Load()
	time.Sleep(5 * time.Millisecond)
	if n.Load() != after {
		t.Fatal("the loop passed again after Stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) < 3 || observed[0].Err == nil || observed[0].Service != "test" {
		t.Fatalf("observed passes %+v: want at least 3, the first failed", observed)
	}
}

type leader struct{ ok atomic.Bool }

func (l *leader) Leading(context.Context) (bool, error) { return l.ok.Load(), nil }

// A loop whose process does not lead makes no pass until it does.
func TestLoopWaitsForLeadership(t *testing.T) {
	var ld leader
	var passes atomic.Int32
	checked := make(chan struct{}, 100)
	l := &Loop{Service: "led", Interval: time.Millisecond, Logger: quiet, Leader: &ld,
		Run:     func(context.Context, time.Time) error { passes.Add(1); return nil },
		Observe: func(Pass) { checked <- struct{}{} }}
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	time.Sleep(10 * time.Millisecond)
	if n := passes.Load(); n != 0 {
		t.Fatalf("%d passes without leadership", n)
	}
	ld.ok.Store(true)
	<-checked
	if passes.Load() == 0 {
		t.Fatal("no pass after gaining leadership")
	}
}

// Stop before Start, and a loop without work, are handled.
func TestLoopMisuse(t *testing.T) {
	(&Loop{Service: "idle"}).Stop()
	if err := (&Loop{Service: "bad", Interval: time.Second}).Start(t.Context()); err == nil {
		t.Fatal("a loop without Run started")
	}
}

type recorder struct {
	name    string
	log     *[]string
	failing bool
}

func (r recorder) Name() string { return r.name }
func (r recorder) Start(context.Context) error {
	if r.failing {
		return errors.New("no")
	}
	*r.log = append(*r.log, "start "+r.name)
	return nil
}
func (r recorder) Stop() { *r.log = append(*r.log, "stop "+r.name) }

// A group stops its services in reverse order, and a failed start stops
// those already started.
func TestGroupOrder(t *testing.T) {
	var log []string
	g := NewGroup(recorder{"a", &log, false}, recorder{"b", &log, false})
	if err := g.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	g.Stop()
	g.Stop()
	if want := []string{"start a", "start b", "stop b", "stop a"}; !slices.Equal(log, want) {
		t.Fatalf("lifecycle %v, want %v", log, want)
	}

	log = nil
	g = NewGroup(recorder{"a", &log, false}, recorder{"b", &log, true})
	if err := g.Start(t.Context()); err == nil {
		t.Fatal("a group with a failing service started")
	}
	if want := []string{"start a", "stop a"}; !slices.Equal(log, want) {
		t.Fatalf("lifecycle %v, want %v", log, want)
	}
}

// A nudge makes a loop pass at once, long before its interval; nudges
// while stopped do nothing.
func TestLoopNudge(t *testing.T) {
	passes := make(chan struct{}, 10)
	l := &Loop{Service: "nudged", Interval: time.Hour, Logger: quiet,
		Run: func(context.Context, time.Time) error { passes <- struct{}{}; return nil }}
	l.Nudge() // not started: nothing to wake
	if err := l.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	<-passes // the first pass, at start
	for range 3 {
		l.Nudge()
		select {
		case <-passes:
		case <-time.After(10 * time.Second):
			t.Fatal("a nudge did not make the loop pass")
		}
	}
}
