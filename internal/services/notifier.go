package services

import (
	"context"
	"encoding/json"
	"net/url"
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
func (n *BlockNotifier) Notify(ctx context.Context, ws uuid.UUID, a *model.Action, vars map[string]any) error {
	doc, links, err := n.prepare(ctx, ws, a)
	if err != nil {
		return err
	}
	objects := templateObjects(vars)
	subject, err := notify.Render(a.Subject, objects, links)
	if err != nil {
		return failf("subject template: %v", err)
	}
	body, err := notify.Render(a.Body, objects, links)
	if err != nil {
		return failf("body template: %v", err)
	}
	return n.Sender.Notify(ctx, doc.BlockType.Slug, doc.Data, subject, body)
}

// CallWebhook calls an automation's webhook with its rendered payload.
func (n *BlockNotifier) CallWebhook(ctx context.Context, ws uuid.UUID, a *model.Action, vars map[string]any) error {
	doc, links, err := n.prepare(ctx, ws, a)
	if err != nil {
		return err
	}
	payload, err := notify.Render(a.Payload, templateObjects(vars), links)
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

// templateObjects turns the objects among vars into notify.Objects (their
// API answers, with what they are), so templates read their fields and
// filters know their kind.
func templateObjects(vars map[string]any) map[string]any {
	kinds := map[string]string{"flow_run": "flow-run", "flow": "flow", "deployment": "deployment", "work_queue": "work-queue",
		"work_pool": "work-pool", "automation": "automation"}
	out := make(map[string]any, len(vars))
	for name, v := range vars {
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		var fields any
		if json.Unmarshal(b, &fields) != nil {
			continue
		}
		m, isMap := fields.(map[string]any)
		kind, known := kinds[name]
		if !known || !isMap {
			out[name] = fields
			continue
		}
		id, _ := m["id"].(string)
		out[name] = notify.Object{Kind: kind, ID: id, Fields: m}
	}
	return out
}
