// Package services runs Praetor's background services (the scheduler, the
// late-run marker, the foreman, retention, …): each is a loop that makes one
// pass every interval, with a logger and a clock, started and stopped with
// the server.
package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
)

// Service is a background service's lifecycle.
type Service interface {
	// Name identifies the service in logs and metrics.
	Name() string
	// Start begins the service's work in the background; it returns once
	// the service runs. Starting a started service does nothing.
	Start(ctx context.Context) error
	// Stop ends the work and waits for it to finish. Stopping a service
	// that is stopped, or was never started, does nothing.
	Stop()
}

// Leader decides whether this process should do a service's work now. On
// SQLite the one process always leads; with several replicas on PostgreSQL
// an implementation holds an advisory lock, so that each service runs on one
// replica at a time.
type Leader interface {
	Leading(ctx context.Context) (bool, error)
}

// Always is the Leader of a single process.
var Always Leader = always{}

type always struct{}

func (always) Leading(context.Context) (bool, error) { return true, nil }

// Pass is what a Loop reports after each pass, for metrics.
type Pass struct {
	Service  string
	Started  time.Time
	Duration time.Duration
	Err      error
}

// Loop is a Service that calls Run every Interval, as long as Leader lets
// it. A pass that fails is logged and the next one runs as usual.
type Loop struct {
	// Service names the loop.
	Service  string
	Interval time.Duration
	// Run makes one pass; now is the clock's time when the pass began.
	Run    func(ctx context.Context, now time.Time) error
	Leader Leader      // nil: Always
	Clock  clock.Clock // nil: clock.Real
	Logger *slog.Logger
	// Observe, when set, is told of every pass.
	Observe func(Pass)

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
}

// Nudge makes the loop pass now rather than at its next tick, for work that
// became due (a deployment changed). Nudges that arrive during a pass
// coalesce into one more pass; a nudge of a stopped loop does nothing.
func (l *Loop) Nudge() {
	l.mu.Lock()
	wake := l.wake
	l.mu.Unlock()
	if wake == nil {
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// Name returns the loop's name.
func (l *Loop) Name() string { return l.Service }

// Start begins the loop; the first pass runs at once.
func (l *Loop) Start(ctx context.Context) error {
	if l.Run == nil || l.Interval <= 0 {
		return fmt.Errorf("service %s: a loop needs Run and a positive Interval", l.Service)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		return nil
	}
	// The loop outlives the caller's request or start-up context: only Stop
	// ends it.
	ctx, l.cancel = context.WithCancel(context.WithoutCancel(ctx))
	l.done = make(chan struct{})
	l.wake = make(chan struct{}, 1)
	go l.loop(ctx, l.done, l.wake)
	return nil
}

// Stop ends the loop and waits for a pass in progress to finish.
func (l *Loop) Stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel, l.done, l.wake = nil, nil, nil
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (l *Loop) loop(ctx context.Context, done, wake chan struct{}) {
	defer close(done)
	ticker := time.NewTicker(l.Interval)
	defer ticker.Stop()
	for {
		l.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-wake:
		}
	}
}

// pass makes one pass if this process leads.
func (l *Loop) pass(ctx context.Context) {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	leader := l.Leader
	if leader == nil {
		leader = Always
	}
	if ok, err := leader.Leading(ctx); err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			log.Warn("service leadership check failed", "service", l.Service, "err", err)
		}
		return
	}
	clk := l.Clock
	if clk == nil {
		clk = clock.Real
	}
	p := Pass{Service: l.Service, Started: clk.Now()}
	p.Err = l.Run(ctx, p.Started)
	p.Duration = clk.Now().Sub(p.Started)
	if p.Err != nil && !errors.Is(p.Err, context.Canceled) {
		log.Error("service pass failed", "service", l.Service, "err", p.Err)
	}
	if l.Observe != nil {
		l.Observe(p)
	}
}

// Group starts services in order and stops them in the reverse order.
type Group struct {
	services []Service
	started  []Service
}

// NewGroup returns a group of the services.
func NewGroup(services ...Service) *Group { return &Group{services: services} }

// Start starts every service; if one fails, those already started are
// stopped and its error returned.
func (g *Group) Start(ctx context.Context) error {
	for _, s := range g.services {
		if err := s.Start(ctx); err != nil {
			g.Stop()
			return fmt.Errorf("start %s: %w", s.Name(), err)
		}
		g.started = append(g.started, s)
	}
	return nil
}

// Stop stops the started services, last started first.
func (g *Group) Stop() {
	for i := len(g.started) - 1; i >= 0; i-- {
		g.started[i].Stop()
	}
	g.started = nil
}
