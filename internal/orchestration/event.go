package orchestration

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/praetorhq/praetor/internal/model"
)

// maxStateMessage bounds the state message copied into an event, as
// Prefect's server does, so large error texts don't bloat events.
const maxStateMessage = 100_000

// FlowRunStateEvent is the event Prefect's server emits when a flow run
// enters a state: prefect.flow-run.<state name>, whose id is the state's id,
// with the run as resource and its flow, parent task run, work queue, work
// pool and tags as related resources. Workers and runners watch these on
// /events/out (for cancellation, for instance). received is when the server
// made it, from the store's clock.
func FlowRunStateEvent(run *model.FlowRun, flow *model.Flow, parentTask *model.TaskRun, initial, validated *model.State, received model.Time) *model.Event {
	resource := model.Resource{
		"prefect.resource.id":     model.FlowRunResource + run.ID.String(),
		"prefect.resource.name":   run.Name,
		"prefect.run-count":       strconv.Itoa(run.RunCount),
		"prefect.state-message":   truncate(validated.Message),
		"prefect.state-name":      validated.Name,
		"prefect.state-timestamp": isoformat(validated.Timestamp),
		"prefect.state-type":      string(validated.Type),
	}
	related := []model.Resource{}
	tags := map[string]bool{}
	for _, t := range run.Tags {
		tags[t] = true
	}
	if flow != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.flow." + flow.ID.String(),
			"prefect.resource.role": "flow", "prefect.resource.name": flow.Name})
		for _, t := range flow.Tags {
			tags[t] = true
		}
	}
	if run.WorkQueueID != nil && run.WorkQueueName != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.work-queue." + run.WorkQueueID.String(),
			"prefect.resource.role": "work-queue", "prefect.resource.name": *run.WorkQueueName})
	}
	if run.WorkPoolID != nil && run.WorkPoolName != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.work-pool." + run.WorkPoolID.String(),
			"prefect.resource.role": "work-pool", "prefect.resource.name": *run.WorkPoolName})
	}
	if parentTask != nil {
		related = append(related, model.Resource{"prefect.resource.id": model.TaskRunResource + parentTask.ID.String(),
			"prefect.resource.role": "task-run", "prefect.resource.name": parentTask.Name})
		for _, t := range parentTask.Tags {
			tags[t] = true
		}
	}
	for _, t := range sortedKeys(tags) {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.tag." + t, "prefect.resource.role": "tag"})
	}
	payload := map[string]any{
		"intended":        map[string]any{"from": stateType(initial), "to": stateType(validated)},
		"initial_state":   statePayload(initial),
		"validated_state": statePayload(validated),
	}
	body, _ := json.Marshal(payload) // maps of strings always encode
	e := &model.Event{ID: validated.ID, Occurred: validated.Timestamp, Event: "prefect.flow-run." + validated.Name,
		Resource: resource, Related: related, Payload: body, Received: received}
	// Like Prefect, link to the previous state's event only when the two
	// are close enough in time for the order to be in doubt.
	if initial != nil {
		if d := validated.Timestamp.Sub(initial.Timestamp.Time); d > -5*time.Minute && d < 5*time.Minute {
			id := initial.ID
			e.Follows = &id
		}
	}
	return e
}

// isoformat writes a time as Python's datetime.isoformat does for UTC:
// microseconds unless they are zero, and a +00:00 offset.
func isoformat(t model.Time) string {
	if t.Nanosecond()/1000 == 0 {
		return t.UTC().Format("2006-01-02T15:04:05+00:00")
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

func stateType(s *model.State) any {
	if s == nil {
		return nil
	}
	return string(s.Type)
}

// statePayload is the essential, string-only part of a state for events.
func statePayload(s *model.State) map[string]string {
	if s == nil {
		return nil
	}
	p := map[string]string{"type": string(s.Type)}
	if s.Name != "" {
		p["name"] = s.Name
	}
	if m := truncate(s.Message); m != "" {
		p["message"] = m
	}
	if s.Type == model.Paused {
		p["pause_reschedule"] = strconv.FormatBool(s.StateDetails.PauseReschedule)
	}
	return p
}

func truncate(msg *string) string {
	if msg == nil {
		return ""
	}
	if len(*msg) > maxStateMessage {
		return (*msg)[:maxStateMessage]
	}
	return *msg
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
