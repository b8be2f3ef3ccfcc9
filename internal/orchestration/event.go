package orchestration

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
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

// TaskRunStateEvent is the event of a task run orchestrated over REST
// entering a state: prefect.task-run.<state name>, whose id is the state's
// id, shaped as the client's own task-run events but labelled
// prefect.orchestration=server, so the task-run recorder (which records
// only the client's) leaves it alone. Its related resources are the flow
// run and what that run relates to, and the tags. Prefect's open-source
// server emits none for these runs; automations on task runs need them.
func TaskRunStateEvent(run *model.TaskRun, flowRun *model.FlowRun, flow *model.Flow, initial, validated *model.State, received model.Time) *model.Event {
	resource := model.Resource{
		"prefect.resource.id":     model.TaskRunResource + run.ID.String(),
		"prefect.resource.name":   run.Name,
		"prefect.run-count":       strconv.Itoa(run.RunCount),
		"prefect.state-message":   truncate(validated.Message),
		"prefect.state-name":      validated.Name,
		"prefect.state-timestamp": isoformat(validated.Timestamp),
		"prefect.state-type":      string(validated.Type),
		"prefect.orchestration":   "server",
	}
	related := []model.Resource{}
	if flowRun != nil {
		related = append(related, model.Resource{"prefect.resource.id": model.FlowRunResource + flowRun.ID.String(),
			"prefect.resource.role": "flow-run", "prefect.resource.name": flowRun.Name})
		if flow != nil {
			related = append(related, model.Resource{"prefect.resource.id": "prefect.flow." + flow.ID.String(),
				"prefect.resource.role": "flow", "prefect.resource.name": flow.Name})
		}
		if flowRun.WorkQueueID != nil && flowRun.WorkQueueName != nil {
			related = append(related, model.Resource{"prefect.resource.id": "prefect.work-queue." + flowRun.WorkQueueID.String(),
				"prefect.resource.role": "work-queue", "prefect.resource.name": *flowRun.WorkQueueName})
		}
		if flowRun.WorkPoolID != nil && flowRun.WorkPoolName != nil {
			related = append(related, model.Resource{"prefect.resource.id": "prefect.work-pool." + flowRun.WorkPoolID.String(),
				"prefect.resource.role": "work-pool", "prefect.resource.name": *flowRun.WorkPoolName})
		}
	}
	related = append(related, tagResources(run.Tags)...)
	body, _ := json.Marshal(map[string]any{ // maps of strings always encode
		"intended":        map[string]any{"from": stateType(initial), "to": stateType(validated)},
		"initial_state":   statePayload(initial),
		"validated_state": statePayload(validated),
	})
	e := &model.Event{ID: validated.ID, Occurred: validated.Timestamp, Event: model.TaskRunResource + validated.Name,
		Resource: resource, Related: related, Payload: body, Received: received}
	if initial != nil {
		if d := validated.Timestamp.Sub(initial.Timestamp.Time); d > -5*time.Minute && d < 5*time.Minute {
			id := initial.ID
			e.Follows = &id
		}
	}
	return e
}

// tagResources are tags as related resources, sorted and without repeats.
func tagResources(tags []string) []model.Resource {
	set := map[string]bool{}
	for _, t := range tags {
		set[t] = true
	}
	out := []model.Resource{}
	for _, t := range sortedKeys(set) {
		out = append(out, model.Resource{"prefect.resource.id": "prefect.tag." + t, "prefect.resource.role": "tag"})
	}
	return out
}

// kebab writes a status as Prefect names it in event names: NOT_READY is
// not-ready.
func kebab(status string) string {
	return strings.ReplaceAll(strings.ToLower(status), "_", "-")
}

// DeploymentEvent is one of the events Prefect's server emits about a
// deployment, prefect.deployment.<what> (ready, not-ready, created,
// updated, deleted), with the deployment as resource and its flow, work
// queue, work pool, storage and infrastructure blocks and concurrency limit
// as related resources. queue and pool may be nil; payload may be empty.
func DeploymentEvent(what string, d *model.Deployment, flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, payload []byte, at model.Time) *model.Event {
	related := []model.Resource{}
	if flow != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.flow." + flow.ID.String(),
			"prefect.resource.name": flow.Name, "prefect.resource.role": "flow"})
	}
	if queue != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.work-queue." + queue.ID.String(),
			"prefect.resource.name": queue.Name, "prefect.resource.role": "work-queue"})
	}
	if pool != nil {
		related = append(related, workPoolRelated(pool))
	}
	if d.StorageDocumentID != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.block-document." + d.StorageDocumentID.String(),
			"prefect.resource.role": "storage"})
	}
	if d.InfrastructureDocumentID != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.block-document." + d.InfrastructureDocumentID.String(),
			"prefect.resource.role": "infrastructure"})
	}
	if d.GlobalConcurrencyLimit != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.concurrency-limit." + d.GlobalConcurrencyLimit.ID.String(),
			"prefect.resource.role": "concurrency-limit"})
	}
	return &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: at, Received: at, Event: "prefect.deployment." + what,
		Resource: model.Resource{"prefect.resource.id": "prefect.deployment." + d.ID.String(), "prefect.resource.name": d.Name},
		Related:  related, Payload: payload}
}

// DeploymentStatusEvent is prefect.deployment.ready or .not-ready, for a
// deployment whose status just changed to d.Status.
func DeploymentStatusEvent(d *model.Deployment, flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, at model.Time) *model.Event {
	return DeploymentEvent(kebab(d.Status), d, flow, queue, pool, nil, at)
}

// WorkPoolStatusEvent is prefect.work-pool.<status> (ready, not-ready,
// paused), for a pool whose status just changed to p.Status, or that was
// just created with it.
func WorkPoolStatusEvent(p *model.WorkPool, at model.Time) *model.Event {
	return &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: at, Received: at, Event: "prefect.work-pool." + kebab(p.Status),
		Resource: model.Resource{"prefect.resource.id": "prefect.work-pool." + p.ID.String(),
			"prefect.resource.name": p.Name, "prefect.work-pool.type": p.Type},
		Related: []model.Resource{}}
}

// WorkQueueStatusEvent is prefect.work-queue.<status> (ready, not-ready,
// paused), for a queue of pool whose status just changed to q.Status.
func WorkQueueStatusEvent(q *model.WorkQueue, pool *model.WorkPool, at model.Time) *model.Event {
	related := []model.Resource{}
	if pool != nil {
		related = append(related, workPoolRelated(pool))
	}
	return &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: at, Received: at, Event: "prefect.work-queue." + kebab(q.Status),
		Resource: model.Resource{"prefect.resource.id": "prefect.work-queue." + q.ID.String(),
			"prefect.resource.name": q.Name, "prefect.resource.role": "work-queue"},
		Related: related}
}

func workPoolRelated(p *model.WorkPool) model.Resource {
	return model.Resource{"prefect.resource.id": "prefect.work-pool." + p.ID.String(), "prefect.resource.name": p.Name,
		"prefect.work-pool.type": p.Type, "prefect.resource.role": "work-pool"}
}
