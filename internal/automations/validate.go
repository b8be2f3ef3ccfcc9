// Package automations holds the rules of Prefect's automations: what makes
// an automation valid, which events a trigger covers, and how an event
// trigger counts events in its windows and fires. It is pure: the store
// keeps the state (Tx), the services feed it events and time.
package automations

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Bounds, so that one automation cannot make evaluation unbounded.
const (
	MaxNameLength   = 1000
	MaxTags         = 100
	MaxActions      = 50
	MaxTriggers     = 50 // triggers in one automation, composites included
	MaxTriggerDepth = 5
	MaxPatterns     = 100 // events in after or expect, labels in for_each
	MinProactive    = 10  // seconds: the shortest window of a proactive trigger
)

// Error is an invalid automation: what is wrong and where, as a path of
// members and indexes from the request body.
type Error struct {
	Loc []any
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%v: %s", e.Loc, e.Msg) }

func invalid(msg string, loc ...any) error { return &Error{Loc: loc, Msg: msg} }

// Prepare checks an automation as Prefect's server does on create and
// update, fills its defaults and gives its triggers fresh ids (Prefect
// ignores the ids clients send).
func Prepare(a *model.Automation) error {
	switch {
	case len(a.Name) > MaxNameLength:
		return invalid(fmt.Sprintf("String should have at most %d characters", MaxNameLength), "name")
	case len(a.Tags) > MaxTags:
		return invalid(fmt.Sprintf("List should have at most %d items after validation", MaxTags), "tags")
	case a.Trigger == nil:
		return invalid("Field required", "trigger")
	case a.Actions == nil:
		return invalid("Field required", "actions")
	}
	if a.Tags == nil {
		a.Tags = []string{}
	}
	count := 0
	if err := prepareTrigger(a.Trigger, []any{"trigger"}, 1, &count); err != nil {
		return err
	}
	for _, l := range []struct {
		name    string
		actions *[]*model.Action
	}{{"actions", &a.Actions}, {"actions_on_trigger", &a.ActionsOnTrigger}, {"actions_on_resolve", &a.ActionsOnResolve}} {
		if *l.actions == nil {
			*l.actions = []*model.Action{}
		}
		if len(*l.actions) > MaxActions {
			return invalid(fmt.Sprintf("List should have at most %d items after validation", MaxActions), l.name)
		}
		for i, act := range *l.actions {
			if err := checkAction(act, l.name, i); err != nil {
				return err
			}
		}
	}
	return checkLoops(a)
}

func prepareTrigger(t *model.Trigger, loc []any, depth int, count *int) error {
	*count++
	switch {
	case *count > MaxTriggers:
		return invalid(fmt.Sprintf("an automation may have at most %d triggers", MaxTriggers), loc...)
	case depth > MaxTriggerDepth:
		return invalid(fmt.Sprintf("triggers may nest at most %d deep", MaxTriggerDepth), loc...)
	}
	t.ID = uuid.New()
	if t.Type == model.TriggerCompound || t.Type == model.TriggerSequence {
		if t.Triggers == nil {
			return invalid("Field required", append(loc, "triggers")...)
		}
		if t.CompositeWithin != nil && *t.CompositeWithin < 0 {
			return invalid("Input should be greater than or equal to 0", append(loc, "within")...)
		}
		if t.Type == model.TriggerCompound {
			switch t.Require {
			case "":
				return invalid("Field required", append(loc, "require")...)
			case "any", "all":
			default:
				n, err := strconv.Atoi(t.Require)
				switch {
				case err != nil:
					return invalid("Input should be 'any' or 'all'", append(loc, "require")...)
				case n < 1:
					return invalid("Value error, require must be at least 1", loc...)
				case n > len(t.Triggers):
					return invalid("Value error, require must be less than or equal to the number of triggers", loc...)
				}
			}
		}
		for i, c := range t.Triggers {
			if err := prepareTrigger(c, append(loc, "triggers", i), depth+1, count); err != nil {
				return err
			}
		}
		return nil
	}
	switch t.Posture {
	case "":
		return invalid("Field required", append(loc, "posture")...)
	case model.PostureReactive, model.PostureProactive:
	case "Metric":
		return invalid("Metric triggers are not supported", append(loc, "posture")...)
	default:
		return invalid("Input should be 'Reactive' or 'Proactive'", append(loc, "posture")...)
	}
	if len(t.After) > MaxPatterns || len(t.Expect) > MaxPatterns || len(t.ForEach) > MaxPatterns {
		return invalid(fmt.Sprintf("after, expect and for_each may have at most %d items each", MaxPatterns), loc...)
	}
	if t.Within < 0 {
		return invalid("Input should be greater than or equal to 0 seconds", append(loc, "within")...)
	}
	if t.Posture == model.PostureProactive {
		if t.Within == 0 {
			t.Within = MinProactive
		} else if t.Within < MinProactive {
			return invalid("Value error, `within` for Proactive triggers must be greater than or equal to 10 seconds", loc...)
		}
	}
	if t.Match == nil {
		t.Match = model.ResourceSpec{}
	}
	return nil
}

func checkAction(a *model.Action, list string, i int) error {
	loc := []any{list, i}
	if a == nil {
		return invalid("Input should be a valid action", loc...)
	}
	if !model.KnownAction(a.Type) {
		return invalid(fmt.Sprintf("unknown action type %q", a.Type), append(loc, "type")...)
	}
	if model.ActionTakesSource(a.Type) {
		if a.Source != "selected" && a.Source != "inferred" {
			return invalid("Input should be 'selected' or 'inferred'", append(loc, "source")...)
		}
		if a.Source == "selected" {
			var id *uuid.UUID
			what := ""
			switch a.Type {
			case model.ActionRunDeployment, model.ActionPauseDeployment, model.ActionResumeDeployment:
				id, what = a.DeploymentID, "deployment_id"
			case model.ActionPauseWorkQueue, model.ActionResumeWorkQueue:
				id, what = a.WorkQueueID, "work_queue_id"
			case model.ActionPauseWorkPool, model.ActionResumeWorkPool:
				id, what = a.WorkPoolID, "work_pool_id"
			case model.ActionPauseAutomation, model.ActionResumeAutomation:
				id, what = a.AutomationID, "automation_id"
			}
			if id == nil {
				return invalid("Value error, "+what+" is required", loc...)
			}
		}
	}
	switch a.Type {
	case model.ActionRunDeployment:
		if a.ScheduleAfter < 0 {
			return invalid("Input should be greater than or equal to 0", append(loc, "schedule_after")...)
		}
	case model.ActionChangeFlowRunState:
		if a.State == "" {
			return invalid("Field required", append(loc, "state")...)
		}
		if !a.State.Valid() {
			return invalid(fmt.Sprintf("Input should be a valid state type, not %q", a.State), append(loc, "state")...)
		}
	case model.ActionSendNotification:
		if a.BlockDocumentID == nil {
			return invalid("Field required", append(loc, "block_document_id")...)
		}
		if a.Body == "" {
			return invalid("Field required", append(loc, "body")...)
		}
	case model.ActionCallWebhook:
		if a.BlockDocumentID == nil {
			return invalid("Field required", append(loc, "block_document_id")...)
		}
	}
	return nil
}

// checkLoops refuses the automations Prefect refuses because they would
// run deployments forever: a reactive trigger on the states every
// deployment run passes through that runs the deployment the run came
// from, or a selected one without narrowing the runs it reacts to.
func checkLoops(a *model.Automation) error {
	t := a.Trigger
	if !a.Enabled || t.Type != model.TriggerEvent || t.Posture != model.PostureReactive {
		return nil
	}
	problem := false
	for _, e := range t.Expect {
		switch e {
		case "prefect.flow-run.Scheduled", "prefect.flow-run.Pending", "prefect.flow-run.Running", "prefect.flow-run.*":
			problem = true
		}
	}
	if !problem {
		return nil
	}
	for _, act := range a.Actions {
		if act.Type != model.ActionRunDeployment {
			continue
		}
		if act.Source == "inferred" {
			return invalid("Value error, Running an inferred deployment from a flow run state change event will lead to an infinite loop of flow runs.  Please choose a specific deployment and add additional filtering labels to the match or match_related for this automation's trigger.")
		}
		if everyOfKind(t.Match, "prefect.flow-run") {
			related := t.MatchRelated
			if len(related) == 0 {
				related = []model.ResourceSpec{{}}
			}
			for _, r := range related {
				if everyOfKind(r, "prefect.flow-run") {
					return invalid("Value error, Running a selected deployment from a flow run state change event may lead to an infinite loop of flow runs.  Please include additional filtering labels on either match or match_related to narrow down which flow runs will trigger this automation to exclude flow runs from the deployment you've selected.")
				}
			}
		}
	}
	return nil
}

// everyOfKind reports whether a spec matches every resource of a kind.
func everyOfKind(s model.ResourceSpec, kind string) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) != 1 {
		return false
	}
	for _, v := range s["prefect.resource.id"].Values {
		if v == kind+".*" {
			return true
		}
	}
	return false
}

// Summary describes a trigger in a few words, for the UI's lists.
func Summary(t *model.Trigger) string {
	switch t.Type {
	case model.TriggerCompound, model.TriggerSequence:
		return fmt.Sprintf("%s of %d triggers", t.Type, len(t.Triggers))
	}
	events := "any event"
	if len(t.Expect) > 0 {
		events = strings.Join(t.Expect, ", ")
	}
	if t.Posture == model.PostureProactive {
		return fmt.Sprintf("no %s within %gs", events, t.Within)
	}
	if t.Threshold > 1 {
		return fmt.Sprintf("%d × %s within %gs", t.Threshold, events, t.Within)
	}
	return events
}
