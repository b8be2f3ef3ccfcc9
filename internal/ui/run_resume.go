package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/schemacheck"
)

// The Resume form of a paused flow run. A pause that waits for input
// (pause_flow_run or suspend_flow_run with wait_for_input) names in its
// state the keys where its client stored the input's JSON schema and a
// description; the form has a field per property of that schema, and is
// resumed by the API's rules (the store checks the input against the
// schema again, in the transaction that resumes). A pause without input
// gets a form with only its button.

// updateFlowRun is the permission of the API's resume route.
const updateFlowRun auth.Permission = "update:flow_run"

// resumeForm is the data of a paused run's Resume form.
type resumeForm struct {
	fieldsForm
	Run    *model.FlowRun
	URL    string // the run's page
	Action string
	// Input: the pause waits for input, whose schema made Fields.
	Input       bool
	Description string // what the flow says of the input it waits for
}

// errNotPaused is a Resume form of a run that is not paused (any more).
var errNotPaused = errors.New("the run is not paused")

// resumeFormOf reads the run and the schema of the input it waits for
// (nil when it waits for none).
func (u *UI) resumeFormOf(q *request) (resumeForm, map[string]any, error) {
	run, err := u.flowRunOf(q)
	if err != nil {
		return resumeForm{}, nil, err
	}
	url := WorkspaceURL(q.Workspace) + "/runs/flow-run/" + run.ID.String()
	f := resumeForm{Run: run, URL: url, Action: url + "/resume"}
	if run.State == nil || run.State.Type != model.Paused {
		return f, nil, errNotPaused
	}
	keyset, _ := run.State.StateDetails.RunInputKeyset.(map[string]any)
	if keyset == nil {
		return f, nil, nil
	}
	f.Input = true
	schemaKey, _ := keyset["schema"].(string)
	stored, err := u.Store.GetFlowRunInput(q.ctx(), q.Workspace.ID, run.ID, schemaKey)
	if err != nil {
		// The client stores the schema just after the run pauses.
		f.Error = "The flow has not described the input it waits for yet; reload the page in a moment."
		return f, nil, nil
	}
	var schema map[string]any
	if json.Unmarshal([]byte(stored.Value), &schema) != nil {
		f.Error = "The flow described the input it waits for in a form Praetor cannot read, so this run cannot be resumed here."
		return f, nil, nil
	}
	f.Fields = schemaFields(schema, nil)
	descriptionKey, _ := keyset["description"].(string)
	if d, err := u.Store.GetFlowRunInput(q.ctx(), q.Workspace.ID, run.ID, descriptionKey); err == nil {
		_ = json.Unmarshal([]byte(d.Value), &f.Description)
	}
	return f, schema, nil
}

func (u *UI) resumeRunForm(q *request) error {
	f, _, err := u.resumeFormOf(q)
	if errors.Is(err, errNotPaused) {
		return q.redirectFlash(f.URL, flash{Text: "The run " + f.Run.Name + " is not paused: there is nothing to resume."})
	}
	if err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "run_resume.html", f)
}

// resumeRun answers the Resume form: it reads the fields by their types
// and resumes the run with them; a value the schema refuses shows next to
// its field, with the values as typed, and the run stays paused.
func (u *UI) resumeRun(q *request) error {
	f, schema, err := u.resumeFormOf(q)
	if errors.Is(err, errNotPaused) {
		return q.redirectFlash(f.URL, flash{Text: "The run " + f.Run.Name + " is not paused: there is nothing to resume."})
	}
	if err != nil {
		return err
	}
	input := map[string]any{}
	failed := f.Input && schema == nil
	for i := range f.Fields {
		field := &f.Fields[i]
		raw := q.r.PostForm.Get(fieldParam(field.Name))
		field.Value = raw
		v, given, msg := field.formValue(raw)
		switch {
		case msg != "":
			field.Error, failed = msg, true
		case given:
			input[field.Name] = v
		case field.Required:
			field.Error, failed = "Required: enter a value.", true
		}
	}
	if !failed && schema != nil {
		// Checked here too, to place the refusal on its field.
		var se *schemacheck.Error
		if err := schemacheck.Validate(schema, input, schemacheck.Options{}); errors.As(err, &se) {
			f.refuse(se)
			failed = true
		}
	}
	if !failed {
		var runInput map[string]any
		if f.Input {
			runInput = input
		}
		res, err := u.Store.ResumeFlowRun(q.ctx(), q.Workspace.ID, f.Run.ID, runInput)
		if err != nil {
			return fmt.Errorf("resume flow run: %w", err)
		}
		if res.Status == orchestration.Accept {
			msg := "Resumed the run " + f.Run.Name + "."
			if res.State != nil && res.State.Type == model.Scheduled {
				msg += " It runs again when a process serving its deployment picks it up."
			}
			return q.redirectFlash(f.URL, flash{Text: msg})
		}
		f.Error = "The run was not resumed: " + derefString(res.Details.Reason)
	}
	f.focusFirstError()
	return u.render(q, http.StatusUnprocessableEntity, "run_resume.html", f)
}
