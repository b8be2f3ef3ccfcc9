package events

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func event(t *testing.T, raw string) *model.Event {
	t.Helper()
	var e model.Event
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func TestTaskRunRecord(t *testing.T) {
	tr, fr := uuid.New(), uuid.New()
	e := event(t, `{"id":"`+uuid.NewString()+`","occurred":"2026-01-01T00:00:01Z","event":"prefect.task-run.Running",
		"resource":{"prefect.resource.id":"prefect.task-run.`+tr.String()+`","prefect.orchestration":"client"},
		"related":[{"prefect.resource.id":"prefect.flow-run.`+fr.String()+`","prefect.resource.role":"flow-run"}],
		"payload":{"validated_state":{"type":"RUNNING","name":"Retrying","message":"","state_details":{}},
		"task_run":{"name":"t-abc","task_key":"t-1","dynamic_key":"abc","run_count":2,"task_inputs":{"x":[{"input_type":"task_run","id":"`+uuid.NewString()+`"}]}}}}`)
	rec, ok, err := TaskRunRecord(e)
	if err != nil || !ok {
		t.Fatalf("TaskRunRecord: %v %v", ok, err)
	}
	r, s := rec.Run, rec.State
	if r.ID != tr || r.FlowRunID == nil || *r.FlowRunID != fr || r.RunCount != 2 || len(r.TaskInputs["x"]) != 1 {
		t.Fatalf("task run %+v", r)
	}
	if s.ID != e.ID || s.Type != model.Running || s.Name != "Retrying" || !s.Timestamp.Equal(e.Occurred.Time) ||
		*s.StateDetails.TaskRunID != tr || *r.StateType != model.Running || *r.StateID != s.ID {
		t.Fatalf("state %+v", s)
	}

	// 2.x clients' task events lack the orchestration label: not ours to record.
	e.Resource["prefect.orchestration"] = ""
	if _, ok, err := TaskRunRecord(e); ok || err != nil {
		t.Fatalf("2.x event recorded: %v %v", ok, err)
	}
	e.Resource["prefect.orchestration"] = "client"
	e.Payload = json.RawMessage(`{"task_run":{}}`)
	if _, ok, err := TaskRunRecord(e); ok || err == nil {
		t.Fatal("an event without validated_state was accepted")
	}
	heartbeat := event(t, `{"event":"prefect.flow-run.heartbeat","resource":{"prefect.resource.id":"prefect.flow-run.x"}}`)
	if _, ok, _ := TaskRunRecord(heartbeat); ok {
		t.Fatal("a heartbeat was recorded as a task run")
	}
}

func TestValidate(t *testing.T) {
	good := event(t, `{"event":"x","resource":{"prefect.resource.id":"r"}}`)
	if err := Validate(good); err != nil || good.ID == uuid.Nil || good.Occurred.IsZero() || good.Received.IsZero() || good.Related == nil {
		t.Fatalf("Validate stamped %+v, %v", good, err)
	}
	for _, raw := range []string{
		`{"event":"","resource":{"prefect.resource.id":"r"}}`,
		`{"event":"x","resource":{}}`,
		`{"event":"x","resource":{"prefect.resource.id":"r"},"related":[{"prefect.resource.id":"y"}]}`,
	} {
		if err := Validate(event(t, raw)); err == nil {
			t.Errorf("Validate(%s) passed", raw)
		}
	}
}

func TestMatches(t *testing.T) {
	e := event(t, `{"event":"prefect.flow-run.Completed","occurred":"2026-01-01T00:00:00Z","resource":{"prefect.resource.id":"prefect.flow-run.1"},
		"related":[{"prefect.resource.id":"prefect.work-pool.7","prefect.resource.role":"work-pool"}]}`)
	f := func(raw string) *store.EventFilter {
		var ef store.EventFilter
		if err := json.Unmarshal([]byte(raw), &ef); err != nil {
			t.Fatal(err)
		}
		return &ef
	}
	cases := map[string]bool{
		`{}`: true,
		`{"event":{"prefix":["prefect.flow-run."]}}`:       true,
		`{"event":{"name":["prefect.flow-run.Failed"]}}`:   false,
		`{"resource":{"id":["prefect.flow-run.1"]}}`:       true,
		`{"resource":{"id_prefix":["prefect.task-run."]}}`: false,
		`{"any_resource":{"id":["prefect.work-pool.7"]}}`:  true,
		`{"any_resource":{"id":["prefect.work-pool.8"]}}`:  false,
		`{"occurred":{"since":"2026-01-02T00:00:00Z"}}`:    false,
	}
	for raw, want := range cases {
		if got := Matches(f(raw), e); got != want {
			t.Errorf("Matches(%s) = %v, want %v", raw, got, want)
		}
	}
	// The bus delivers only to subscribers of the event's workspace.
	bus := NewBus()
	ws, other := uuid.New(), uuid.New()
	mine, theirs := bus.Subscribe(ws, nil), bus.Subscribe(other, nil)
	bus.Publish(ws, []*model.Event{e})
	if len(mine.C) != 1 || len(theirs.C) != 0 {
		t.Fatalf("bus delivered %d to the workspace and %d elsewhere", len(mine.C), len(theirs.C))
	}
}

// A burst of batches as large as events/in stores (1,000 events) reaches a
// subscriber whole, up to MaxBacklog events waiting; beyond it, a batch is
// dropped, and once the subscriber has handled what waits, it receives
// again. Before, a subscriber held 256 events, so every batch larger than
// that lost its tail even to a subscriber that kept up (found by
// bench/run's subscribers workload).
func TestBusDeliversBurstsUpToTheBacklog(t *testing.T) {
	bus := NewBus()
	ws := uuid.New()
	sub := bus.Subscribe(ws, nil)
	batch := func() []*model.Event {
		out := make([]*model.Event, 1000)
		for i := range out {
			out[i] = &model.Event{ID: uuid.New(), Event: "test.burst", Resource: model.Resource{"prefect.resource.id": "test"}}
		}
		return out
	}
	for range MaxBacklog / 1000 {
		bus.Publish(ws, batch())
	}
	bus.Publish(ws, batch()) // beyond the backlog: dropped
	got := 0
	for len(sub.C) > 0 {
		b := <-sub.C
		got += len(b)
		sub.Done(len(b))
	}
	if got != MaxBacklog {
		t.Fatalf("the subscriber received %d events of a burst of %d, want %d", got, MaxBacklog+1000, MaxBacklog)
	}
	bus.Publish(ws, batch())
	if b := <-sub.C; len(b) != 1000 {
		t.Fatalf("after catching up, a batch of %d reached the subscriber", len(b))
	}
}
