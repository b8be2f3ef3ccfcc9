package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The event feed: the workspace's events, newest first, narrowed by an
// event name prefix and a resource id prefix, 25 to a page, each with its
// JSON. It reads the store's ListEvents, the query behind the API's
// /events/filter.

// readEvent is the permission of the API's event routes.
const readEvent auth.Permission = "read:event"

const eventsPageSize = 25

func (u *UI) eventRoutes(mux *http.ServeMux) {
	u.handle(mux, "GET /account/{account_id}/workspace/{workspace_id}/events", inWorkspace(readEvent), u.eventsList)
}

// eventFilters is the feed's query string, parsed.
type eventFilters struct {
	Event    string // an event name prefix: "prefect.flow-run."
	Resource string // a resource id prefix, of the event's resource or a related one
	Offset   int
}

func parseEventFilters(v url.Values) eventFilters {
	f := eventFilters{Event: strings.TrimSpace(v.Get("event")), Resource: strings.TrimSpace(v.Get("resource"))}
	if n, err := strconv.Atoi(v.Get("offset")); err == nil && n > 0 {
		f.Offset = n
	}
	return f
}

// Filtered reports whether any filter narrows the feed.
func (f eventFilters) Filtered() bool { return f.Event != "" || f.Resource != "" }

// query is the store query of one page.
func (f eventFilters) query() store.EventQuery {
	var ef store.EventFilter
	if f.Event != "" {
		ef.Event = &struct {
			Prefix []string `json:"prefix"`
			Name   []string `json:"name"`
		}{Prefix: []string{f.Event}}
	}
	if f.Resource != "" {
		// A resource's events include those it is related to: a flow
		// run's feed shows its task runs' events and the automations'
		// actions on it.
		ef.Any = &struct {
			ID       []string `json:"id"`
			IDPrefix []string `json:"id_prefix"`
		}{IDPrefix: []string{f.Resource}}
	}
	return store.EventQuery{Filter: &ef, Limit: eventsPageSize, Offset: f.Offset}
}

// withOffset is the feed's URL (below base) with the filters at offset.
func (f eventFilters) withOffset(base string, offset int) string {
	v := url.Values{}
	if f.Event != "" {
		v.Set("event", f.Event)
	}
	if f.Resource != "" {
		v.Set("resource", f.Resource)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return base
	}
	return base + "?" + v.Encode()
}

// eventRow is one event of the feed.
type eventRow struct {
	Event *model.Event
	// ResourceName is the resource's name label, when it has one.
	ResourceName string
	// PageURL opens the page of the resource, when Praetor has one.
	PageURL string
	// ResourceURL narrows the feed to the event's resource.
	ResourceURL string
	JSON        string // the event as the API serves it, indented
}

// eventsPage is the data of the event feed.
type eventsPage struct {
	Base        string
	Filters     eventFilters
	Rows        []eventRow
	Total       int
	First, Last int
	Pager
	FirstURL string
}

func (u *UI) eventsList(q *request) error {
	f := parseEventFilters(q.r.URL.Query())
	events, total, err := u.Store.ListEvents(q.ctx(), q.Workspace.ID, f.query())
	if err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	base := WorkspaceURL(q.Workspace)
	list := base + "/events"
	p := eventsPage{Base: base, Filters: f, Total: total, Pager: Pager{Of: "events"}}
	for _, e := range events {
		p.Rows = append(p.Rows, newEventRow(base, list, e))
	}
	if len(events) > 0 {
		p.First, p.Last = f.Offset+1, f.Offset+len(events)
	}
	if f.Offset > 0 {
		p.PrevURL = f.withOffset(list, max(0, f.Offset-eventsPageSize))
		p.FirstURL = f.withOffset(list, 0)
	}
	if f.Offset+len(events) < total {
		p.NextURL = f.withOffset(list, f.Offset+eventsPageSize)
	}
	return u.render(q, http.StatusOK, "events.html", p)
}

// resourcePages are the pages of resources by id prefix, below the
// workspace's root.
var resourcePages = map[string]string{
	model.FlowRunResource:    "/runs/flow-run/",
	model.FlowResource:       "/flows/flow/",
	model.DeploymentResource: "/deployments/deployment/",
	model.AutomationResource: "/automations/automation/",
}

func newEventRow(base, list string, e *model.Event) eventRow {
	id := e.Resource.ID()
	row := eventRow{Event: e, ResourceName: e.Resource["prefect.resource.name"], JSON: prettyJSON(e),
		ResourceURL: eventFilters{Resource: id}.withOffset(list, 0)}
	for prefix, page := range resourcePages {
		if rest, ok := strings.CutPrefix(id, prefix); ok {
			row.PageURL = base + page + url.PathEscape(rest)
		}
	}
	return row
}
