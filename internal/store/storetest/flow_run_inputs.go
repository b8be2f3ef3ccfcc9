package storetest

import (
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// flowRunInput stores value under key for the run.
func (h *harness) flowRunInput(ws, run uuid.UUID, key, value string) *model.FlowRunInput {
	h.t.Helper()
	in := &model.FlowRunInput{FlowRunID: run, Key: key, Value: value}
	h.must(h.s.CreateFlowRunInput(h.ctx, ws, in), "create flow run input "+key)
	return in
}

// inputKeys lists the keys of a run's inputs under prefix, in order.
func (h *harness) inputKeys(ws, run uuid.UUID, prefix string, exclude []string, limit int) []string {
	h.t.Helper()
	ins, err := h.s.ListFlowRunInputs(h.ctx, ws, run, prefix, exclude, limit)
	h.must(err, "list flow run inputs")
	keys := make([]string, len(ins))
	for i, in := range ins {
		keys[i] = in.Key
	}
	return keys
}

func testCreateFlowRunInput(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	run := h.flowRun(ws, flow.ID, "run", state(model.Running))
	sibling := h.flowRun(ws, flow.ID, "sibling", state(model.Running))
	sender := "prefect.flow-run.x"
	in := &model.FlowRunInput{FlowRunID: run.ID, Key: "k-1", Value: `{"a": [1, "é"]}`, Sender: &sender}
	h.must(h.s.CreateFlowRunInput(h.ctx, ws, in), "create")
	if in.ID == uuid.Nil || in.Created.IsZero() || !in.Created.Equal(in.Updated.Time) {
		t.Errorf("created %+v", in)
	}
	got, err := h.s.GetFlowRunInput(h.ctx, ws, run.ID, "k-1")
	h.must(err, "get")
	if got.ID != in.ID || got.FlowRunID != run.ID || got.Value != in.Value || got.Sender == nil || *got.Sender != sender || !got.Created.Equal(in.Created.Time) {
		t.Errorf("stored %+v", got)
	}
	// Text that is not JSON is kept as sent; no sender reads back as nil.
	h.flowRunInput(ws, run.ID, "plain", "not json")
	if got, err := h.s.GetFlowRunInput(h.ctx, ws, run.ID, "plain"); err != nil || got.Value != "not json" || got.Sender != nil {
		t.Errorf("plain text input: %+v (%v)", got, err)
	}
	// A key is unique within its run, and only there.
	h.wantCode(h.s.CreateFlowRunInput(h.ctx, ws, &model.FlowRunInput{FlowRunID: run.ID, Key: "k-1", Value: "2"}), apperr.EConflict, "a taken key")
	if got, _ := h.s.GetFlowRunInput(h.ctx, ws, run.ID, "k-1"); got == nil || got.Value != in.Value {
		t.Errorf("a refused duplicate changed the input: %+v", got)
	}
	h.flowRunInput(ws, sibling.ID, "k-1", "3")
	// An unknown run, or one of another workspace, is not found.
	h.wantNotFound(h.s.CreateFlowRunInput(h.ctx, ws, &model.FlowRunInput{FlowRunID: newID(), Key: "x", Value: "1"}), "an unknown run")
	h.wantNotFound(h.s.CreateFlowRunInput(h.ctx, other, &model.FlowRunInput{FlowRunID: run.ID, Key: "x", Value: "1"}), "a run of another workspace")
	if keys := h.inputKeys(ws, run.ID, "", nil, 10); !slices.Equal(keys, []string{"k-1", "plain"}) {
		t.Errorf("inputs after refusals: %v", keys)
	}
	// The inputs go with their run.
	h.must(store.DeleteOne(h.s.DeleteFlowRuns)(h.ctx, ws, run.ID), "delete run")
	h.wantNotFound(func() error { _, err := h.s.GetFlowRunInput(h.ctx, ws, run.ID, "k-1"); return err }(), "an input of a deleted run")
}

func testGetFlowRunInput(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	run := h.flowRun(ws, h.flow(ws, "etl").ID, "run", state(model.Running))
	h.flowRunInput(ws, run.ID, "k", `"v"`)
	if got, err := h.s.GetFlowRunInput(h.ctx, ws, run.ID, "k"); err != nil || got.Key != "k" || got.Value != `"v"` {
		t.Errorf("get: %+v (%v)", got, err)
	}
	for what, get := range map[string]func() error{
		"an unknown key":              func() error { _, err := h.s.GetFlowRunInput(h.ctx, ws, run.ID, "K"); return err },
		"an unknown run":              func() error { _, err := h.s.GetFlowRunInput(h.ctx, ws, newID(), "k"); return err },
		"through another workspace":   func() error { _, err := h.s.GetFlowRunInput(h.ctx, other, run.ID, "k"); return err },
		"a prefix of an existing key": func() error { _, err := h.s.GetFlowRunInput(h.ctx, ws, run.ID, ""); return err },
	} {
		h.wantNotFound(get(), what)
	}
}

func testListFlowRunInputs(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	run := h.flowRun(ws, flow.ID, "run", state(model.Running))
	sibling := h.flowRun(ws, flow.ID, "sibling", state(model.Running))
	for _, k := range []string{"paused-1-schema", "paused-1-response", "msg-2", "msg-1", "paused-10-schema"} {
		h.flowRunInput(ws, run.ID, k, "1")
	}
	h.flowRunInput(ws, sibling.ID, "paused-1-other", "1")
	for _, c := range []struct {
		prefix  string
		exclude []string
		limit   int
		want    []string
	}{
		{"paused-1", nil, 10, []string{"paused-1-schema", "paused-1-response", "paused-10-schema"}},
		{"paused-1-", nil, 10, []string{"paused-1-schema", "paused-1-response"}},
		{"paused-1", []string{"paused-1-schema"}, 10, []string{"paused-1-response", "paused-10-schema"}},
		{"paused", nil, 1, []string{"paused-1-schema"}},
		{"msg-", nil, 10, []string{"msg-2", "msg-1"}},
		{"", []string{"msg-2", "msg-1"}, 10, []string{"paused-1-schema", "paused-1-response", "paused-10-schema"}},
		// A prefix is text, not a pattern.
		{"paused_1", nil, 10, []string{}},
		{"%", nil, 10, []string{}},
		{"PAUSED", nil, 10, []string{}},
	} {
		if got := h.inputKeys(ws, run.ID, c.prefix, c.exclude, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("prefix %q exclude %v limit %d: %v, want %v", c.prefix, c.exclude, c.limit, got, c.want)
		}
	}
	if got := h.inputKeys(other, run.ID, "", nil, 10); len(got) != 0 {
		t.Errorf("through another workspace: %v", got)
	}
	if got := h.inputKeys(ws, newID(), "", nil, 10); len(got) != 0 {
		t.Errorf("an unknown run: %v", got)
	}
}

func testDeleteFlowRunInput(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	run := h.flowRun(ws, h.flow(ws, "etl").ID, "run", state(model.Running))
	h.flowRunInput(ws, run.ID, "a", "1")
	h.flowRunInput(ws, run.ID, "b", "2")
	h.wantNotFound(h.s.DeleteFlowRunInput(h.ctx, other, run.ID, "a"), "through another workspace")
	h.wantNotFound(h.s.DeleteFlowRunInput(h.ctx, ws, run.ID, "c"), "an unknown key")
	h.must(h.s.DeleteFlowRunInput(h.ctx, ws, run.ID, "a"), "delete")
	h.wantNotFound(h.s.DeleteFlowRunInput(h.ctx, ws, run.ID, "a"), "a deleted key")
	if keys := h.inputKeys(ws, run.ID, "", nil, 10); !slices.Equal(keys, []string{"b"}) {
		t.Errorf("after deleting a: %v", keys)
	}
	// A deleted key can be used again.
	h.flowRunInput(ws, run.ID, "a", "3")
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
