package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// automation creates an automation from its JSON (Prefect's shape).
func (h *harness) automation(ws uuid.UUID, doc string, owner string) *model.Automation {
	h.t.Helper()
	var a model.Automation
	h.must(json.Unmarshal([]byte(doc), &a), "decode automation")
	a.Enabled = true
	h.must(automations.Prepare(&a), "prepare automation")
	h.must(h.s.CreateAutomation(h.ctx, ws, &a, owner), "create automation")
	return &a
}

func (h *harness) named(ws uuid.UUID, name string) *model.Automation {
	return h.automation(ws, `{"name": "`+name+`", "tags": ["t"], "trigger": {"posture": "Reactive", "expect": ["prefect.flow-run.Failed"]}, "actions": [{"type": "do-nothing"}]}`, "")
}

func testCreateAutomation(t *testing.T, h *harness) {
	ws := h.ws()
	dep := uuid.New()
	a := h.automation(ws, `{"name": "a", "trigger": {"type": "compound", "require": "any", "within": 60, "triggers": [
		{"posture": "Proactive", "expect": ["x.*"], "match_related": [{"prefect.resource.role": "flow"}], "within": 30}]},
		"actions": [{"type": "run-deployment", "source": "selected", "deployment_id": "`+dep.String()+`"}]}`, "prefect.deployment.owner")
	if a.ID == uuid.Nil || a.Created.IsZero() {
		t.Fatalf("created: %+v", a)
	}
	got, err := h.s.GetAutomation(h.ctx, ws, a.ID)
	h.must(err, "get automation")
	want, _ := json.Marshal(a)
	have, _ := json.Marshal(got)
	if string(want) != string(have) {
		t.Errorf("read back:\n%s\nwant\n%s", have, want)
	}
	// Related to the deployment it runs and to its owner.
	for _, r := range []string{"prefect.deployment." + dep.String(), "prefect.deployment.owner"} {
		rel, err := h.s.AutomationsRelatedTo(h.ctx, ws, r)
		if err != nil || len(rel) != 1 || rel[0].ID != a.ID {
			t.Errorf("related to %s: %v (%v)", r, rel, err)
		}
	}
}

func testGetAutomation(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.named(ws, "a")
	if got, err := h.s.GetAutomation(h.ctx, ws, a.ID); err != nil || got.Name != "a" || !got.Enabled || got.Trigger.Posture != "Reactive" {
		t.Errorf("get: %+v (%v)", got, err)
	}
	_, err := h.s.GetAutomation(h.ctx, other, a.ID)
	h.wantNotFound(err, "another workspace's automation")
}

func testListAutomations(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	b := h.named(ws, "b")
	h.named(ws, "a")
	h.named(other, "theirs")
	names := func(q store.AutomationQuery) []string {
		list, err := h.s.ListAutomations(h.ctx, ws, q)
		h.must(err, "list automations")
		var out []string
		for _, x := range list {
			out = append(out, x.Name)
		}
		return out
	}
	if got := names(store.AutomationQuery{}); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("by name: %v", got)
	}
	if got := names(store.AutomationQuery{Sort: "NAME_DESC", Limit: 1}); !slices.Equal(got, []string{"b"}) {
		t.Errorf("NAME_DESC, 1: %v", got)
	}
	if got := names(store.AutomationQuery{Automations: &store.AutomationFilter{ID: &store.IDFilter{Any: []uuid.UUID{b.ID}}}}); !slices.Equal(got, []string{"b"}) {
		t.Errorf("by id: %v", got)
	}
	if got := names(store.AutomationQuery{Automations: &store.AutomationFilter{Name: &store.NameFilter{Any: []string{"a"}}}}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("by name filter: %v", got)
	}
	if got := names(store.AutomationQuery{Automations: &store.AutomationFilter{Tags: &store.TagsFilter{All: []string{"t"}}}}); len(got) != 2 {
		t.Errorf("by tag: %v", got)
	}
}

func testCountAutomations(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	h.named(ws, "a")
	h.named(ws, "b")
	h.named(other, "c")
	if n, err := h.s.CountAutomations(h.ctx, ws, store.AutomationQuery{}); err != nil || n != 2 {
		t.Errorf("count: %d (%v)", n, err)
	}
}

func testUpdateAutomation(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.named(ws, "a")
	a.Name, a.Description = "renamed", "now"
	h.must(h.s.UpdateAutomation(h.ctx, ws, a), "update automation")
	got, err := h.s.GetAutomation(h.ctx, ws, a.ID)
	if err != nil || got.Name != "renamed" || got.Description != "now" || !got.Created.Equal(a.Created.Time) {
		t.Errorf("updated: %+v (%v)", got, err)
	}
	h.wantNotFound(h.s.UpdateAutomation(h.ctx, other, a), "update of another workspace's automation")
}

func testSetAutomationEnabled(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.named(ws, "a")
	h.must(h.s.SetAutomationEnabled(h.ctx, ws, a.ID, false), "disable")
	if got, _ := h.s.GetAutomation(h.ctx, ws, a.ID); got.Enabled {
		t.Errorf("still enabled")
	}
	h.wantNotFound(h.s.SetAutomationEnabled(h.ctx, other, a.ID, true), "enabling another workspace's automation")
}

func testDeleteAutomation(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.named(ws, "a")
	h.wantNotFound(h.s.DeleteAutomation(h.ctx, other, a.ID), "delete of another workspace's automation")
	h.must(h.s.DeleteAutomation(h.ctx, ws, a.ID), "delete")
	_, err := h.s.GetAutomation(h.ctx, ws, a.ID)
	h.wantNotFound(err, "a deleted automation")
}

func testAutomationsRelatedTo(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.automation(ws, `{"name": "a", "trigger": {"posture": "Reactive"}, "actions": []}`, "prefect.deployment.x")
	if rel, err := h.s.AutomationsRelatedTo(h.ctx, ws, "prefect.deployment.x"); err != nil || len(rel) != 1 || rel[0].ID != a.ID {
		t.Errorf("related: %v (%v)", rel, err)
	}
	if rel, _ := h.s.AutomationsRelatedTo(h.ctx, other, "prefect.deployment.x"); len(rel) != 0 {
		t.Errorf("another workspace sees %v", rel)
	}
}

func testDeleteAutomationsOwnedBy(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	owned := h.automation(ws, `{"name": "owned", "trigger": {"posture": "Reactive"}, "actions": []}`, "prefect.deployment.x")
	theirs := h.automation(other, `{"name": "theirs", "trigger": {"posture": "Reactive"}, "actions": []}`, "prefect.deployment.x")
	free := h.named(ws, "free")
	// Only those created before the time given go.
	h.must(h.s.DeleteAutomationsOwnedBy(h.ctx, ws, "prefect.deployment.x", owned.Created.Add(-time.Second)), "delete none")
	if _, err := h.s.GetAutomation(h.ctx, ws, owned.ID); err != nil {
		t.Errorf("an automation created after the time went: %v", err)
	}
	h.must(h.s.DeleteAutomationsOwnedBy(h.ctx, ws, "prefect.deployment.x", time.Now().Add(time.Hour)), "delete owned")
	_, err := h.s.GetAutomation(h.ctx, ws, owned.ID)
	h.wantNotFound(err, "the owned automation")
	for _, keep := range []struct {
		ws uuid.UUID
		a  *model.Automation
	}{{ws, free}, {other, theirs}} {
		if _, err := h.s.GetAutomation(h.ctx, keep.ws, keep.a.ID); err != nil {
			t.Errorf("%s went too: %v", keep.a.Name, err)
		}
	}
}

// queuedEvent stores one event of ws through the ingest path.
func (h *harness) queuedEvent(ws uuid.UUID, name string) *model.Event {
	e := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: model.At(time.Now()), Event: name, Received: model.At(time.Now()),
		Resource: model.Resource{"prefect.resource.id": "prefect.flow-run." + uuid.NewString()}, Related: []model.Resource{}, Payload: json.RawMessage(`{}`)}
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{e}, nil), "ingest event")
	return e
}

// evaluateOwn drains the queue, evaluating ws's events (other contracts'
// workspaces queue none: only this one has automations with events).
func (h *harness) evaluateOwn(ws uuid.UUID) (seen []string) {
	for {
		n, err := h.s.EvaluateQueuedEvents(h.ctx, 10, func(ctx context.Context, w uuid.UUID, list []*model.Automation, tx automations.Tx, events []*model.Event) error {
			if w != ws {
				return nil
			}
			for _, e := range events {
				seen = append(seen, e.Event)
				for _, a := range list {
					ev := automations.Evaluator{Tx: tx, Automation: a, Now: time.Now}
					if err := ev.Event(ctx, e); err != nil {
						return err
					}
				}
			}
			return nil
		})
		h.must(err, "evaluate queued events")
		if n < 10 {
			return seen
		}
	}
}

// Events are queued only while the workspace has an enabled automation,
// evaluated once each, and their firings queue the automation's actions
// with a prefect.automation.triggered event.
func testEvaluateQueuedEvents(t *testing.T, h *harness) {
	ws := h.ws()
	h.queuedEvent(ws, "prefect.flow-run.Failed") // before any automation: not queued
	a := h.named(ws, "a")
	h.queuedEvent(ws, "prefect.flow-run.Running")
	h.queuedEvent(ws, "prefect.flow-run.Failed")
	h.queuedEvent(ws, "prefect.log.write")
	if seen := h.evaluateOwn(ws); !slices.Equal(seen, []string{"prefect.flow-run.Running", "prefect.flow-run.Failed"}) {
		t.Errorf("evaluated %v", seen)
	}
	// The firing's own triggered event was queued and is seen next; the
	// queue then stays empty.
	if seen := h.evaluateOwn(ws); !slices.Equal(seen, []string{"prefect.automation.triggered"}) {
		t.Errorf("evaluated next %v", seen)
	}
	if seen := h.evaluateOwn(ws); len(seen) != 0 {
		t.Errorf("evaluated again %v", seen)
	}
	actions, err := h.s.ListTriggeredActions(h.ctx, ws, a.ID, 10)
	h.must(err, "list triggered actions")
	if len(actions) != 1 || actions[0].State != model.ActionPending || actions[0].Action.Type != model.ActionDoNothing ||
		actions[0].TriggeringEvent == nil || actions[0].TriggeringEvent.Event != "prefect.flow-run.Failed" {
		t.Errorf("actions: %+v", actions)
	}
}

// A proactive trigger's window survives between passes in the store and
// fires once when it ends without its event.
func testEvaluateProactive(t *testing.T, h *harness) {
	ws := h.ws()
	a := h.automation(ws, `{"name": "quiet", "trigger": {"posture": "Proactive", "expect": ["never.*"], "within": 10}, "actions": [{"type": "do-nothing"}]}`, "")
	pass := func(at time.Time) {
		h.must(h.s.EvaluateProactive(h.ctx, func(ctx context.Context, w uuid.UUID, list []*model.Automation, tx automations.Tx) error {
			if w != ws {
				return nil
			}
			for _, x := range list {
				ev := automations.Evaluator{Tx: tx, Automation: x, Now: func() time.Time { return at }}
				if _, err := ev.Proactive(ctx, x.Trigger, at); err != nil {
					return err
				}
			}
			return nil
		}), "evaluate proactive")
	}
	t0 := time.Now()
	pass(t0)
	pass(t0.Add(5 * time.Second))
	if actions, _ := h.s.ListTriggeredActions(h.ctx, ws, a.ID, 10); len(actions) != 0 {
		t.Fatalf("fired within its window: %v", actions)
	}
	pass(t0.Add(11 * time.Second))
	pass(t0.Add(12 * time.Second))
	if actions, _ := h.s.ListTriggeredActions(h.ctx, ws, a.ID, 10); len(actions) != 1 {
		t.Errorf("fired %d times after its window", len(actions))
	}
}

func (h *harness) pendingAction(ws uuid.UUID) (*model.Automation, *model.TriggeredAction) {
	a := h.named(ws, "a")
	h.queuedEvent(ws, "prefect.flow-run.Failed")
	h.evaluateOwn(ws)
	actions, err := h.s.ListTriggeredActions(h.ctx, ws, a.ID, 10)
	h.must(err, "list triggered actions")
	if len(actions) != 1 {
		h.t.Fatalf("actions: %v", actions)
	}
	return a, actions[0]
}

func testListTriggeredActions(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a, ta := h.pendingAction(ws)
	if got, _ := h.s.ListTriggeredActions(h.ctx, other, a.ID, 10); len(got) != 0 {
		t.Errorf("another workspace lists %v", got)
	}
	if ta.AutomationID != a.ID || ta.TriggeredEventID == nil {
		t.Errorf("action: %+v", ta)
	}
}

func testDueActions(t *testing.T, h *harness) {
	ws := h.ws()
	_, ta := h.pendingAction(ws)
	due := func(at time.Time) bool {
		list, err := h.s.DueActions(h.ctx, at, 1000)
		h.must(err, "due actions")
		return slices.ContainsFunc(list, func(wa store.WorkspaceAction) bool { return wa.Action.ID == ta.ID && wa.Workspace == ws })
	}
	if !due(time.Now().Add(time.Second)) || due(ta.Triggered.Add(-time.Minute)) {
		t.Errorf("due: now %v, a minute before it fired %v", due(time.Now()), due(ta.Triggered.Add(-time.Minute)))
	}
}

func testRecordAction(t *testing.T, h *harness) {
	ws := h.ws()
	_, ta := h.pendingAction(ws)
	msg := "receiver down"
	ta.Attempts, ta.LastError, ta.NextAttempt = 1, &msg, model.At(time.Now().Add(time.Hour)).Ptr()
	ok, err := h.s.RecordAction(h.ctx, ws, ta, nil)
	if err != nil || !ok {
		t.Fatalf("record a retry: %v %v", ok, err)
	}
	ta.State, ta.Finished, ta.NextAttempt = model.ActionExecuted, model.At(time.Now()).Ptr(), nil
	done := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: model.At(time.Now()), Event: "prefect.automation.action.executed",
		Resource: model.Resource{"prefect.resource.id": "prefect.automation.x"}, Received: model.At(time.Now())}
	if ok, err := h.s.RecordAction(h.ctx, ws, ta, []*model.Event{done}); err != nil || !ok {
		t.Fatalf("record the success: %v %v", ok, err)
	}
	// Done: a second outcome is refused and stores nothing.
	late := *done
	late.ID = uuid.Must(uuid.NewV7())
	if ok, err := h.s.RecordAction(h.ctx, ws, ta, []*model.Event{&late}); err != nil || ok {
		t.Errorf("recording a finished action again: %v %v", ok, err)
	}
	list, _ := h.s.ListTriggeredActions(h.ctx, ws, ta.AutomationID, 10)
	if len(list) != 1 || list[0].State != model.ActionExecuted || list[0].Attempts != 1 || list[0].LastError == nil {
		t.Errorf("recorded: %+v", list)
	}
	events, _, err := h.s.ListEvents(h.ctx, ws, store.EventQuery{Limit: 50})
	h.must(err, "list events")
	n := 0
	for _, e := range events {
		if e.Event == "prefect.automation.action.executed" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d executed events stored, want 1", n)
	}
}
