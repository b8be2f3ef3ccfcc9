package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schedule"
	"github.com/praetorhq/praetor/internal/schemacheck"
)

// A deployment's page, and its Run form built from the deployment's
// parameter schema.

// nextStarts is how many start times the page computes per schedule, and
// deploymentRunRows how many recent and upcoming runs it lists.
const (
	nextStarts        = 3
	deploymentRunRows = 10
)

// scheduleView is one schedule of a deployment.
type scheduleView struct {
	Words  string
	Active bool
	Slug   string
	Next   []startTime // its next start times, none when it makes no runs
}

// startTime is a computed start, in its schedule's time zone.
type startTime struct {
	ISO, Text string
}

// lateRow is a Late run with the reason the late-run marker gave.
type lateRow struct {
	runRow
	Reason string
}

// deploymentView is the data of a deployment's page.
type deploymentView struct {
	Base, URL     string
	Deployment    *model.Deployment
	Flow, FlowURL string
	PoolURL       string // its work pool's page, when it has one
	Schedules     []scheduleView
	Parameters    []paramField
	Recent        []runRow
	Upcoming      []runRow
	Late          []lateRow
	RunsURL       string
	// CanRun shows Run, CanChange pause and resume.
	CanRun, CanChange bool
}

// deploymentOf reads the deployment of the page's path.
func (u *UI) deploymentOf(q *request) (*model.Deployment, error) {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return nil, errNotFound()
	}
	d, err := u.Store.GetDeployment(q.ctx(), q.Workspace.ID, id)
	if err != nil {
		return nil, fmt.Errorf("get deployment: %w", err)
	}
	return d, nil
}

func (u *UI) deploymentURL(q *request, d *model.Deployment) string {
	return WorkspaceURL(q.Workspace) + "/deployments/deployment/" + d.ID.String()
}

func (u *UI) deploymentPage(q *request) error {
	d, err := u.deploymentOf(q)
	if err != nil {
		return err
	}
	base := WorkspaceURL(q.Workspace)
	v := deploymentView{Base: base, URL: u.deploymentURL(q, d), Deployment: d, FlowURL: base + "/flows/flow/" + d.FlowID.String(),
		RunsURL: base + "/runs?deployment=" + d.ID.String(), Parameters: schemaFields(d.ParameterOpenAPISchema, d.Parameters),
		CanRun: auth.Can(q.Role, runDeployment), CanChange: auth.Can(q.Role, updateDeployment)}
	flows, err := u.deploymentFlows(q, []*model.Deployment{d})
	if err != nil {
		return err
	}
	v.Flow = flows[d.FlowID]
	if pool := derefString(d.WorkPoolName); pool != "" {
		v.PoolURL = workPoolURL(q.Workspace, pool)
	}
	now := u.Clock.Now()
	for _, s := range d.Schedules {
		sv := scheduleView{Active: s.Active, Slug: derefString(s.Slug)}
		parsed, err := schedule.Parse(s.Schedule)
		if err != nil {
			sv.Words = "unreadable schedule: " + apperrText(err)
		} else {
			sv.Words = parsed.Describe()
			// The scheduler makes its runs from these same dates.
			if s.Active && !d.Paused {
				for _, t := range parsed.Dates(now, now.AddDate(1, 0, 0), nextStarts) {
					sv.Next = append(sv.Next, startTime{ISO: t.UTC().Format("2006-01-02T15:04:05Z"), Text: t.Format("Mon 2006-01-02 15:04 MST")})
				}
			}
		}
		v.Schedules = append(v.Schedules, sv)
	}
	upcoming, err := u.deploymentRuns(q, d.ID, true, deploymentRunRows)
	if err != nil {
		return err
	}
	rows, err := u.runRows(q, upcoming)
	if err != nil {
		return err
	}
	for i, r := range rows {
		if derefString(upcoming[i].StateName) == "Late" {
			late := lateRow{runRow: r}
			if upcoming[i].State != nil {
				late.Reason = derefString(upcoming[i].State.Message)
			}
			v.Late = append(v.Late, late)
			continue
		}
		v.Upcoming = append(v.Upcoming, r)
	}
	recent, err := u.deploymentRuns(q, d.ID, false, deploymentRunRows)
	if err != nil {
		return err
	}
	if v.Recent, err = u.runRows(q, recent); err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "deployment.html", v)
}

// pauseDeployment answers the Pause and Resume buttons.
func (u *UI) pauseDeployment(paused bool) handler {
	return func(q *request) error {
		d, err := u.deploymentOf(q)
		if err != nil {
			return err
		}
		if err := u.Store.UpdateDeployment(q.ctx(), q.Workspace.ID, d.ID, func(d *model.Deployment) error {
			d.Paused = paused
			return nil
		}); err != nil {
			return fmt.Errorf("pause deployment: %w", err)
		}
		if u.OnDeploymentsChanged != nil {
			u.OnDeploymentsChanged()
		}
		msg := "Resumed the deployment " + d.Name + ": its schedules make runs again."
		if paused {
			msg = "Paused the deployment " + d.Name + ": its schedules make no runs until it is resumed."
		}
		return q.redirectFlash(u.deploymentURL(q, d), flash{Text: msg})
	}
}

// paramField is one parameter of a deployment: a row of its page's table
// and a field of its Run form.
type paramField struct {
	Name        string
	ID          string // the form field's id
	Title       string // the schema's title, when it says more than the name
	Description string
	Type        string // in words: string, integer, list, …
	Kind        string // the form control: text, integer, number, boolean, enum or json
	Required    bool
	Nullable    bool
	Default     string // the deployment's default, else the schema's, as JSON
	Value       string // the form's value: the default, or what was typed
	Options     []option
	Error       string
	Autofocus   bool // the first field in error
}

// schemaFields reads the properties of a parameter schema, in the flow
// function's order, with defaults (the deployment's over the schema's).
func schemaFields(schema map[string]any, defaults map[string]any) []paramField {
	props, _ := schema["properties"].(map[string]any)
	defs, _ := schema["definitions"].(map[string]any)
	if defs == nil {
		defs, _ = schema["$defs"].(map[string]any)
	}
	required := map[string]bool{}
	if list, ok := schema["required"].([]any); ok {
		for _, r := range list {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	position := func(n string) float64 {
		p, _ := props[n].(map[string]any)
		if f, ok := p["position"].(float64); ok {
			return f
		}
		return 1e9
	}
	slices.SortFunc(names, func(a, b string) int {
		if pa, pb := position(a), position(b); pa != pb {
			if pa < pb {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	fields := make([]paramField, 0, len(names))
	for i, n := range names {
		p, _ := props[n].(map[string]any)
		f := paramField{Name: n, ID: "param-" + strconv.Itoa(i), Required: required[n]}
		if t, _ := p["title"].(string); t != "" && t != n {
			f.Title = t
		}
		f.Description, _ = p["description"].(string)
		resolveParam(&f, p, defs, 0)
		if def, ok := defaults[n]; ok {
			f.setDefault(def)
		} else if def, ok := p["default"]; ok {
			f.setDefault(def)
		}
		fields = append(fields, f)
	}
	return fields
}

// resolveParam sets f's type and control from its schema p, following
// references, single-member allOf and optional (anyOf with null) types.
func resolveParam(f *paramField, p map[string]any, defs map[string]any, depth int) {
	f.Kind, f.Type = "json", "any JSON value"
	if depth > 8 {
		return
	}
	if f.Description == "" {
		f.Description, _ = p["description"].(string)
	}
	if ref, ok := p["$ref"].(string); ok {
		name := ref[strings.LastIndex(ref, "/")+1:]
		if def, ok := defs[name].(map[string]any); ok {
			resolveParam(f, def, defs, depth+1)
		}
		return
	}
	if all, ok := p["allOf"].([]any); ok && len(all) == 1 {
		if sub, ok := all[0].(map[string]any); ok {
			resolveParam(f, sub, defs, depth+1)
		}
		return
	}
	if variants, ok := p["anyOf"].([]any); ok {
		var rest []map[string]any
		for _, a := range variants {
			if sub, ok := a.(map[string]any); ok {
				if sub["type"] == "null" {
					f.Nullable = true
				} else {
					rest = append(rest, sub)
				}
			}
		}
		if len(rest) == 1 {
			resolveParam(f, rest[0], defs, depth+1)
		}
		return
	}
	if enum, ok := p["enum"].([]any); ok {
		f.Kind, f.Type = "enum", "one of"
		for _, e := range enum {
			b, _ := json.Marshal(e)
			f.Options = append(f.Options, option{Value: string(b), Label: fmt.Sprint(e)})
			f.Type += " " + fmt.Sprint(e) + ","
		}
		f.Type = strings.TrimSuffix(f.Type, ",")
		return
	}
	switch t, _ := p["type"].(string); t {
	case "string":
		f.Kind, f.Type = "text", "string"
		if fm, _ := p["format"].(string); fm != "" {
			f.Type = "string (" + fm + ")"
		}
	case "integer":
		f.Kind, f.Type = "integer", "integer"
	case "number":
		f.Kind, f.Type = "number", "number"
	case "boolean":
		f.Kind, f.Type = "boolean", "true or false"
	case "array":
		f.Type = "list (JSON)"
	case "object":
		f.Type = "object (JSON)"
	}
}

// setDefault shows a default value, on the page and in the form.
func (f *paramField) setDefault(v any) {
	b, _ := json.Marshal(v)
	f.Default = string(b)
	switch x := v.(type) {
	case nil:
		f.Value = ""
	case string:
		if f.Kind == "text" {
			f.Value = x
		} else {
			f.Value = f.Default
		}
	case bool, float64, json.Number:
		f.Value = f.Default
	default:
		f.Value = prettyJSON(v)
	}
}

// formValue reads the field's posted value: given false when it was left
// empty (the deployment's default then applies), an error message when it
// cannot be read. A number that is not one is passed on as text, for the
// schema to refuse.
func (f *paramField) formValue(raw string) (v any, given bool, msg string) {
	if strings.TrimSpace(raw) == "" {
		return nil, false, ""
	}
	switch f.Kind {
	case "text":
		return raw, true, ""
	case "integer", "number":
		s := strings.TrimSpace(raw)
		if json.Valid([]byte(s)) {
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return json.Number(s), true, ""
			}
		}
		return raw, true, ""
	case "boolean":
		switch raw {
		case "true":
			return true, true, ""
		case "false":
			return false, true, ""
		}
		return nil, true, "Choose true or false."
	case "enum":
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, true, "Choose one of the options."
		}
		return v, true, ""
	default:
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			return nil, true, "This is not valid JSON: " + err.Error()
		}
		return v, true, ""
	}
}

// fieldsForm is a form of fields generated from a JSON schema (a
// deployment's Run form, a paused run's Resume form).
type fieldsForm struct {
	Fields []paramField
	Error  string // a refusal that belongs to no one field
}

// runForm is the data of a deployment's Run form.
type runForm struct {
	fieldsForm
	Deployment *model.Deployment
	URL        string // the deployment's page
	Action     string
	// Enforced: the parameters are checked against the schema.
	Enforced bool
}

// fieldParam is the form field name of a parameter.
func fieldParam(name string) string { return "param:" + name }

func (u *UI) newRunForm(q *request, d *model.Deployment) runForm {
	url := u.deploymentURL(q, d)
	return runForm{Deployment: d, URL: url, Action: url + "/run", fieldsForm: fieldsForm{Fields: schemaFields(d.ParameterOpenAPISchema, d.Parameters)},
		Enforced: d.EnforceParameterSchema}
}

func (u *UI) deploymentRunForm(q *request) error {
	d, err := u.deploymentOf(q)
	if err != nil {
		return err
	}
	return u.render(q, http.StatusOK, "deployment_run.html", u.newRunForm(q, d))
}

// deploymentRun answers the Run form: it reads the fields by their types,
// and creates the run by the API's create_flow_run rules, whose schema
// check (internal/schemacheck) decides; a refusal shows next to its field,
// with the values as typed.
func (u *UI) deploymentRun(q *request) error {
	d, err := u.deploymentOf(q)
	if err != nil {
		return err
	}
	form := u.newRunForm(q, d)
	params := map[string]any{}
	failed := false
	for i := range form.Fields {
		f := &form.Fields[i]
		raw := q.r.PostForm.Get(fieldParam(f.Name))
		f.Value = raw
		v, given, msg := f.formValue(raw)
		_, hasDefault := d.Parameters[f.Name]
		switch {
		case msg != "":
			f.Error, failed = msg, true
		case given:
			params[f.Name] = v
		case f.Required && !hasDefault && d.EnforceParameterSchema:
			// The schema's "required", said per field rather than as the
			// one first failure the schema check reports.
			f.Error, failed = "Required: "+f.Name+" has no default, enter a value.", true
		}
	}
	if !failed {
		run, err := u.RunDeployment(q.ctx(), q.Workspace.ID, d.ID, params)
		var se *schemacheck.Error
		switch {
		case errors.As(err, &se):
			form.refuse(se)
		case err != nil:
			return fmt.Errorf("run deployment: %w", err)
		default:
			return q.redirectFlash(WorkspaceURL(q.Workspace)+"/runs/flow-run/"+run.ID.String(), flash{
				Text:    "Created the run " + run.Name + " of " + d.Name + ": it starts when a process serving the deployment picks it up.",
				LinkURL: form.URL, LinkText: "Back to the deployment"})
		}
	}
	form.focusFirstError()
	return u.render(q, http.StatusUnprocessableEntity, "deployment_run.html", form)
}

// refuse places the schema check's refusal on the field it names (the
// first part of its location), or on the form.
func (f *fieldsForm) refuse(se *schemacheck.Error) {
	top, _, _ := strings.Cut(se.Field, ".")
	for i := range f.Fields {
		if top != "" && f.Fields[i].Name == top {
			f.Fields[i].Error = se.Reason
			if rest := strings.TrimPrefix(se.Field, top); rest != "" {
				f.Fields[i].Error = "At " + strings.TrimPrefix(rest, ".") + ": " + se.Reason
			}
			return
		}
	}
	f.Error = se.Error()
}

// focusFirstError has the page focus the first field in error.
func (f *fieldsForm) focusFirstError() {
	for i := range f.Fields {
		if f.Fields[i].Error != "" {
			f.Fields[i].Autofocus = true
			return
		}
	}
}
