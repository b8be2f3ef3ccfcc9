// Package events ingests Prefect events, records the task runs they describe,
// and fans them out to live subscribers.
package events

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// taskRunPayload is the part of a client task-run event the recorder reads.
type taskRunPayload struct {
	ValidatedState *struct {
		Type         model.StateType    `json:"type"`
		Name         string             `json:"name"`
		Message      *string            `json:"message"`
		StateDetails model.StateDetails `json:"state_details"`
		Data         json.RawMessage    `json:"data"`
	} `json:"validated_state"`
	TaskRun *model.TaskRun `json:"task_run"`
}

// TaskRunRecord derives the task run and state a 3.x client reports in a
// prefect.task-run.* event, as Prefect's task-run recorder does. It returns
// ok false for events that are not client-orchestrated task-run state events
// (2.x clients send those without the orchestration label, and create their
// task runs over REST instead).
func TaskRunRecord(e *model.Event) (rec store.TaskRunRecord, ok bool, err error) {
	if !strings.HasPrefix(e.Event, "prefect.task-run.") || e.Resource["prefect.orchestration"] != "client" {
		return rec, false, nil
	}
	id, err := uuid.Parse(strings.TrimPrefix(e.Resource.ID(), model.TaskRunResource))
	if err != nil || !strings.HasPrefix(e.Resource.ID(), model.TaskRunResource) {
		return rec, false, fmt.Errorf("task run event %s: resource id %q is not a task run", e.ID, e.Resource.ID())
	}
	var p taskRunPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		return rec, false, fmt.Errorf("task run event %s: payload: %w", e.ID, err)
	}
	if p.ValidatedState == nil || p.TaskRun == nil || !p.ValidatedState.Type.Valid() {
		return rec, false, fmt.Errorf("task run event %s: payload lacks validated_state or task_run", e.ID)
	}
	r := p.TaskRun
	r.ID = id
	r.FlowRunID = nil
	if s, found := e.RelatedID("flow-run", model.FlowRunResource); found {
		if fr, err := uuid.Parse(s); err == nil {
			r.FlowRunID = &fr
		}
	}
	vs := p.ValidatedState
	st := &model.State{ID: e.ID, Type: vs.Type, Name: vs.Name, Timestamp: e.Occurred, Message: vs.Message,
		Data: vs.Data, StateDetails: vs.StateDetails}
	if st.Name == "" {
		st.Name = st.Type.DefaultName()
	}
	st.StateDetails.TaskRunID = &r.ID
	st.StateDetails.FlowRunID = r.FlowRunID
	typ, name := st.Type, st.Name
	r.StateID, r.StateType, r.StateName, r.StateTimestamp, r.State = &st.ID, &typ, &name, st.Timestamp.Ptr(), st
	return store.TaskRunRecord{Run: r, State: st}, true, nil
}
