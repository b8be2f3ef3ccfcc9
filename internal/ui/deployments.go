package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schedule"
	"github.com/praetorhq/praetor/internal/store"
)

// The deployments list, a deployment's page, its Run form and its pause
// and resume buttons. Deployments are made by the Prefect client
// (flow.serve(), prefect deploy); the pages read them, run them and pause
// them, with the permissions the API's routes need for the same.

// Deployment permissions, as the API's deployment routes declare them.
const (
	readDeployment   auth.Permission = "read:deployment"
	runDeployment    auth.Permission = "run:deployment"
	updateDeployment auth.Permission = "update:deployment"
)

func (u *UI) deploymentRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}/deployments"
	u.handle(mux, "GET "+base, inWorkspace(readDeployment), u.deploymentsList)
	u.handle(mux, "GET "+base+"/deployment/{id}", inWorkspace(readDeployment), u.deploymentPage)
	u.handle(mux, "GET "+base+"/deployment/{id}/run", inWorkspace(runDeployment), u.deploymentRunForm)
	u.handle(mux, "POST "+base+"/deployment/{id}/run", ownersOnly(runDeployment, "Your role in this workspace cannot run deployments."), u.deploymentRun)
	const change = "Your role in this workspace cannot pause or resume deployments."
	u.handle(mux, "POST "+base+"/deployment/{id}/pause", ownersOnly(updateDeployment, change), u.pauseDeployment(true))
	u.handle(mux, "POST "+base+"/deployment/{id}/resume", ownersOnly(updateDeployment, change), u.pauseDeployment(false))
}

// deploymentsPageSize is the rows of one page of deployments.
const deploymentsPageSize = 25

// deploymentRow is a deployment in the list.
type deploymentRow struct {
	Name, URL     string
	Flow, FlowURL string
	Schedules     []string // in words; inactive ones say so
	Status        string   // READY or NOT_READY
	Paused        bool
	Pool, Queue   string
	Next          *model.Time
	Last          *runRow // its newest run that is due, if any
}

// deploymentsPage is the data of the deployments list.
type deploymentsPage struct {
	Base        string
	Name        string // the name filter, as typed
	Rows        []deploymentRow
	Total       int
	First, Last int
	Pager
	RunsURL string
}

func (u *UI) deploymentsList(q *request) error {
	v := q.r.URL.Query()
	name := strings.TrimSpace(v.Get("name"))
	offset, _ := strconv.Atoi(v.Get("offset"))
	offset = max(0, offset)
	dq := store.DeploymentQuery{Sort: store.SortNameAsc, Limit: deploymentsPageSize, Offset: offset}
	if name != "" {
		dq.Deployments = &store.DeploymentFilter{FlowOrDeploymentName: &store.NameFilter{Like: &name}}
	}
	ctx, ws := q.ctx(), q.Workspace.ID
	list, err := u.Store.ListDeployments(ctx, ws, dq)
	if err != nil {
		return fmt.Errorf("list deployments: %w", err)
	}
	total, err := u.Store.CountDeployments(ctx, ws, dq)
	if err != nil {
		return fmt.Errorf("count deployments: %w", err)
	}
	flows, err := u.deploymentFlows(q, list)
	if err != nil {
		return err
	}
	base := WorkspaceURL(q.Workspace)
	p := deploymentsPage{Base: base, Name: name, Total: total, RunsURL: base + "/runs", Pager: Pager{Of: "deployments"}}
	now := u.Clock.Now()
	for _, d := range list {
		row := deploymentRow{Name: d.Name, URL: base + "/deployments/deployment/" + d.ID.String(),
			Flow: flows[d.FlowID], FlowURL: base + "/flows/flow/" + d.FlowID.String(),
			Status: d.Status, Paused: d.Paused, Pool: derefString(d.WorkPoolName), Queue: derefString(d.WorkQueueName)}
		for _, s := range d.Schedules {
			words := describeSchedule(s.Schedule)
			if !s.Active {
				words += " (inactive)"
			}
			row.Schedules = append(row.Schedules, words)
		}
		// Two LIMIT 1 reads per row of a 25-row page, through the
		// (workspace_id, deployment_id) index and the partial index of
		// SCHEDULED runs.
		next, err := u.deploymentRuns(q, d.ID, true, 1)
		if err != nil {
			return err
		}
		if len(next) > 0 {
			row.Next = next[0].ExpectedStartTime
		} else {
			row.Next = computedNext(d, now)
		}
		last, err := u.deploymentRuns(q, d.ID, false, 1)
		if err != nil {
			return err
		}
		if rows, err := u.runRows(q, last); err != nil {
			return err
		} else if len(rows) > 0 {
			row.Last = &rows[0]
		}
		p.Rows = append(p.Rows, row)
	}
	if len(list) > 0 {
		p.First, p.Last = offset+1, offset+len(list)
	}
	page := func(offset int) string {
		v := url.Values{}
		if name != "" {
			v.Set("name", name)
		}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		if len(v) == 0 {
			return base + "/deployments"
		}
		return base + "/deployments?" + v.Encode()
	}
	if offset > 0 {
		p.PrevURL = page(max(0, offset-deploymentsPageSize))
	}
	if offset+len(list) < total {
		p.NextURL = page(offset + deploymentsPageSize)
	}
	return u.render(q, http.StatusOK, "deployments.html", p)
}

// deploymentFlows reads the names of the deployments' flows, in one query.
func (u *UI) deploymentFlows(q *request, list []*model.Deployment) (map[uuid.UUID]string, error) {
	runs := make([]*model.FlowRun, len(list))
	for i, d := range list {
		runs[i] = &model.FlowRun{FlowID: d.FlowID}
	}
	return u.flowNames(q, runs)
}

// deploymentRuns reads a deployment's runs: upcoming, its SCHEDULED runs
// soonest first (late ones included); otherwise its other runs, newest
// first.
func (u *UI) deploymentRuns(q *request, id uuid.UUID, upcoming bool, limit int) ([]*model.FlowRun, error) {
	fr := &store.FlowRunFilter{DeploymentID: &store.NullableIDFilter{Any: []uuid.UUID{id}}, State: store.StateTypeIn(model.Scheduled)}
	sq := store.RunQuery{FlowRuns: fr, Sort: store.SortExpectedStartTimeAsc, Limit: limit}
	if !upcoming {
		fr.State.Type.Any, fr.State.Type.NotAny = nil, []model.StateType{model.Scheduled}
		sq.Sort = store.SortExpectedStartTimeDesc
	}
	runs, err := u.Store.ListFlowRuns(q.ctx(), q.Workspace.ID, sq)
	if err != nil {
		return nil, fmt.Errorf("list the runs of deployment %s: %w", id, err)
	}
	return runs, nil
}

// computedNext is the soonest start of a deployment's active schedules,
// before the scheduler has made its run; nil when it makes none.
func computedNext(d *model.Deployment, now time.Time) *model.Time {
	if d.Paused {
		return nil
	}
	var next *model.Time
	for _, s := range d.Schedules {
		if !s.Active {
			continue
		}
		parsed, err := schedule.Parse(s.Schedule)
		if err != nil {
			continue
		}
		if dates := parsed.Dates(now, now.AddDate(1, 0, 0), 1); len(dates) > 0 && (next == nil || dates[0].Before(next.Time)) {
			next = model.At(dates[0]).Ptr()
		}
	}
	return next
}

// describeSchedule is a stored schedule in words, or what is wrong with it.
func describeSchedule(raw []byte) string {
	s, err := schedule.Parse(raw)
	if err != nil {
		return "unreadable schedule: " + apperrText(err)
	}
	return s.Describe()
}

// apperrText is an application error's message, else its text.
func apperrText(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}
