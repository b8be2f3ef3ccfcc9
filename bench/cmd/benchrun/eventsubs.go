package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
)

// The events of the subscribers-and-automations workload. Event g has
// name evsubNames[g%4], resource evsub.res.<g%50> with the label
// evsub.shard = g%3, and one related resource evsub.group.<g%5>; each
// subscriber and automation below matches a subset of them, which
// expected() computes from g alone.
var evsubNames = []string{"evsub.alpha", "evsub.beta", "evsub.gamma", "evsub.delta"}

// evsubEvent is what the predicates see of event g.
type evsubEvent struct {
	name, resource, group, shard string
}

func evsubOf(g int) evsubEvent {
	return evsubEvent{name: evsubNames[g%4], resource: fmt.Sprintf("evsub.res.%d", g%50),
		group: fmt.Sprintf("evsub.group.%d", g%5), shard: fmt.Sprint(g % 3)}
}

func evsubFrame(id uuid.UUID, occurred time.Time, g int) []byte {
	e := evsubOf(g)
	return fmt.Appendf(nil, `{"id": "%s", "occurred": "%s", "event": "%s", "resource": {"prefect.resource.id": "%s", "evsub.shard": "%s"}, "related": [{"prefect.resource.id": "%s", "prefect.resource.role": "group"}], "payload": {"g": %d}}`,
		id, occurred.Format(time.RFC3339Nano), e.name, e.resource, e.shard, e.group, g)
}

// The probe is the event sent before the ingest until every subscriber
// has received one and the probe automation has fired: then the servers
// have registered the subscriptions and loaded the automations (Prefect's
// server loads them after the create commits, the probe automation last).
const evsubProbe = "evsub.probe"

// evsubSubscriber is one events/out subscriber: its filter (which also
// lets the probe through) and which events it must receive.
type evsubSubscriber struct {
	name    string
	filter  obj
	matches func(evsubEvent) bool
}

var evsubSubscribers = []evsubSubscriber{
	{"all", obj{"event": obj{"prefix": []string{"evsub."}}},
		func(evsubEvent) bool { return true }},
	{"by name", obj{"event": obj{"name": []string{"evsub.beta", evsubProbe}}},
		func(e evsubEvent) bool { return e.name == "evsub.beta" }},
	{"by resource id prefix", obj{"resource": obj{"id_prefix": []string{"evsub.res.1", evsubProbe}}},
		func(e evsubEvent) bool { return strings.HasPrefix(e.resource, "evsub.res.1") }},
	{"by related resource", obj{"any_resource": obj{"id": []string{"evsub.group.3", evsubProbe}}},
		func(e evsubEvent) bool { return e.group == "evsub.group.3" }},
}

// evsubAutomation is one reactive event trigger with a do-nothing action.
// Within is 0 (fire on every matching event) or an hour, longer than any
// run, so that each bucketing key's first window holds all its events and
// fires once if it reaches the threshold: the expected firings follow from
// the events alone, whatever the timing.
type evsubAutomation struct {
	name      string
	expect    []string
	match     obj // resource labels, * as a suffix glob
	related   obj // a related resource's labels
	forEach   []string
	threshold int // 0: more than the matching events (it must not fire)
	within    float64
	covers    func(evsubEvent) bool
	key       func(evsubEvent) string
}

func glob(pattern, s string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(s, p)
	}
	return pattern == s
}

func byResource(e evsubEvent) string { return e.resource }
func byShard(e evsubEvent) string    { return e.shard }

var evsubAutomations = []evsubAutomation{
	{name: "each delta of res.7", expect: []string{"evsub.delta"}, match: obj{"prefect.resource.id": "evsub.res.7"}, threshold: 1,
		covers: func(e evsubEvent) bool { return e.name == "evsub.delta" && e.resource == "evsub.res.7" }},
	{name: "each gamma of res.1* in group.2", expect: []string{"evsub.gamma"}, match: obj{"prefect.resource.id": "evsub.res.1*"},
		related: obj{"prefect.resource.id": "evsub.group.2"}, threshold: 1,
		covers: func(e evsubEvent) bool {
			return e.name == "evsub.gamma" && glob("evsub.res.1*", e.resource) && e.group == "evsub.group.2"
		}},
	{name: "each event of res.42", expect: []string{"evsub.*"}, match: obj{"prefect.resource.id": "evsub.res.42"}, threshold: 1,
		covers: func(e evsubEvent) bool { return e.resource == "evsub.res.42" }},
	{name: "each beta of res.3 in group.3", expect: []string{"evsub.beta"}, match: obj{"prefect.resource.id": "evsub.res.3"},
		related: obj{"prefect.resource.id": "evsub.group.3"}, threshold: 1,
		covers: func(e evsubEvent) bool {
			return e.name == "evsub.beta" && e.resource == "evsub.res.3" && e.group == "evsub.group.3"
		}},
	{name: "10 alphas per resource", expect: []string{"evsub.alpha"}, forEach: []string{"prefect.resource.id"}, threshold: 10, within: 3600,
		covers: func(e evsubEvent) bool { return e.name == "evsub.alpha" }, key: byResource},
	{name: "25 events per resource", expect: []string{"evsub.*"}, forEach: []string{"prefect.resource.id"}, threshold: 25, within: 3600,
		covers: func(evsubEvent) bool { return true }, key: byResource},
	{name: "100 betas", expect: []string{"evsub.beta"}, threshold: 100, within: 3600,
		covers: func(e evsubEvent) bool { return e.name == "evsub.beta" }},
	{name: "200 gammas per shard", expect: []string{"evsub.gamma"}, forEach: []string{"evsub.shard"}, threshold: 200, within: 3600,
		covers: func(e evsubEvent) bool { return e.name == "evsub.gamma" }, key: byShard},
	{name: "more deltas than sent", expect: []string{"evsub.delta"}, within: 3600,
		covers: func(e evsubEvent) bool { return e.name == "evsub.delta" }},
	{name: "5 of group.4 per resource", expect: []string{"evsub.*"}, related: obj{"prefect.resource.id": "evsub.group.4"},
		forEach: []string{"prefect.resource.id"}, threshold: 5, within: 3600,
		covers: func(e evsubEvent) bool { return e.group == "evsub.group.4" }, key: byResource},
}

// expectedFirings is how often a fires over events 0..n-1: on every
// covered event when it is immediate, else once per bucketing key whose
// covered events reach the threshold.
func (a evsubAutomation) expectedFirings(n int) int {
	perKey := map[string]int{}
	covered := 0
	for g := range n {
		e := evsubOf(g)
		if a.covers(e) {
			covered++
			key := ""
			if a.key != nil {
				key = a.key(e)
			}
			perKey[key]++
		}
	}
	if a.within == 0 {
		return covered
	}
	fired := 0
	for _, c := range perKey {
		if c >= a.thresholdFor(n) {
			fired++
		}
	}
	return fired
}

// thresholdFor is a's threshold for n events: the one that must not fire
// needs one more than it covers.
func (a evsubAutomation) thresholdFor(n int) int {
	if a.threshold > 0 {
		return a.threshold
	}
	covered := 0
	for g := range n {
		if a.covers(evsubOf(g)) {
			covered++
		}
	}
	return covered + 1
}

func (a evsubAutomation) body(n int) obj {
	trigger := obj{"type": "event", "posture": "Reactive", "expect": a.expect, "match": orEmpty(a.match),
		"match_related": orEmpty(a.related), "for_each": orNone(a.forEach), "threshold": a.thresholdFor(n), "within": a.within}
	return obj{"name": "evsub: " + a.name, "enabled": true, "trigger": trigger, "actions": []obj{{"type": "do-nothing"}}}
}

func orEmpty(o obj) obj {
	if o == nil {
		return obj{}
	}
	return o
}

func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// delivery is what one subscriber received of the ingest: per event, how
// many times and when first.
type delivery struct {
	count    []int
	lag      []time.Duration // receipt - occurred, of the first receipt
	probes   int
	unknown  int // events of the workload's prefix that were not sent
	readErr  error
	received int
}

// check compares a subscriber's delivery with what its filter matches:
// every matching event exactly once, nothing else.
func (d *delivery) check(matches func(evsubEvent) bool) (want, dropped, duplicates, unexpected int) {
	for g, c := range d.count {
		m := matches(evsubOf(g))
		switch {
		case m && c == 0:
			dropped++
		case !m && c > 0:
			unexpected += c
		case c > 1:
			duplicates += c - 1
		}
		if m {
			want++
		}
	}
	return want, dropped, duplicates, unexpected + d.unknown
}

// subscribe opens an events/out subscription with filter and records what
// arrives until ctx ends; ids maps each sent event's id to its g.
func subscribe(ctx context.Context, url string, filter obj, ids map[uuid.UUID]int, n int) (func() *delivery, error) {
	conn, err := dialEvents(ctx, url)
	if err != nil {
		return nil, err
	}
	// As Prefect's client: the whole window from now on, no backfill
	// (nothing of the workload exists before it).
	f := merged(filter, obj{"occurred": obj{"since": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339Nano),
		"until": time.Now().UTC().Add(365 * 24 * time.Hour).Format(time.RFC3339Nano)}})
	msg, _ := json.Marshal(obj{"type": "filter", "filter": f, "backfill": false})
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		conn.CloseNow()
		return nil, err
	}
	d := &delivery{count: make([]int, n), lag: make([]time.Duration, n)}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := conn.Read(ctx)
			at := time.Now()
			if err != nil {
				if ctx.Err() == nil {
					mu.Lock()
					d.readErr = err
					mu.Unlock()
				}
				return
			}
			var frame struct {
				Event struct {
					ID       uuid.UUID `json:"id"`
					Event    string    `json:"event"`
					Occurred time.Time `json:"occurred"`
				} `json:"event"`
			}
			if err := json.Unmarshal(data, &frame); err != nil {
				continue
			}
			mu.Lock()
			switch g, ok := ids[frame.Event.ID]; {
			case frame.Event.Event == evsubProbe:
				d.probes++
			case !ok:
				d.unknown++
			default:
				if d.count[g] == 0 {
					d.lag[g] = at.Sub(frame.Event.Occurred)
					d.received++
				}
				d.count[g]++
			}
			mu.Unlock()
		}
	}()
	// snapshot reads the delivery so far; after ctx ends and the reader
	// is done, the final one.
	snapshot := func() *delivery {
		if ctx.Err() != nil {
			<-done
			conn.CloseNow()
		}
		mu.Lock()
		defer mu.Unlock()
		c := *d
		return &c
	}
	return snapshot, nil
}

func merged(a, b obj) obj {
	out := obj{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// eventFilterTotal counts the stored events that filter matches, over the
// hour around now.
func eventFilterTotal(ctx context.Context, s *server, since time.Time, filter obj) (int, error) {
	var page struct{ Total int }
	f := merged(filter, obj{"occurred": obj{"since": since.Format(time.RFC3339Nano), "until": time.Now().UTC().Add(time.Hour).Format(time.RFC3339Nano)}})
	err := call(ctx, s, "POST", "/events/filter", obj{"filter": f, "limit": 1}, &page)
	return page.Total, err
}

// storedEvents reads every stored event filter matches, in pages of 50.
func storedEvents(ctx context.Context, s *server, since time.Time, filter obj) ([]storedEvent, error) {
	type page struct {
		Events   []storedEvent `json:"events"`
		NextPage *string       `json:"next_page"`
	}
	var p page
	f := merged(filter, obj{"occurred": obj{"since": since.Format(time.RFC3339Nano), "until": time.Now().UTC().Add(time.Hour).Format(time.RFC3339Nano)}})
	if err := call(ctx, s, "POST", "/events/filter", obj{"filter": f, "limit": 50}, &p); err != nil {
		return nil, err
	}
	all := p.Events
	for p.NextPage != nil && *p.NextPage != "" {
		i := strings.Index(*p.NextPage, "/events/filter/next")
		if i < 0 {
			return nil, fmt.Errorf("next_page %q is not an events page", *p.NextPage)
		}
		next := (*p.NextPage)[i:]
		p = page{}
		if err := call(ctx, s, "GET", next, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Events...)
	}
	return all, nil
}

type storedEvent struct {
	Occurred time.Time           `json:"occurred"`
	Resource map[string]string   `json:"resource"`
	Related  []map[string]string `json:"related"`
}

// errBehind ends the wait of a server that keeps catching up for longer
// than the workload's budget.
var errBehind = errors.New("still catching up")

// eventSubscribers connects 4 events/out subscribers and creates 10
// automations (reactive event triggers, do-nothing actions), then sends
// the events over 4 events/in websockets as eventIngest does, and checks
// that all were stored, that each subscriber received exactly the events
// its filter matches, once each, and that each automation fired as often
// as the events sent make it: ingest rate, delivery lag per subscriber,
// drops and duplicates, time until stored, firings and their lag.
func eventSubscribers(ctx context.Context, r *runner, s *server) ([]metric, error) {
	const sockets = 4
	n := r.p.events / sockets * sockets
	since := time.Now().UTC().Add(-time.Minute)
	base := "ws" + strings.TrimPrefix(s.api, "http")

	// The automations, the probe's last.
	autoIDs := make([]string, len(evsubAutomations))
	for i, a := range evsubAutomations {
		var created struct{ ID string }
		if _, err := callRetrying(ctx, s, "POST", "/automations/", a.body(n), &created); err != nil {
			return nil, fmt.Errorf("creating automation %q: %w", a.name, err)
		}
		autoIDs[i] = created.ID
	}
	var probeAuto struct{ ID string }
	if _, err := callRetrying(ctx, s, "POST", "/automations/", obj{"name": "evsub: probe", "enabled": true,
		"trigger": obj{"type": "event", "posture": "Reactive", "expect": []string{evsubProbe}, "threshold": 1, "within": 0},
		"actions": []obj{{"type": "do-nothing"}}}, &probeAuto); err != nil {
		return nil, fmt.Errorf("creating the probe automation: %w", err)
	}
	// The automations stay: they expect only this workload's events.

	ids := make([]uuid.UUID, n)
	idOf := make(map[uuid.UUID]int, n)
	for g := range ids {
		ids[g] = uuid.New()
		idOf[ids[g]] = g
	}
	subCtx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	snapshots := make([]func() *delivery, len(evsubSubscribers))
	for i, sub := range evsubSubscribers {
		snap, err := subscribe(subCtx, base+"/events/out", sub.filter, idOf, n)
		if err != nil {
			return nil, fmt.Errorf("subscriber %q: %w", sub.name, err)
		}
		snapshots[i] = snap
	}

	// Probes until every subscriber has one and the probe automation
	// fired, one every 200 ms, for at most a minute.
	probeFired := func() (int, error) {
		return eventFilterTotal(ctx, s, since, obj{"event": obj{"name": []string{"prefect.automation.triggered"}},
			"resource": obj{"id": []string{"prefect.automation." + probeAuto.ID}}})
	}
	for ready, deadline := false, time.Now().Add(time.Minute); !ready; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, errors.New("the subscribers or the probe automation saw no probe event within a minute")
		}
		probe := obj{"id": uuid.New(), "occurred": time.Now().UTC().Format(time.RFC3339Nano), "event": evsubProbe,
			"resource": obj{"prefect.resource.id": evsubProbe}, "related": []obj{{"prefect.resource.id": evsubProbe, "prefect.resource.role": "probe"}}, "payload": obj{}}
		if _, err := callRetrying(ctx, s, "POST", "/events", []obj{probe}, nil); err != nil {
			return nil, fmt.Errorf("sending a probe: %w", err)
		}
		ready = !slices.ContainsFunc(snapshots, func(snap func() *delivery) bool { return snap().probes == 0 })
		if ready {
			fired, err := probeFired()
			if err != nil {
				return nil, err
			}
			ready = fired > 0
		}
	}

	// The ingest, socket c sending g = c, c+4, c+8, ...
	occurred := make([]time.Time, n)
	start := time.Now()
	var wg sync.WaitGroup
	sendErrs := make([]error, sockets)
	for c := range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendErrs[c] = sendEvents(ctx, base+"/events/in", n/sockets, func(i int) []byte {
				g := i*sockets + c
				occurred[g] = time.Now().UTC()
				return evsubFrame(ids[g], occurred[g], g)
			})
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	if err := errors.Join(sendErrs...); err != nil {
		return nil, err
	}

	// What the subscribers must receive, and the automations fire.
	wants := make([]int, len(evsubSubscribers))
	for i, sub := range evsubSubscribers {
		for g := range n {
			if sub.matches(evsubOf(g)) {
				wants[i]++
			}
		}
	}
	want := 0
	for _, a := range evsubAutomations {
		want += a.expectedFirings(n)
	}
	autoResources := make([]string, len(autoIDs))
	for i, id := range autoIDs {
		autoResources[i] = "prefect.automation." + id
	}
	countOf := func(event string) (int, error) {
		return eventFilterTotal(ctx, s, since, obj{"event": obj{"name": []string{event}}, "resource": obj{"id": autoResources}})
	}
	// Wait until every event is stored, every subscriber has its events
	// and every firing and action is recorded, or none of it moved for
	// 15 s: one wait for all, so a server that falls behind on one costs
	// 15 s, not 15 s each.
	var stored, fired, executed int
	var storedAt time.Time
	limit := 30*time.Second + time.Duration(n)*time.Millisecond
	deadline, lastReport := time.Now().Add(limit), time.Now()
	_, err := waitCount(func() (int, error) {
		if time.Now().After(deadline) {
			return 0, errBehind
		}
		var err error
		if stored, err = eventFilterTotal(ctx, s, since, obj{"event": obj{"name": evsubNames}}); err != nil {
			return 0, err
		}
		if stored >= n && storedAt.IsZero() {
			storedAt = time.Now()
		}
		if fired, err = countOf("prefect.automation.triggered"); err != nil {
			return 0, err
		}
		if executed, err = countOf("prefect.automation.action.executed"); err != nil {
			return 0, err
		}
		got := min(stored, n) + min(fired, want) + min(executed, want)
		for i, snap := range snapshots {
			got += min(snap().received, wants[i])
		}
		if time.Since(lastReport) > 10*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "  %d of %d events stored, %d of %d firings, %d actions executed\n", stored, n, fired, want, executed)
		}
		return got, nil
	}, n+2*want+sum(wants))
	var failures []string
	switch {
	case errors.Is(err, errBehind):
		failures = append(failures, fmt.Sprintf("still behind %v after the last send", limit))
	case err != nil:
		return nil, err
	}
	storedAfter := storedAt.Sub(start) - sent
	stopSubs()

	// The end state, before any figure is kept.
	out := []metric{{Name: "events dropped (not stored)", Unit: "count", Value: float64(n - stored)}}
	if stored != n {
		failures = append(failures, fmt.Sprintf("%d of %d events stored", stored, n))
	}
	var lagRows []metric
	for i, sub := range evsubSubscribers {
		d := snapshots[i]()
		want, dropped, dups, unexpected := d.check(sub.matches)
		out = append(out, metric{Name: fmt.Sprintf("subscriber %q (%d events): dropped", sub.name, want), Unit: "count", Value: float64(dropped)},
			metric{Name: fmt.Sprintf("subscriber %q: duplicates", sub.name), Unit: "count", Value: float64(dups)})
		if dropped+dups+unexpected > 0 || d.readErr != nil {
			failures = append(failures, fmt.Sprintf("subscriber %q: %d of %d dropped, %d duplicates, %d unexpected (%v)", sub.name, dropped, want, dups, unexpected, d.readErr))
			continue
		}
		var lags []time.Duration
		for g, c := range d.count {
			if c > 0 {
				lags = append(lags, d.lag[g])
			}
		}
		lagRows = append(lagRows, percentiles(fmt.Sprintf("subscriber %q delivery lag", sub.name), lags)...)
	}
	for i, a := range evsubAutomations {
		got, err := eventFilterTotal(ctx, s, since, obj{"event": obj{"name": []string{"prefect.automation.triggered"}},
			"resource": obj{"id": []string{autoResources[i]}}})
		if err != nil {
			return nil, err
		}
		if w := a.expectedFirings(n); got != w {
			failures = append(failures, fmt.Sprintf("automation %q fired %d times, want %d", a.name, got, w))
		}
	}
	out = append(out, metric{Name: fmt.Sprintf("automation firings (%d expected)", want), Unit: "count", Value: float64(fired)},
		metric{Name: "automation actions executed", Unit: "count", Value: float64(executed)})
	if executed != want {
		failures = append(failures, fmt.Sprintf("%d of %d do-nothing actions executed", executed, want))
	}
	if len(failures) > 0 {
		return out, errors.New(strings.Join(failures, "; "))
	}

	// The firing lag: from the triggering event's occurred (set as it was
	// sent) to the firing's (the server's clock at the firing).
	firings, err := storedEvents(ctx, s, since, obj{"event": obj{"name": []string{"prefect.automation.triggered"}}, "resource": obj{"id": autoResources}})
	if err != nil {
		return nil, err
	}
	var firingLags []time.Duration
	for _, f := range firings {
		for _, rel := range f.Related {
			if rel["prefect.resource.role"] != "triggering-event" {
				continue
			}
			id, err := uuid.Parse(strings.TrimPrefix(rel["prefect.resource.id"], "prefect.event."))
			if g, ok := idOf[id]; err == nil && ok {
				firingLags = append(firingLags, f.Occurred.Sub(occurred[g]))
			}
		}
	}
	if len(firingLags) != want {
		return out, fmt.Errorf("%d of %d firings name a triggering event that was sent", len(firingLags), want)
	}
	out = append([]metric{
		{Name: fmt.Sprintf("ingest %d events", n), Unit: "events/s", Value: float64(n) / sent.Seconds(), Higher: true},
		{Name: "stored after the last send", Unit: "s", Value: storedAfter.Seconds()},
	}, out...)
	out = append(out, lagRows...)
	return append(out, percentiles("firing lag", firingLags)...), nil
}

func sum(v []int) int {
	t := 0
	for _, x := range v {
		t += x
	}
	return t
}

// percentiles are the p50, p99 and max of lat, in ms, named after what.
func percentiles(what string, lat []time.Duration) []metric {
	return []metric{
		{Name: what + " p50", Unit: "ms", Value: ms(quantile(lat, 0.50))},
		{Name: what + " p99", Unit: "ms", Value: ms(quantile(lat, 0.99))},
		{Name: what + " max", Unit: "ms", Value: ms(quantile(lat, 1))},
	}
}
