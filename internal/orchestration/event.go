package orchestration

import (
	"encoding/json"
	"fmt"
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
// with the run as resource and its flow, deployment, work queue, work pool
// (of poolType), parent task run, tags and creator as related resources.
// Workers and runners watch these on /events/out (for cancellation, for
// instance), and automations match them by those resources. deployment
// needs only its id, name and tags. received is when the server made it,
// from the store's clock.
func FlowRunStateEvent(run *model.FlowRun, flow *model.Flow, deployment *model.Deployment, poolType string, parentTask *model.TaskRun, initial, validated *model.State, received model.Time) *model.Event {
	resource := stateResource(model.FlowRunResource+run.ID.String(), run.Name, run.RunCount, validated)
	related := []model.Resource{}
	tags := slices.Clone(run.Tags)
	if flow != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.flow." + flow.ID.String(),
			"prefect.resource.role": "flow", "prefect.resource.name": flow.Name})
		tags = append(tags, flow.Tags...)
	}
	if deployment != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.deployment." + deployment.ID.String(),
			"prefect.resource.role": "deployment", "prefect.resource.name": deployment.Name})
		tags = append(tags, deployment.Tags...)
	}
	if run.WorkQueueID != nil && run.WorkQueueName != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.work-queue." + run.WorkQueueID.String(),
			"prefect.resource.role": "work-queue", "prefect.resource.name": *run.WorkQueueName})
	}
	if run.WorkPoolID != nil && run.WorkPoolName != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.work-pool." + run.WorkPoolID.String(),
			"prefect.resource.role": "work-pool", "prefect.resource.name": *run.WorkPoolName, "prefect.work-pool.type": poolType})
	}
	if parentTask != nil {
		related = append(related, model.Resource{"prefect.resource.id": model.TaskRunResource + parentTask.ID.String(),
			"prefect.resource.role": "task-run", "prefect.resource.name": parentTask.Name})
		tags = append(tags, parentTask.Tags...)
	}
	related = append(related, tagResources(tags)...)
	if c := creatorResource(run.CreatedBy); c != nil {
		related = append(related, c)
	}
	return stateEvent(model.FlowRunResource, resource, related, initial, validated, received)
}

// stateResource is the resource of a run's state event: the run and the
// state it entered.
func stateResource(id, name string, runCount int, validated *model.State) model.Resource {
	return model.Resource{
		"prefect.resource.id":     id,
		"prefect.resource.name":   name,
		"prefect.run-count":       strconv.Itoa(runCount),
		"prefect.state-message":   truncate(validated.Message),
		"prefect.state-name":      validated.Name,
		"prefect.state-timestamp": isoformat(validated.Timestamp),
		"prefect.state-type":      string(validated.Type),
	}
}

// stateEvent is a run's state event, <prefix><state name> ("prefect.flow-run.",
// "prefect.task-run."), whose id is the state's, with the transition as its
// payload.
func stateEvent(prefix string, resource model.Resource, related []model.Resource, initial, validated *model.State, received model.Time) *model.Event {
	body, _ := json.Marshal(map[string]any{ // maps of strings always encode
		"intended":        map[string]any{"from": stateType(initial), "to": stateType(validated)},
		"initial_state":   statePayload(initial),
		"validated_state": statePayload(validated),
	})
	e := &model.Event{ID: validated.ID, Occurred: validated.Timestamp, Event: prefix + validated.Name,
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

// creatorResource is the deployment or automation that created a run, as a
// related resource of role creator; nil for anything else.
func creatorResource(by *model.CreatedBy) model.Resource {
	if by == nil || by.ID == nil || by.Type == nil {
		return nil
	}
	var r model.Resource
	switch *by.Type {
	case "DEPLOYMENT":
		r = model.Resource{"prefect.resource.id": "prefect.deployment." + by.ID.String(), "prefect.resource.role": "creator"}
	case "AUTOMATION":
		r = model.Resource{"prefect.resource.id": "prefect.automation." + by.ID.String(), "prefect.resource.role": "creator"}
	default:
		return nil
	}
	if by.DisplayValue != nil && *by.DisplayValue != "" {
		r["prefect.resource.name"] = *by.DisplayValue
	}
	return r
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
// only the client's) leaves it alone. Its related resources are those of
// the client's: the flow run, its flow, deployment, work queue and work
// pool, and the task run's tags. Prefect's open-source server emits none
// for these runs; automations on task runs need them.
func TaskRunStateEvent(run *model.TaskRun, flowRun *model.FlowRun, flow *model.Flow, deployment *model.Deployment, initial, validated *model.State, received model.Time) *model.Event {
	resource := stateResource(model.TaskRunResource+run.ID.String(), run.Name, run.RunCount, validated)
	resource["prefect.orchestration"] = "server"
	related := []model.Resource{}
	if flowRun != nil {
		related = append(related, model.Resource{"prefect.resource.id": model.FlowRunResource + flowRun.ID.String(),
			"prefect.resource.role": "flow-run", "prefect.resource.name": flowRun.Name})
		if flow != nil {
			related = append(related, model.Resource{"prefect.resource.id": "prefect.flow." + flow.ID.String(),
				"prefect.resource.role": "flow", "prefect.resource.name": flow.Name})
		}
		if deployment != nil {
			related = append(related, model.Resource{"prefect.resource.id": "prefect.deployment." + deployment.ID.String(),
				"prefect.resource.role": "deployment", "prefect.resource.name": deployment.Name})
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
	return stateEvent(model.TaskRunResource, resource, related, initial, validated, received)
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

// DeploymentChanges are the fields of a deployment Prefect's server reports
// in prefect.deployment.updated that differ between old and d, each with
// its from and to values, by Prefect's field names.
func DeploymentChanges(old, d *model.Deployment) map[string]map[string]any {
	limitID := func(d *model.Deployment) *uuid.UUID {
		if d.GlobalConcurrencyLimit == nil {
			return nil
		}
		return &d.GlobalConcurrencyLimit.ID
	}
	fields := []fieldChange{
		{"description", old.Description, d.Description},
		{"tags", old.Tags, d.Tags},
		{"parameters", old.Parameters, d.Parameters},
		{"parameter_openapi_schema", old.ParameterOpenAPISchema, d.ParameterOpenAPISchema},
		{"enforce_parameter_schema", old.EnforceParameterSchema, d.EnforceParameterSchema},
		{"entrypoint", old.Entrypoint, d.Entrypoint},
		{"path", old.Path, d.Path},
		{"pull_steps", old.PullSteps, d.PullSteps},
		{"work_queue_id", old.WorkQueueID, d.WorkQueueID},
		{"infra_overrides", old.JobVariables, d.JobVariables},
		{"paused", old.Paused, d.Paused},
		{"labels", old.Labels, d.Labels},
		{"version", old.Version, d.Version},
		{"concurrency_limit_id", limitID(old), limitID(d)},
		{"concurrency_options", old.ConcurrencyOptions, d.ConcurrencyOptions},
	}
	return changes(fields)
}

// fieldChange is one field of an object before and after a change.
type fieldChange struct {
	name     string
	from, to any
}

// changes keeps the fields whose values differ, each with its from and to.
func changes(fields []fieldChange) map[string]map[string]any {
	changed := map[string]map[string]any{}
	for _, f := range fields {
		// Compared as JSON, so an empty list and none of a stored value
		// read back alike are not a change.
		a, _ := json.Marshal(f.from)
		b, _ := json.Marshal(f.to)
		if string(a) != string(b) {
			changed[f.name] = map[string]any{"from": f.from, "to": f.to}
		}
	}
	return changed
}

// updatesPayload is the payload of Prefect's *.updated events: the names of
// the changed fields and their from and to values.
func updatesPayload(changed map[string]map[string]any) ([]byte, error) {
	names := make([]string, 0, len(changed))
	for k := range changed {
		names = append(names, k)
	}
	slices.Sort(names)
	payload, err := json.Marshal(map[string]any{"updated_fields": names, "updates": changed})
	if err != nil {
		return nil, fmt.Errorf("updated event payload: %w", err)
	}
	return payload, nil
}

// DeploymentUpdatedEvent is prefect.deployment.updated with Prefect's
// payload of the changed fields.
func DeploymentUpdatedEvent(d *model.Deployment, changed map[string]map[string]any, flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, at model.Time) (*model.Event, error) {
	payload, err := updatesPayload(changed)
	if err != nil {
		return nil, err
	}
	return DeploymentEvent("updated", d, flow, queue, pool, payload, at), nil
}

// WorkPoolChanges are the fields of a pool Prefect's server reports in
// prefect.work-pool.updated that differ between old and p (its status has
// events of its own).
func WorkPoolChanges(old, p *model.WorkPool) map[string]map[string]any {
	return changes([]fieldChange{
		{"description", old.Description, p.Description},
		{"base_job_template", old.BaseJobTemplate, p.BaseJobTemplate},
		{"concurrency_limit", old.ConcurrencyLimit, p.ConcurrencyLimit},
		{"storage_configuration", old.StorageConfiguration, p.StorageConfiguration},
	})
}

// WorkQueueChanges are the fields of a queue Prefect's server reports in
// prefect.work-queue.updated that differ between old and q.
func WorkQueueChanges(old, q *model.WorkQueue) map[string]map[string]any {
	return changes([]fieldChange{
		{"name", old.Name, q.Name},
		{"description", old.Description, q.Description},
		{"concurrency_limit", old.ConcurrencyLimit, q.ConcurrencyLimit},
		{"priority", old.Priority, q.Priority},
	})
}

// WorkPoolEvent is prefect.work-pool.created, .updated (with changed) or
// .deleted: the pool as resource, its default queue and default result
// storage block as related resources when created or deleted.
func WorkPoolEvent(what string, p *model.WorkPool, changed map[string]map[string]any, at model.Time) (*model.Event, error) {
	e := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: at, Received: at, Event: "prefect.work-pool." + what,
		Resource: workPoolRelated(p), Related: []model.Resource{}}
	if what == "updated" {
		payload, err := updatesPayload(changed)
		if err != nil {
			return nil, err
		}
		e.Payload = payload
		return e, nil
	}
	if p.DefaultQueueID != uuid.Nil {
		e.Related = append(e.Related, model.Resource{"prefect.resource.id": "prefect.work-queue." + p.DefaultQueueID.String(),
			"prefect.resource.role": "default-queue"})
	}
	if id := p.StorageConfiguration.DefaultResultStorageBlockID; id != nil {
		e.Related = append(e.Related, model.Resource{"prefect.resource.id": "prefect.block-document." + id.String(),
			"prefect.resource.role": "result-storage"})
	}
	return e, nil
}

// WorkQueueEvent is prefect.work-queue.created, .updated (with changed) or
// .deleted, with the queue's pool as related resource.
func WorkQueueEvent(what string, q *model.WorkQueue, pool *model.WorkPool, changed map[string]map[string]any, at model.Time) (*model.Event, error) {
	e := WorkQueueStatusEvent(q, pool, at)
	e.Event = "prefect.work-queue." + what
	if what == "updated" {
		payload, err := updatesPayload(changed)
		if err != nil {
			return nil, err
		}
		e.Payload = payload
	}
	return e, nil
}
