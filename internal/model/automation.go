package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/google/uuid"
)

// Automation is a Prefect automation: a trigger over the workspace's events
// and the actions to take when it fires, in Prefect's Automation shape.
type Automation struct {
	Name             string    `json:"name"`
	Description      string    `json:"description"`
	Enabled          bool      `json:"enabled"`
	Tags             []string  `json:"tags"`
	Trigger          *Trigger  `json:"trigger"`
	Actions          []*Action `json:"actions"`
	ActionsOnTrigger []*Action `json:"actions_on_trigger"`
	ActionsOnResolve []*Action `json:"actions_on_resolve"`
	ID               uuid.UUID `json:"id"`
	Created          Time      `json:"created"`
	Updated          Time      `json:"updated"`
}

// AllActions returns the automation's actions of every kind, in the order
// Prefect enumerates them for a firing that triggers and resolves.
func (a *Automation) AllActions() []*Action {
	out := make([]*Action, 0, len(a.Actions)+len(a.ActionsOnTrigger)+len(a.ActionsOnResolve))
	out = append(out, a.Actions...)
	out = append(out, a.ActionsOnTrigger...)
	return append(out, a.ActionsOnResolve...)
}

// Trigger kinds and postures.
const (
	TriggerEvent    = "event"
	TriggerCompound = "compound"
	TriggerSequence = "sequence"

	PostureReactive  = "Reactive"
	PostureProactive = "Proactive"
)

// Trigger is one of Prefect's trigger types: an event trigger, or a
// compound or sequence trigger of child triggers. Fields of the other
// kinds are ignored and not answered.
type Trigger struct {
	Type string
	ID   uuid.UUID

	// Event triggers.
	Match        ResourceSpec
	MatchRelated []ResourceSpec
	// MatchRelatedList remembers that match_related came as a list, so it
	// is answered as one.
	MatchRelatedList bool
	After            []string
	Expect           []string
	ForEach          []string
	Posture          string
	Threshold        int
	// Within is the event trigger's window in seconds.
	Within float64

	// Compound and sequence triggers.
	Triggers []*Trigger
	// CompositeWithin is the composite's window in seconds, nil for none.
	CompositeWithin *float64
	// Require is "any", "all" or a number, for compound triggers.
	Require string
}

// All returns t and every trigger below it, depth first.
func (t *Trigger) All() []*Trigger {
	out := []*Trigger{t}
	for _, c := range t.Triggers {
		out = append(out, c.All()...)
	}
	return out
}

// Find returns the trigger of id below t (t included), and its parent.
func (t *Trigger) Find(id uuid.UUID) (found, parent *Trigger) {
	if t.ID == id {
		return t, nil
	}
	for _, c := range t.Triggers {
		if f, p := c.Find(id); f != nil {
			if p == nil {
				p = t
			}
			return f, p
		}
	}
	return nil, nil
}

// RequiredFirings is how many child firings a compound or sequence trigger
// needs.
func (t *Trigger) RequiredFirings() int {
	switch t.Require {
	case "any":
		return 1
	case "all", "":
		return len(t.Triggers)
	}
	n, _ := strconv.Atoi(t.Require)
	return n
}

type eventTriggerJSON struct {
	Type         string          `json:"type"`
	ID           uuid.UUID       `json:"id"`
	Match        ResourceSpec    `json:"match"`
	MatchRelated json.RawMessage `json:"match_related"`
	After        []string        `json:"after"`
	Expect       []string        `json:"expect"`
	ForEach      []string        `json:"for_each"`
	Posture      string          `json:"posture"`
	Threshold    int             `json:"threshold"`
	Within       float64         `json:"within"`
}

type compositeTriggerJSON struct {
	Type     string          `json:"type"`
	ID       uuid.UUID       `json:"id"`
	Triggers []*Trigger      `json:"triggers"`
	Within   *float64        `json:"within"`
	Require  json.RawMessage `json:"require,omitempty"`
}

// MarshalJSON answers the trigger in its kind's shape.
func (t *Trigger) MarshalJSON() ([]byte, error) {
	if t.Type == TriggerCompound || t.Type == TriggerSequence {
		out := compositeTriggerJSON{Type: t.Type, ID: t.ID, Triggers: t.Triggers, Within: t.CompositeWithin}
		if out.Triggers == nil {
			out.Triggers = []*Trigger{}
		}
		if t.Type == TriggerCompound {
			if _, err := strconv.Atoi(t.Require); err == nil {
				out.Require = json.RawMessage(t.Require)
			} else {
				out.Require, _ = json.Marshal(t.Require)
			}
		}
		return json.Marshal(out)
	}
	var related any = t.MatchRelated
	if !t.MatchRelatedList {
		if len(t.MatchRelated) > 0 {
			related = t.MatchRelated[0]
		} else {
			related = ResourceSpec{}
		}
	} else if t.MatchRelated == nil {
		related = []ResourceSpec{}
	}
	rel, err := json.Marshal(related)
	if err != nil {
		return nil, err
	}
	out := eventTriggerJSON{Type: TriggerEvent, ID: t.ID, Match: t.Match, MatchRelated: rel, After: orEmpty(t.After),
		Expect: orEmpty(t.Expect), ForEach: orEmpty(t.ForEach), Posture: t.Posture, Threshold: t.Threshold, Within: t.Within}
	if out.Match == nil {
		out.Match = ResourceSpec{}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a trigger of any kind; a missing type is an event
// trigger, and Prefect's defaults fill what is left out. Checks beyond
// the JSON types are automations.Validate's.
func (t *Trigger) UnmarshalJSON(b []byte) error {
	var head struct {
		Type         *string          `json:"type"`
		ID           *uuid.UUID       `json:"id"`
		Match        *ResourceSpec    `json:"match"`
		MatchRelated json.RawMessage  `json:"match_related"`
		After        []string         `json:"after"`
		Expect       []string         `json:"expect"`
		ForEach      []string         `json:"for_each"`
		Posture      *string          `json:"posture"`
		Threshold    *int             `json:"threshold"`
		Within       *json.RawMessage `json:"within"`
		Triggers     []*Trigger       `json:"triggers"`
		Require      json.RawMessage  `json:"require"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	*t = Trigger{Type: TriggerEvent, Threshold: 1}
	if head.Type != nil {
		t.Type = *head.Type
	}
	if head.ID != nil {
		t.ID = *head.ID
	}
	switch t.Type {
	case TriggerCompound, TriggerSequence:
		t.Triggers = head.Triggers
		if head.Within != nil && string(*head.Within) != "null" {
			w, err := seconds(*head.Within)
			if err != nil {
				return fmt.Errorf("within: %w", err)
			}
			t.CompositeWithin = &w
		}
		if len(head.Require) > 0 {
			var s string
			if json.Unmarshal(head.Require, &s) == nil {
				t.Require = s
			} else {
				var n int
				if err := json.Unmarshal(head.Require, &n); err != nil {
					return fmt.Errorf("require: must be an integer, \"any\" or \"all\"")
				}
				t.Require = strconv.Itoa(n)
			}
		}
		return nil
	case TriggerEvent:
	default:
		return fmt.Errorf("type: unknown trigger type %q", t.Type)
	}
	if head.Match != nil {
		t.Match = *head.Match
	}
	if rel := bytes.TrimSpace(head.MatchRelated); len(rel) > 0 && string(rel) != "null" {
		if rel[0] == '[' {
			t.MatchRelatedList = true
			if err := json.Unmarshal(rel, &t.MatchRelated); err != nil {
				return fmt.Errorf("match_related: %w", err)
			}
		} else {
			var one ResourceSpec
			if err := json.Unmarshal(rel, &one); err != nil {
				return fmt.Errorf("match_related: %w", err)
			}
			if len(one) > 0 {
				t.MatchRelated = []ResourceSpec{one}
			}
		}
	}
	t.After, t.Expect, t.ForEach = dedupe(head.After), dedupe(head.Expect), dedupe(head.ForEach)
	if head.Posture != nil {
		t.Posture = *head.Posture
	}
	if head.Threshold != nil {
		t.Threshold = *head.Threshold
	}
	if head.Within != nil {
		if string(*head.Within) == "null" {
			return fmt.Errorf("within: `within` should be a valid timedelta")
		}
		w, err := seconds(*head.Within)
		if err != nil {
			return fmt.Errorf("within: %w", err)
		}
		t.Within = w
	}
	return nil
}

// seconds reads a duration as Prefect's timedelta fields take it: a number
// of seconds, or a numeric string.
func seconds(b []byte) (float64, error) {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f, nil
		}
	}
	return 0, fmt.Errorf("must be a number of seconds")
}

// dedupe keeps the first of each value: Prefect reads these lists as sets.
func dedupe(in []string) []string {
	if in == nil {
		return nil
	}
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ResourceSpec selects resources by their labels, as Prefect's
// ResourceSpecification: every label must match one of its values (globs,
// "!" negating). A label given a single string is answered as one.
type ResourceSpec map[string]LabelValues

// LabelValues are the values a ResourceSpec accepts for one label.
type LabelValues struct {
	Values []string
	// List remembers that the values came as a list.
	List bool
}

// MarshalJSON answers a string or a list, as the values came.
func (v LabelValues) MarshalJSON() ([]byte, error) {
	if !v.List && len(v.Values) == 1 {
		return json.Marshal(v.Values[0])
	}
	return json.Marshal(orEmpty(v.Values))
}

// UnmarshalJSON reads a string or a list of strings.
func (v *LabelValues) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = LabelValues{Values: []string{s}}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("a label's values must be a string or a list of strings")
	}
	*v = LabelValues{Values: list, List: true}
	return nil
}

// Action kinds, as Prefect names them.
const (
	ActionDoNothing          = "do-nothing"
	ActionRunDeployment      = "run-deployment"
	ActionPauseDeployment    = "pause-deployment"
	ActionResumeDeployment   = "resume-deployment"
	ActionCancelFlowRun      = "cancel-flow-run"
	ActionDeleteFlowRun      = "delete-flow-run"
	ActionChangeFlowRunState = "change-flow-run-state"
	ActionSuspendFlowRun     = "suspend-flow-run"
	ActionResumeFlowRun      = "resume-flow-run"
	ActionPauseWorkQueue     = "pause-work-queue"
	ActionResumeWorkQueue    = "resume-work-queue"
	ActionPauseWorkPool      = "pause-work-pool"
	ActionResumeWorkPool     = "resume-work-pool"
	ActionPauseAutomation    = "pause-automation"
	ActionResumeAutomation   = "resume-automation"
	ActionSendNotification   = "send-notification"
	ActionCallWebhook        = "call-webhook"
)

// Action is one of Prefect's automation actions. Which fields it has
// depends on its type (actionFields); the others are not answered.
type Action struct {
	Type string `json:"type"`
	// Source is "selected" (the id below) or "inferred" (from the
	// triggering event), for deployment, work pool, work queue and
	// automation actions.
	Source       string     `json:"source,omitempty"`
	DeploymentID *uuid.UUID `json:"deployment_id"`
	WorkQueueID  *uuid.UUID `json:"work_queue_id"`
	WorkPoolID   *uuid.UUID `json:"work_pool_id"`
	AutomationID *uuid.UUID `json:"automation_id"`
	// Run deployment.
	Parameters    map[string]any `json:"parameters"`
	JobVariables  map[string]any `json:"job_variables"`
	ScheduleAfter float64        `json:"schedule_after"`
	// Change flow run state.
	Name    *string   `json:"name"`
	State   StateType `json:"state"`
	Message *string   `json:"message"`
	Force   bool      `json:"force"`
	// Notifications and webhooks.
	BlockDocumentID *uuid.UUID `json:"block_document_id"`
	Subject         string     `json:"subject"`
	Body            string     `json:"body"`
	Payload         string     `json:"payload"`
}

// actionFields lists, by action type, the members Prefect answers after
// "type".
var actionFields = map[string][]string{
	ActionDoNothing:          {},
	ActionRunDeployment:      {"source", "deployment_id", "parameters", "job_variables", "schedule_after"},
	ActionPauseDeployment:    {"source", "deployment_id"},
	ActionResumeDeployment:   {"source", "deployment_id"},
	ActionCancelFlowRun:      {},
	ActionDeleteFlowRun:      {},
	ActionChangeFlowRunState: {"name", "state", "message", "force"},
	ActionSuspendFlowRun:     {},
	ActionResumeFlowRun:      {},
	ActionPauseWorkQueue:     {"source", "work_queue_id"},
	ActionResumeWorkQueue:    {"source", "work_queue_id"},
	ActionPauseWorkPool:      {"source", "work_pool_id"},
	ActionResumeWorkPool:     {"source", "work_pool_id"},
	ActionPauseAutomation:    {"source", "automation_id"},
	ActionResumeAutomation:   {"source", "automation_id"},
	ActionSendNotification:   {"block_document_id", "subject", "body"},
	ActionCallWebhook:        {"block_document_id", "payload"},
}

// KnownAction reports whether typ is an action type Praetor takes.
func KnownAction(typ string) bool { _, ok := actionFields[typ]; return ok }

// ActionTakesSource reports whether actions of typ have a source.
func ActionTakesSource(typ string) bool {
	for _, f := range actionFields[typ] {
		if f == "source" {
			return true
		}
	}
	return false
}

type actionJSON Action

// MarshalJSON answers the members of the action's type only, in Prefect's
// order.
func (a *Action) MarshalJSON() ([]byte, error) {
	all, err := json.Marshal((*actionJSON)(a))
	if err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(all, &members); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":`)
	buf.Write(members["type"])
	for _, f := range actionFields[a.Type] {
		v, ok := members[f]
		if !ok {
			v = []byte(`""`)
		}
		fmt.Fprintf(&buf, `,%q:`, f)
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads an action with Prefect's defaults.
func (a *Action) UnmarshalJSON(b []byte) error {
	v := actionJSON{Subject: "Prefect automated notification"}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Source == "" && ActionTakesSource(v.Type) {
		v.Source = "selected"
	}
	*a = Action(v)
	return nil
}

// States of a triggered action.
const (
	ActionPending  = "pending"  // waiting for its first or next attempt
	ActionExecuted = "executed" // done
	ActionFailed   = "failed"   // given up on
)

// TriggeredAction is one action of one firing of an automation: the
// executor's durable work item and, once done, its record.
type TriggeredAction struct {
	ID           uuid.UUID `json:"id"`
	AutomationID uuid.UUID `json:"automation_id"`
	// Index is the action's place in the automation's actions, then its
	// actions on trigger, then on resolve.
	Index  int     `json:"action_index"`
	Action *Action `json:"action"`
	// Triggered is when the trigger fired.
	Triggered         Time              `json:"triggered"`
	TriggeringLabels  map[string]string `json:"triggering_labels"`
	TriggeringEvent   *Event            `json:"triggering_event"`
	TriggeredEventID  *uuid.UUID        `json:"automation_triggered_event_id"`
	State             string            `json:"state"`
	Attempts          int               `json:"attempts"`
	NextAttempt       *Time             `json:"next_attempt"`
	LastError         *string           `json:"last_error"`
	Finished          *Time             `json:"finished"`
	ResultDescription *string           `json:"result"`
}
