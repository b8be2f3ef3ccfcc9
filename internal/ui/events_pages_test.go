package ui_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// postEvent posts one event to the workspace's /events.
func (a *wsAPI) postEvent(name, resource string, at time.Time, labels map[string]string, related []map[string]string, payload map[string]any) string {
	a.t.Helper()
	res := map[string]string{"prefect.resource.id": resource}
	for k, v := range labels {
		res[k] = v
	}
	if related == nil {
		related = []map[string]string{}
	}
	id := uuid.NewString()
	a.call("POST", "/events", []any{map[string]any{"id": id, "event": name, "occurred": at.UTC().Format(time.RFC3339Nano),
		"resource": res, "related": related, "payload": payload}}, nil)
	return id
}

var (
	eventRowNames = regexp.MustCompile(`<tr data-event="([^"]+)"`)
	eventCounts   = regexp.MustCompile(`&#34;n&#34;: (\d+)`)
	nextPage      = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

// The event feed lists the workspace's events newest first, 25 to a page,
// each with its JSON (escaped); it narrows them by an event name prefix
// and by a resource id prefix that the event's resource or a related one
// has; another workspace's member finds no feed, and their own shows none
// of these events.
func TestEventFeed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "eve")
		if body := wsPage(t, c, ws, "/events"); !strings.Contains(body, `id="no-events"`) {
			t.Errorf("a new workspace's feed shows no empty-state hint")
		}
		t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
		for i := range 30 {
			api.postEvent("acme.tick", "acme.sensor."+strconv.Itoa(i%2), t0.Add(time.Duration(i)*time.Second), nil, nil,
				map[string]any{"n": i, "note": "<script>alert(1)</script>"})
		}
		run := uuid.NewString()
		api.postEvent("prefect.flow-run.Failed", "prefect.flow-run."+run, t0.Add(time.Minute),
			map[string]string{"prefect.resource.name": "nightly-7"},
			[]map[string]string{{"prefect.resource.id": "acme.sensor.9", "prefect.resource.role": "sensor"}}, map[string]any{})

		body := wsPage(t, c, ws, "/events")
		if !strings.Contains(body, "Events 1 to 25 of 31") {
			t.Errorf("the first page does not read Events 1 to 25 of 31")
		}
		names := eventRowNames.FindAllStringSubmatch(body, -1)
		if len(names) != 25 || names[0][1] != "prefect.flow-run.Failed" {
			t.Fatalf("the first page has %d rows, the first %v; want 25, the newest (the failure) first", len(names), names[:min(1, len(names))])
		}
		var ns []string
		for _, m := range eventCounts.FindAllStringSubmatch(body, -1) {
			ns = append(ns, m[1])
		}
		if got, want := strings.Join(ns, ","), seq(29, 6); got != want {
			t.Errorf("the ticks read %s, want newest first %s", got, want)
		}
		if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "alert(1)") {
			t.Errorf("an event's payload is not shown escaped in its JSON")
		}
		if !strings.Contains(body, `href="`+ws.path("/runs/flow-run/"+run)+`">nightly-7</a>`) {
			t.Errorf("the flow run's event does not link its run by name")
		}

		next := nextPage.FindStringSubmatch(body)
		if next == nil {
			t.Fatal("the first page has no Next link")
		}
		body = c.get(html.UnescapeString(next[1])).Body
		if !strings.Contains(body, "Events 26 to 31 of 31") || !strings.Contains(body, `rel="prev"`) || nextPage.MatchString(body) {
			t.Errorf("the second page is not Events 26 to 31 of 31 with only a Previous link")
		}
		ns = ns[:0]
		for _, m := range eventCounts.FindAllStringSubmatch(body, -1) {
			ns = append(ns, m[1])
		}
		if got, want := strings.Join(ns, ","), seq(5, 0); got != want {
			t.Errorf("the second page's ticks read %s, want %s", got, want)
		}

		for _, f := range []struct {
			query string
			want  int
		}{
			{"?event=prefect.flow-run.", 1},
			{"?resource=acme.sensor.9", 1}, // a related resource
			{"?resource=acme.sensor.1&event=acme.", 15},
			{"?event=acme.tock", 0},
		} {
			body := wsPage(t, c, ws, "/events"+f.query)
			if got := len(eventRowNames.FindAllString(body, -1)); got != f.want {
				t.Errorf("%s lists %d events, want %d", f.query, got, f.want)
			}
			if f.want == 0 && !strings.Contains(body, "No events match these filters.") {
				t.Errorf("%s does not say no events match", f.query)
			}
			if f.want > 0 && !strings.Contains(body, fmt.Sprintf("Events 1 to %d of %d", f.want, f.want)) {
				t.Errorf("%s does not count its %d events", f.query, f.want)
			}
		}

		_, mallory, other := newWorkspaceAPI(t, ts, "mallory")
		if r := mallory.get(ws.path("/events")); r.Status != http.StatusNotFound || strings.Contains(r.Body, "acme.tick") {
			t.Errorf("another workspace's member reads the feed: %d", r.Status)
		}
		if body := wsPage(t, mallory, other, "/events"); !strings.Contains(body, `id="no-events"`) || strings.Contains(body, "acme.") {
			t.Errorf("another workspace's feed shows this workspace's events")
		}
	})
}

// seq is from, from-1, …, to, comma-separated.
func seq(from, to int) string {
	var s []string
	for i := from; i >= to; i-- {
		s = append(s, strconv.Itoa(i))
	}
	return strings.Join(s, ",")
}
