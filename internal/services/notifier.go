package services

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/notify"
	"github.com/praetorhq/praetor/internal/store"
)

// BlockNotifier is the Notifier of notification and webhook blocks: it
// reads the action's block document (secrets included), renders the
// action's templates and delivers them with notify.
type BlockNotifier struct {
	Store  store.Store
	Sender *notify.Sender
	// UIURL is the public URL of Praetor's UI, for the links templates
	// make (ui_url).
	UIURL string
}

// Notify sends an automation's notification.
func (n *BlockNotifier) Notify(ctx context.Context, ws uuid.UUID, a *model.Automation, ta *model.TriggeredAction) error {
	act := ta.Action
	doc, links, err := n.prepare(ctx, ws, act)
	if err != nil {
		return err
	}
	vars, err := n.templateVars(ctx, ws, a, ta, notify.Variables(act.Subject, act.Body))
	if err != nil {
		return err
	}
	subject, err := notify.Render(act.Subject, vars, links)
	if err != nil {
		return failf("subject template: %v", err)
	}
	body, err := notify.Render(act.Body, vars, links)
	if err != nil {
		return failf("body template: %v", err)
	}
	return n.Sender.Notify(ctx, doc.BlockType.Slug, doc.Data, subject, body)
}

// CallWebhook calls an automation's webhook with its rendered payload.
func (n *BlockNotifier) CallWebhook(ctx context.Context, ws uuid.UUID, a *model.Automation, ta *model.TriggeredAction) error {
	act := ta.Action
	doc, links, err := n.prepare(ctx, ws, act)
	if err != nil {
		return err
	}
	vars, err := n.templateVars(ctx, ws, a, ta, notify.Variables(act.Payload))
	if err != nil {
		return err
	}
	payload, err := notify.Render(act.Payload, vars, links)
	if err != nil {
		return failf("payload template: %v", err)
	}
	_, err = n.Sender.CallWebhook(ctx, doc.Data, payload)
	return err
}

// Permanent reports whether a delivery error will not pass.
func (n *BlockNotifier) Permanent(err error) bool { return notify.Permanent(err) }

func (n *BlockNotifier) prepare(ctx context.Context, ws uuid.UUID, a *model.Action) (*model.BlockDocument, notify.Links, error) {
	if a.BlockDocumentID == nil {
		return nil, nil, failf("the action names no block document")
	}
	doc, err := n.Store.GetBlockDocument(ctx, ws, *a.BlockDocumentID, true)
	if apperr.IsNotFound(err) {
		return nil, nil, failf("block document %s not found", *a.BlockDocumentID)
	}
	if err != nil {
		return nil, nil, err
	}
	if doc.BlockType == nil {
		return nil, nil, failf("block document %s has no block type", doc.ID)
	}
	w, err := n.Store.GetWorkspaceByID(ctx, ws)
	if err != nil {
		return nil, nil, err
	}
	base := strings.TrimSuffix(n.UIURL, "/") + "/account/" + w.AccountID.String() + "/workspace/" + w.ID.String()
	return doc, uiLinks(base), nil
}

// uiLinks are the pages of one workspace in Praetor's UI, under its base.
type uiLinks string

func (l uiLinks) UIURL(kind, id string) string {
	switch kind {
	case "flow-run", "task-run":
		return string(l) + "/runs/" + kind + "/" + id
	case "flow":
		return string(l) + "/flows/flow/" + id
	case "deployment":
		return string(l) + "/deployments/deployment/" + id
	case "automation":
		return string(l) + "/automations/automation/" + id
	}
	return ""
}

func (l uiLinks) UIEventsURL(resourceID string) string {
	return string(l) + "/events?resource=" + url.QueryEscape(resourceID)
}

// templateVars are the variables among names that a notification's
// templates read: the objects the triggering event names (its flow run,
// flow, deployment, work pool and queue), the event, the automation and
// the firing's labels. An object that is gone is left undefined.
func (n *BlockNotifier) templateVars(ctx context.Context, ws uuid.UUID, a *model.Automation, ta *model.TriggeredAction, names []string) (map[string]any, error) {
	vars := map[string]any{}
	wanted := func(name string) bool { return slices.Contains(names, name) && vars[name] == nil }
	add := func(name, kind string, id uuid.UUID, v any, err error) error {
		if err != nil {
			if apperr.IsNotFound(err) {
				return nil
			}
			return err
		}
		o, err := notify.ObjectOf(kind, id.String(), v)
		if err == nil {
			vars[name] = o
		}
		return err
	}
	if wanted("automation") {
		if err := add("automation", "automation", a.ID, a, nil); err != nil {
			return nil, err
		}
	}
	if wanted("labels") {
		labels := map[string]any{}
		for k, v := range ta.TriggeringLabels {
			labels[k] = v
		}
		vars["labels"] = labels
	}
	e := ta.TriggeringEvent
	if e == nil {
		return vars, nil
	}
	if wanted("event") {
		if o, err := notify.ObjectOf("event", e.ID.String(), e); err == nil {
			vars["event"] = o.Fields
		}
	}
	for _, r := range append([]model.Resource{e.Resource}, e.Related...) {
		rid := r.ID()
		idOf := func(prefix string) (uuid.UUID, bool) {
			id, err := uuid.Parse(strings.TrimPrefix(rid, prefix))
			return id, err == nil && strings.HasPrefix(rid, prefix)
		}
		var err error
		if id, ok := idOf(model.FlowRunResource); ok && wanted("flow_run") {
			run, gerr := n.Store.GetFlowRun(ctx, ws, id)
			err = add("flow_run", "flow-run", id, run, gerr)
		} else if id, ok := idOf(model.FlowResource); ok && wanted("flow") {
			f, gerr := n.Store.GetFlow(ctx, ws, id)
			err = add("flow", "flow", id, f, gerr)
		} else if id, ok := idOf(model.DeploymentResource); ok && wanted("deployment") {
			d, gerr := n.Store.GetDeployment(ctx, ws, id)
			err = add("deployment", "deployment", id, d, gerr)
		} else if id, ok := idOf(model.WorkQueueResource); ok && wanted("work_queue") {
			q, gerr := n.Store.GetWorkQueue(ctx, ws, id)
			err = add("work_queue", "work-queue", id, q, gerr)
		} else if id, ok := idOf(model.WorkPoolResource); ok && wanted("work_pool") && r["prefect.resource.name"] != "" {
			p, gerr := n.Store.GetWorkPool(ctx, ws, r["prefect.resource.name"])
			err = add("work_pool", "work-pool", id, p, gerr)
		}
		if err != nil {
			return nil, err
		}
	}
	return vars, nil
}
