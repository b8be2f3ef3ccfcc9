package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/notify"
	"github.com/praetorhq/praetor/internal/store"
)

// The automations pages: the list with each automation's trigger and
// last firing, a form that makes the common automations from templates
// (or takes Prefect's AutomationCore JSON for anything else), and an
// automation's page with its recent actions, its JSON to edit, and its
// Enable, Disable and Delete buttons. The permissions are those Prefect
// Cloud's automation routes declare.

const (
	readAutomation   auth.Permission = "read:automation"
	createAutomation auth.Permission = "create:automation"
	updateAutomation auth.Permission = "update:automation"
	deleteAutomation auth.Permission = "delete:automation"
)

func (u *UI) automationRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}/automations"
	const one = base + "/automation/{id}"
	u.handle(mux, "GET "+base, inWorkspace(readAutomation), u.automationsList)
	u.handle(mux, "GET "+base+"/new", inWorkspace(createAutomation), u.newAutomationForm)
	const create = "Your role in this workspace cannot create automations."
	u.handle(mux, "POST "+base+"/new", ownersOnly(createAutomation, create), u.createFromTemplate)
	u.handle(mux, "POST "+base+"/new/json", ownersOnly(createAutomation, create), u.createFromJSON)
	u.handle(mux, "GET "+one, inWorkspace(readAutomation), u.automationPage)
	const change = "Your role in this workspace cannot change automations."
	u.handle(mux, "POST "+one+"/edit", ownersOnly(updateAutomation, change), u.editAutomation)
	u.handle(mux, "POST "+one+"/enable", ownersOnly(updateAutomation, change), u.enableAutomation(true))
	u.handle(mux, "POST "+one+"/disable", ownersOnly(updateAutomation, change), u.enableAutomation(false))
	u.handle(mux, "POST "+one+"/delete", ownersOnly(deleteAutomation, "Your role in this workspace cannot delete automations."), u.deleteAutomation)
}

const automationsPageSize = 25

// recentActions is how many of its latest actions an automation's page
// lists.
const recentActions = 25

func automationsURL(ws *model.Workspace) string { return WorkspaceURL(ws) + "/automations" }

func automationURL(ws *model.Workspace, id uuid.UUID) string {
	return automationsURL(ws) + "/automation/" + id.String()
}

// automationRow is an automation in the list.
type automationRow struct {
	A       *model.Automation
	URL     string
	Trigger string
	// Last is the newest action of its last firing, nil if it never fired.
	Last *actionView
}

type automationsPage struct {
	Rows        []automationRow
	Total       int
	First, Last int
	Pager
	NewURL, EventsURL string
	CanCreate         bool
}

func (u *UI) automationsList(q *request) error {
	ctx, ws := q.ctx(), q.Workspace.ID
	offset, _ := strconv.Atoi(q.r.URL.Query().Get("offset"))
	offset = max(0, offset)
	list, err := u.Store.ListAutomations(ctx, ws, store.AutomationQuery{Sort: store.SortNameAsc, Limit: automationsPageSize, Offset: offset})
	if err != nil {
		return fmt.Errorf("list automations: %w", err)
	}
	total, err := u.Store.CountAutomations(ctx, ws, store.AutomationQuery{})
	if err != nil {
		return fmt.Errorf("count automations: %w", err)
	}
	base := automationsURL(q.Workspace)
	p := automationsPage{Total: total, Pager: Pager{Of: "automations"}, NewURL: base + "/new", EventsURL: WorkspaceURL(q.Workspace) + "/events", CanCreate: auth.Can(q.Role, createAutomation)}
	blocks := blockNames{}
	// One read of actions per automation: a page has 25 at most.
	for _, a := range list {
		row := automationRow{A: a, URL: automationURL(q.Workspace, a.ID), Trigger: automations.Summary(a.Trigger)}
		acts, err := u.Store.ListTriggeredActions(ctx, ws, a.ID, 1)
		if err != nil {
			return fmt.Errorf("list the actions of automation %s: %w", a.ID, err)
		}
		if len(acts) > 0 {
			v := u.actionView(q, blocks, acts[0])
			row.Last = &v
		}
		p.Rows = append(p.Rows, row)
	}
	if len(list) > 0 {
		p.First, p.Last = offset+1, offset+len(list)
	}
	if offset > 0 {
		p.PrevURL = base + pageQuery(max(0, offset-automationsPageSize))
	}
	if offset+len(list) < total {
		p.NextURL = base + pageQuery(offset+automationsPageSize)
	}
	return u.render(q, http.StatusOK, "automations.html", p)
}

// actionView is a triggered action as the pages show it.
type actionView struct {
	Fired   *model.Time
	What    string // the action, in words
	Outcome string // "delivered", "failed", "retrying", "pending"
	Detail  string // the error of a failed or retrying action, else its result
	// EventsURL opens the feed at the resource of the event that fired it.
	EventsURL string
	Attempts  int
	Next      *model.Time
}

func (u *UI) actionView(q *request, blocks blockNames, t *model.TriggeredAction) actionView {
	v := actionView{Fired: t.Triggered.Ptr(), What: u.actionSummary(q, blocks, t.Action), Attempts: t.Attempts}
	switch {
	case t.State == model.ActionExecuted:
		v.Outcome, v.Detail = "delivered", derefString(t.ResultDescription)
	case t.State == model.ActionFailed:
		v.Outcome, v.Detail = "failed", derefString(t.LastError)
	case t.Attempts > 0:
		v.Outcome, v.Detail, v.Next = "retrying", derefString(t.LastError), t.NextAttempt
	default:
		v.Outcome = "pending"
	}
	if e := t.TriggeringEvent; e != nil {
		v.EventsURL = eventFilters{Resource: e.Resource.ID()}.withOffset(WorkspaceURL(q.Workspace)+"/events", 0)
	}
	return v
}

// blockNames caches the names of the block documents a page's actions
// use.
type blockNames map[uuid.UUID]string

// actionSummary says what an action does, in words.
func (u *UI) actionSummary(q *request, blocks blockNames, a *model.Action) string {
	if a == nil {
		return ""
	}
	target := ""
	if id := a.BlockDocumentID; id != nil {
		name, ok := blocks[*id]
		if !ok {
			name = id.String()
			if d, err := u.Store.GetBlockDocument(q.ctx(), q.Workspace.ID, *id, false); err == nil && d.Name != nil {
				name = *d.Name
			}
			blocks[*id] = name
		}
		target = " through the block " + name
	}
	switch a.Type {
	case model.ActionSendNotification:
		return "Send a notification" + target
	case model.ActionCallWebhook:
		return "Call a webhook" + target
	case model.ActionChangeFlowRunState:
		return "Set the flow run's state to " + string(a.State)
	}
	s := strings.ReplaceAll(a.Type, "-", " ")
	if a.Source == "inferred" {
		s += " (the event's)"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// automationView is the data of an automation's page.
type automationView struct {
	A       *model.Automation
	URL     string
	Trigger string
	Actions []string
	Recent  []actionView
	// JSON is the automation as Prefect's AutomationCore, the edit form's
	// content; Error is the edit form's refusal.
	JSON, Error           string
	CanChange, CanDelete  bool
	ListURL, EventsURL    string
	AutomationResourceURL string
}

func (u *UI) automationPage(q *request) error {
	a, err := u.pathAutomation(q)
	if err != nil {
		return err
	}
	return u.renderAutomation(q, http.StatusOK, a, automationCore(a), "")
}

func (u *UI) renderAutomation(q *request, status int, a *model.Automation, js, formErr string) error {
	acts, err := u.Store.ListTriggeredActions(q.ctx(), q.Workspace.ID, a.ID, recentActions)
	if err != nil {
		return fmt.Errorf("list the actions of automation %s: %w", a.ID, err)
	}
	blocks := blockNames{}
	v := automationView{A: a, URL: automationURL(q.Workspace, a.ID), Trigger: automations.Summary(a.Trigger), JSON: js, Error: formErr,
		CanChange: auth.Can(q.Role, updateAutomation), CanDelete: auth.Can(q.Role, deleteAutomation),
		ListURL:   automationsURL(q.Workspace),
		EventsURL: eventFilters{Resource: "prefect.automation." + a.ID.String()}.withOffset(WorkspaceURL(q.Workspace)+"/events", 0)}
	for _, act := range a.AllActions() {
		v.Actions = append(v.Actions, u.actionSummary(q, blocks, act))
	}
	for _, t := range acts {
		v.Recent = append(v.Recent, u.actionView(q, blocks, t))
	}
	return u.render(q, status, "automation.html", v)
}

// pathAutomation reads the automation the path names.
func (u *UI) pathAutomation(q *request) (*model.Automation, error) {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return nil, errNotFound()
	}
	a, err := u.Store.GetAutomation(q.ctx(), q.Workspace.ID, id)
	if err != nil {
		return nil, fmt.Errorf("get automation: %w", err)
	}
	return a, nil
}

// automationCore is a as Prefect's AutomationCore: without its id and
// times.
func automationCore(a *model.Automation) string {
	b, err := json.Marshal(a)
	if err != nil {
		return ""
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return ""
	}
	delete(m, "id")
	delete(m, "created")
	delete(m, "updated")
	// Marshalled from a map, the members come sorted; the order of
	// Prefect's schema reads better.
	var buf bytes.Buffer
	buf.WriteString("{\n")
	keys := []string{"name", "description", "enabled", "tags", "trigger", "actions", "actions_on_trigger", "actions_on_resolve"}
	for i, k := range keys {
		var v bytes.Buffer
		json.Indent(&v, m[k], "  ", "  ")
		fmt.Fprintf(&buf, "  %q: %s", k, v.String())
		if i < len(keys)-1 {
			buf.WriteString(",")
		}
		buf.WriteString("\n")
	}
	buf.WriteString("}")
	return buf.String()
}

func (u *UI) enableAutomation(enabled bool) handler {
	return func(q *request) error {
		a, err := u.pathAutomation(q)
		if err != nil {
			return err
		}
		if err := u.Store.SetAutomationEnabled(q.ctx(), q.Workspace.ID, a.ID, enabled); err != nil {
			return fmt.Errorf("enable automation: %w", err)
		}
		msg := "Enabled the automation " + a.Name + ": it fires on the events from now on."
		if !enabled {
			msg = "Disabled the automation " + a.Name + ": it does not fire until it is enabled again."
		}
		return q.redirectFlash(automationURL(q.Workspace, a.ID), flash{Text: msg})
	}
}

func (u *UI) deleteAutomation(q *request) error {
	a, err := u.pathAutomation(q)
	if err != nil {
		return err
	}
	if err := u.Store.DeleteAutomation(q.ctx(), q.Workspace.ID, a.ID); err != nil {
		return fmt.Errorf("delete automation: %w", err)
	}
	return q.redirectFlash(automationsURL(q.Workspace), flash{Text: "Deleted the automation " + a.Name + "."})
}

func (u *UI) editAutomation(q *request) error {
	old, err := u.pathAutomation(q)
	if err != nil {
		return err
	}
	js := q.r.PostForm.Get("automation")
	a, msg := u.readAutomationJSON(q, js)
	if msg != "" {
		return u.renderAutomation(q, http.StatusUnprocessableEntity, old, js, msg)
	}
	a.ID = old.ID
	if err := u.Store.UpdateAutomation(q.ctx(), q.Workspace.ID, a); err != nil {
		if status, m, ok := invalidInput(err); ok {
			return u.renderAutomation(q, status, old, js, m)
		}
		return fmt.Errorf("update automation: %w", err)
	}
	return q.redirectFlash(automationURL(q.Workspace, a.ID), flash{Text: "Saved the automation " + a.Name + "."})
}

// invalidInput reports an error the store makes of bad input, with its
// status and message, for the form that sent it.
func invalidInput(err error) (int, string, bool) {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return 0, "", false
	}
	switch e.Code {
	case apperr.EInvalid:
		return http.StatusUnprocessableEntity, e.Message, true
	case apperr.EConflict:
		return http.StatusConflict, e.Message, true
	}
	return 0, "", false
}

// readAutomationJSON reads Prefect's AutomationCore JSON; a refusal is
// its message for the form.
func (u *UI) readAutomationJSON(q *request, js string) (*model.Automation, string) {
	// Members AutomationCore does not have are ignored, as Prefect
	// ignores them: an automation read from the API pastes as it is.
	dec := json.NewDecoder(strings.NewReader(js))
	a := &model.Automation{Enabled: true}
	if err := dec.Decode(a); err != nil {
		return nil, "This is not an automation's JSON: " + err.Error()
	}
	if dec.More() {
		return nil, "This is not an automation's JSON: it goes on after the automation's closing brace."
	}
	if msg := u.checkAutomation(q, a); msg != "" {
		return nil, msg
	}
	return a, ""
}

// checkAutomation checks a as the API does (automations.Prepare, which
// also gives its triggers their ids), and that the blocks its actions
// name are the workspace's, so the form says so rather than the first
// firing.
func (u *UI) checkAutomation(q *request, a *model.Automation) string {
	if strings.TrimSpace(a.Name) == "" {
		return "An automation needs a name."
	}
	if err := automations.Prepare(a); err != nil {
		var ve *automations.Error
		if !errors.As(err, &ve) {
			return err.Error()
		}
		var loc []string
		for _, l := range ve.Loc {
			loc = append(loc, fmt.Sprint(l))
		}
		if len(loc) == 0 {
			return ve.Msg
		}
		return strings.Join(loc, ".") + ": " + ve.Msg
	}
	for _, act := range a.AllActions() {
		if act.BlockDocumentID == nil {
			continue
		}
		if _, err := u.Store.GetBlockDocument(q.ctx(), q.Workspace.ID, *act.BlockDocumentID, false); err != nil {
			if apperr.IsNotFound(err) {
				return "The action " + act.Type + " names the block " + act.BlockDocumentID.String() + ", which this workspace does not have."
			}
			return "Could not read the block of the action " + act.Type + "."
		}
	}
	return ""
}

// storeNewAutomation stores a and sends the browser to its page.
func (u *UI) storeNewAutomation(q *request, a *model.Automation) error {
	if err := u.Store.CreateAutomation(q.ctx(), q.Workspace.ID, a, ""); err != nil {
		return err
	}
	return q.redirectFlash(automationURL(q.Workspace, a.ID), flash{Text: "Created the automation " + a.Name + "."})
}

// The templates of the new-automation form, in its order.
const (
	tmplFlowRunFailed  = "flow-run-failed"
	tmplFlowRunLate    = "flow-run-late"
	tmplNotCompleted   = "deployment-not-completed"
	tmplPoolNotReady   = "work-pool-not-ready"
	targetWebhook      = "webhook"
	targetSlack        = "slack"
	targetNotification = "notification"
)

var automationTemplates = []option{
	{Value: tmplFlowRunFailed, Label: "A flow run failed"},
	{Value: tmplFlowRunLate, Label: "A flow run is late"},
	{Value: tmplNotCompleted, Label: "A deployment has not completed a run in N hours"},
	{Value: tmplPoolNotReady, Label: "A work pool has no online worker"},
}

// newAutomation is the new-automation form, as sent or to fill in.
type newAutomation struct {
	Template, Name       string
	Deployment, WorkPool string
	Hours                string
	Target, WebhookURL   string
	SlackURL, Block      string
	// made is the block the form saved for its target, deleted again
	// when the automation is refused.
	made uuid.UUID
	// Errors are by field name; JSONError is the JSON form's.
	Errors          map[string]string
	JSON, JSONError string
}

type newAutomationPage struct {
	Form        newAutomation
	Templates   []option
	Deployments []option
	WorkPools   []option
	Blocks      []option
	Action      string
	ListURL     string
}

func (u *UI) newAutomationForm(q *request) error {
	f := newAutomation{Template: q.r.URL.Query().Get("template"), Target: targetWebhook, Hours: "24", JSON: exampleAutomationJSON}
	if f.Template == "" {
		f.Template = tmplFlowRunFailed
	}
	return u.renderNewAutomation(q, http.StatusOK, f)
}

// exampleAutomationJSON fills the JSON editor: an AutomationCore that does
// nothing, for the user to make their own.
const exampleAutomationJSON = `{
  "name": "my-automation",
  "description": "",
  "enabled": true,
  "trigger": {
    "type": "event",
    "posture": "Reactive",
    "expect": ["prefect.flow-run.Crashed"],
    "match": {"prefect.resource.id": "prefect.flow-run.*"},
    "match_related": {},
    "for_each": ["prefect.resource.id"],
    "threshold": 1,
    "within": 0
  },
  "actions": [{"type": "do-nothing"}]
}`

func (u *UI) renderNewAutomation(q *request, status int, f newAutomation) error {
	ctx, ws := q.ctx(), q.Workspace.ID
	p := newAutomationPage{Form: f, Action: automationsURL(q.Workspace) + "/new", ListURL: automationsURL(q.Workspace)}
	for _, t := range automationTemplates {
		t.Selected = t.Value == f.Template
		p.Templates = append(p.Templates, t)
	}
	deps, err := u.Store.ListDeployments(ctx, ws, store.DeploymentQuery{Sort: store.SortNameAsc, Limit: maxFlowOptions})
	if err != nil {
		return fmt.Errorf("list deployments: %w", err)
	}
	for _, d := range deps {
		p.Deployments = append(p.Deployments, option{Value: d.ID.String(), Label: d.Name, Selected: d.ID.String() == f.Deployment})
	}
	pools, err := u.Store.ListWorkPools(ctx, ws, store.WorkPoolQuery{})
	if err != nil {
		return fmt.Errorf("list work pools: %w", err)
	}
	for _, wp := range pools {
		p.WorkPools = append(p.WorkPools, option{Value: wp.ID.String(), Label: wp.Name, Selected: wp.ID.String() == f.WorkPool})
	}
	blocks, err := u.notificationBlocks(q)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		label := derefString(b.Name)
		if b.BlockType != nil {
			label += " (" + b.BlockType.Name + ")"
		}
		p.Blocks = append(p.Blocks, option{Value: b.ID.String(), Label: label, Selected: b.ID.String() == f.Block})
	}
	return u.render(q, status, "automation_new.html", p)
}

// notificationBlocks are the workspace's named blocks that can send a
// notification (their schema's capability "notify", as Prefect marks
// its notification blocks).
func (u *UI) notificationBlocks(q *request) ([]*model.BlockDocument, error) {
	schemas := &store.BlockSchemaFilter{BlockCapabilities: &struct {
		All []string `json:"all_"`
	}{All: []string{"notify"}}}
	docs, err := u.Store.ListBlockDocuments(q.ctx(), q.Workspace.ID, store.BlockDocumentQuery{BlockSchemas: schemas,
		Sort: store.SortBlockTypeAndNameAsc, Limit: maxFlowOptions})
	if err != nil {
		return nil, fmt.Errorf("list notification blocks: %w", err)
	}
	return docs, nil
}

func (u *UI) createFromTemplate(q *request) error {
	pf := q.r.PostForm
	f := newAutomation{Template: pf.Get("template"), Name: strings.TrimSpace(pf.Get("name")), Deployment: pf.Get("deployment"),
		WorkPool: pf.Get("work_pool"), Hours: strings.TrimSpace(pf.Get("hours")), Target: pf.Get("target"),
		WebhookURL: strings.TrimSpace(pf.Get("webhook_url")), SlackURL: strings.TrimSpace(pf.Get("slack_url")), Block: pf.Get("block"), Errors: map[string]string{}, JSON: exampleAutomationJSON}
	a, err := u.templateAutomation(q, &f)
	if err != nil {
		return err
	}
	if len(f.Errors) > 0 {
		return u.renderNewAutomation(q, http.StatusUnprocessableEntity, f)
	}
	if err := u.storeNewAutomation(q, a); err != nil {
		// The block made for it goes too: a refused form leaves nothing
		// behind.
		if f.made != uuid.Nil {
			if derr := u.Store.DeleteBlockDocument(q.ctx(), q.Workspace.ID, f.made); derr != nil {
				u.Logger.Warn("delete the block of an automation not created", "err", derr)
			}
		}
		if status, msg, ok := invalidInput(err); ok {
			f.Errors["name"] = msg
			return u.renderNewAutomation(q, status, f)
		}
		return fmt.Errorf("create automation: %w", err)
	}
	return nil
}

func (u *UI) createFromJSON(q *request) error {
	f := newAutomation{Template: tmplFlowRunFailed, Target: targetWebhook, Hours: "24", JSON: q.r.PostForm.Get("automation")}
	a, msg := u.readAutomationJSON(q, f.JSON)
	if msg == "" {
		err := u.storeNewAutomation(q, a)
		if err == nil {
			return nil
		}
		status, m, ok := invalidInput(err)
		if !ok {
			return fmt.Errorf("create automation: %w", err)
		}
		f.JSONError = m
		return u.renderNewAutomation(q, status, f)
	}
	f.JSONError = msg
	return u.renderNewAutomation(q, http.StatusUnprocessableEntity, f)
}

// templateAutomation builds the automation the template form describes,
// noting in f.Errors what it cannot use. A webhook target becomes a
// webhook block the automation's action calls; nothing is stored while
// a field is in error.
func (u *UI) templateAutomation(q *request, f *newAutomation) (*model.Automation, error) {
	ctx, ws := q.ctx(), q.Workspace.ID
	var trigger map[string]any
	var subject, body, payload string
	switch f.Template {
	case tmplFlowRunFailed, tmplFlowRunLate:
		state := "Failed"
		if f.Template == tmplFlowRunLate {
			state = "Late"
		}
		trigger = map[string]any{"type": "event", "posture": model.PostureReactive, "expect": []string{"prefect.flow-run." + state},
			"match": map[string]any{"prefect.resource.id": "prefect.flow-run.*"}, "for_each": []string{"prefect.resource.id"},
			"threshold": 1, "within": 0}
		subject = "Flow run {{ flow_run.name }} is " + state
		body = "Flow run {{ flow_run.name }} of the flow {{ flow.name }} entered the state {{ flow_run.state.name }}.\n" +
			"{{ flow_run.state.message }}\n{{ flow_run|ui_url }}"
		payload = `{"automation": "{{ automation.name }}", "event": "{{ event.event }}", "flow_run": "{{ flow_run.name }}", ` +
			`"flow": "{{ flow.name }}", "state": "{{ flow_run.state.name }}", "message": "{{ flow_run.state.message }}", "url": "{{ flow_run|ui_url }}"}`
	case tmplNotCompleted:
		var d *model.Deployment
		if id, err := uuid.Parse(f.Deployment); err == nil {
			if d, err = u.Store.GetDeployment(ctx, ws, id); err != nil && !apperr.IsNotFound(err) {
				return nil, fmt.Errorf("get deployment: %w", err)
			}
		}
		if d == nil {
			f.Errors["deployment"] = "Choose one of the workspace's deployments."
		}
		hours, herr := strconv.Atoi(f.Hours)
		if herr != nil || hours < 1 || hours > 24*365 {
			f.Errors["hours"] = "A whole number of hours, from 1 to 8760."
		}
		if d != nil && herr == nil {
			trigger = map[string]any{"type": "event", "posture": model.PostureProactive, "expect": []string{"prefect.flow-run.Completed"},
				"match":         map[string]any{"prefect.resource.id": "prefect.flow-run.*"},
				"match_related": map[string]any{"prefect.resource.role": "deployment", "prefect.resource.id": "prefect.deployment." + d.ID.String()},
				"threshold":     1, "within": hours * 3600}
		}
		subject = "Deployment {{ deployment.name }} has not completed a run in " + f.Hours + " hours"
		body = "No flow run of the deployment {{ deployment.name }} completed in the last " + f.Hours + " hours.\n{{ deployment|ui_url }}"
		payload = `{"automation": "{{ automation.name }}", "deployment": "{{ deployment.name }}", "hours": ` + strconv.Itoa(hours) +
			`, "url": "{{ deployment|ui_url }}"}`
	case tmplPoolNotReady:
		var pool *model.WorkPool
		if id, err := uuid.Parse(f.WorkPool); err == nil {
			if pool, err = u.workPoolByID(q, id); err != nil {
				return nil, err
			}
		}
		if pool == nil {
			f.Errors["work_pool"] = "Choose one of the workspace's work pools."
		} else {
			trigger = map[string]any{"type": "event", "posture": model.PostureReactive, "expect": []string{"prefect.work-pool.not-ready"},
				"match": map[string]any{"prefect.resource.id": "prefect.work-pool." + pool.ID.String()}, "threshold": 1, "within": 0}
		}
		subject = "Work pool {{ work_pool.name }} has no online worker"
		body = "The work pool {{ work_pool.name }} is not ready: none of its workers is online.\n{{ work_pool|ui_url }}"
		payload = `{"automation": "{{ automation.name }}", "work_pool": "{{ work_pool.name }}", "event": "{{ event.event }}", "url": "{{ work_pool|ui_url }}"}`
	default:
		f.Errors["template"] = "Choose what the automation watches for."
	}
	if f.Name == "" {
		f.Errors["name"] = "Name the automation."
	}
	var action map[string]any
	switch f.Target {
	case targetWebhook:
		if msg := checkWebhookURL(f.WebhookURL); msg != "" {
			f.Errors["webhook_url"] = msg
		} else {
			action = map[string]any{"type": model.ActionCallWebhook, "payload": payload}
		}
	case targetSlack:
		if msg := checkWebhookURL(f.SlackURL); msg != "" {
			f.Errors["slack_url"] = msg
		} else {
			action = map[string]any{"type": model.ActionSendNotification, "subject": subject, "body": body}
		}
	case targetNotification:
		id, err := uuid.Parse(f.Block)
		if err != nil {
			f.Errors["block"] = "Choose one of the workspace's notification blocks."
			break
		}
		if _, err := u.Store.GetBlockDocument(ctx, ws, id, false); err != nil {
			if !apperr.IsNotFound(err) {
				return nil, fmt.Errorf("get block: %w", err)
			}
			f.Errors["block"] = "Choose one of the workspace's notification blocks."
			break
		}
		action = map[string]any{"type": model.ActionSendNotification, "block_document_id": id, "subject": subject, "body": body}
	default:
		f.Errors["target"] = "Choose where the automation sends word."
	}
	if len(f.Errors) > 0 {
		return nil, nil
	}
	// The block is made last, once nothing else is refused.
	var err error
	switch f.Target {
	case targetWebhook:
		f.made, err = u.createTargetBlock(q, notify.SlugWebhook, f.Name, map[string]any{"method": "POST", "url": f.WebhookURL, "headers": map[string]any{}})
	case targetSlack:
		f.made, err = u.createTargetBlock(q, notify.SlugSlack, f.Name, map[string]any{"url": f.SlackURL})
	}
	if err != nil {
		return nil, err
	}
	if f.made != uuid.Nil {
		action["block_document_id"] = f.made
	}
	js, err := json.Marshal(map[string]any{"name": f.Name, "description": "", "enabled": true, "trigger": trigger, "actions": []any{action}})
	if err != nil {
		return nil, fmt.Errorf("encode automation: %w", err)
	}
	a := &model.Automation{}
	if err := json.Unmarshal(js, a); err != nil {
		return nil, fmt.Errorf("decode the template's automation: %w", err)
	}
	if msg := u.checkAutomation(q, a); msg != "" {
		return nil, fmt.Errorf("the template %s makes an automation Praetor refuses: %s", f.Template, msg)
	}
	return a, nil
}

// workPoolByID finds a pool of the workspace by id; nil when it has none.
func (u *UI) workPoolByID(q *request, id uuid.UUID) (*model.WorkPool, error) {
	pools, err := u.Store.ListWorkPools(q.ctx(), q.Workspace.ID, store.WorkPoolQuery{WorkPools: &store.WorkPoolFilter{ID: &store.IDFilter{Any: []uuid.UUID{id}}}})
	if err != nil {
		return nil, fmt.Errorf("get work pool: %w", err)
	}
	if len(pools) == 0 {
		return nil, nil
	}
	return pools[0], nil
}

// checkWebhookURL refuses what is not an http or https URL.
func checkWebhookURL(s string) string {
	if s == "" {
		return "The URL the automation posts to."
	}
	p, err := url.Parse(s)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return "An http:// or https:// URL."
	}
	return ""
}

// createTargetBlock saves a block of the type slug (one notify.Ensure
// registers in the workspace: Prefect's Webhook, or Slack Webhook) with
// data, named after the automation.
func (u *UI) createTargetBlock(q *request, slug, automation string, data map[string]any) (uuid.UUID, error) {
	ctx, ws := q.ctx(), q.Workspace.ID
	if err := notify.Ensure(ctx, u.Store, ws); err != nil {
		return uuid.Nil, fmt.Errorf("register the notification block types: %w", err)
	}
	bt, err := u.Store.GetBlockTypeBySlug(ctx, ws, slug)
	if err != nil {
		return uuid.Nil, fmt.Errorf("get the block type %s: %w", slug, err)
	}
	// The schema Ensure registered, not one a client may have added.
	schemas, err := u.Store.ListBlockSchemas(ctx, ws, store.BlockSchemaQuery{Limit: 1, BlockSchemas: &store.BlockSchemaFilter{
		BlockTypeID: &struct {
			Any []uuid.UUID `json:"any_"`
		}{Any: []uuid.UUID{bt.ID}},
		Version: &struct {
			Any []string `json:"any_"`
		}{Any: []string{notify.SchemaVersion}}}})
	if err != nil {
		return uuid.Nil, fmt.Errorf("list the schemas of the block type %s: %w", slug, err)
	}
	if len(schemas) == 0 {
		return uuid.Nil, fmt.Errorf("the block type %s has no schema of version %s", slug, notify.SchemaVersion)
	}
	name := blockName(automation) + "-" + slug + "-" + randomSuffix()
	d := &model.BlockDocument{Name: &name, BlockTypeID: bt.ID, BlockSchemaID: schemas[0].ID, Data: data}
	if err := u.Store.CreateBlockDocument(ctx, ws, d); err != nil {
		return uuid.Nil, fmt.Errorf("create a %s block: %w", slug, err)
	}
	return d.ID, nil
}

// blockName makes a block document name (lower-case letters, digits and
// dashes) of an automation's name.
func blockName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	if out := strings.Trim(b.String(), "-"); out != "" {
		return out
	}
	return "automation"
}

// randomSuffix keeps block names of automations of the same name apart.
func randomSuffix() string { return uuid.NewString()[:8] }
