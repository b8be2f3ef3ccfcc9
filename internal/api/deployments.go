package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schedule"
	"github.com/praetorhq/praetor/internal/schemacheck"
	"github.com/praetorhq/praetor/internal/services"
	"github.com/praetorhq/praetor/internal/store"
)

// deploymentNotFound is the detail of Prefect's 404s on most deployment
// routes; the routes that read one spell it without the period.
const (
	deploymentNotFound     = "Deployment not found."
	deploymentNotFoundRead = "Deployment not found"
)

func (a *API) deploymentRoutes() {
	a.route("POST", "/deployments/", "create:deployment", a.createDeployment)
	a.route("GET", "/deployments/{id}", "read:deployment", readByID(a.Store.GetDeployment, deploymentNotFoundRead))
	a.route("GET", "/deployments/name/{flow_name}/{deployment_name}", "read:deployment", a.readDeploymentByName)
	a.route("PATCH", "/deployments/{id}", "update:deployment", a.updateDeployment)
	a.route("DELETE", "/deployments/{id}", "delete:deployment", deleteByID(store.DeleteOne(a.Store.DeleteDeployments), deploymentNotFoundRead))
	a.route("POST", "/deployments/bulk_delete", "delete:deployment", bulkDelete(a.deploymentsMatching, func(d *model.Deployment) uuid.UUID { return d.ID }, a.Store.DeleteDeployments))
	a.route("POST", "/deployments/filter", "read:deployment", query(filterQuery[store.DeploymentQuery](store.DeploymentSorts), a.Store.ListDeployments))
	a.route("POST", "/deployments/count", "read:deployment", query(filterQuery[store.DeploymentQuery](nil), a.Store.CountDeployments))
	a.route("POST", "/deployments/paginate", "read:deployment", paginate[store.DeploymentQuery](store.DeploymentSorts, a.Store.ListDeployments, a.Store.CountDeployments))
	// A runner's poll also marks its deployments READY: the one write a
	// reader makes, as a worker's poll does for its pool.
	a.route("POST", "/deployments/get_scheduled_flow_runs", "read:deployment", a.getScheduledFlowRuns)
	a.route("GET", "/deployments/{id}/schedules", "read:deployment", a.readDeploymentSchedules)
	a.route("POST", "/deployments/{id}/schedules", "update:deployment", a.createDeploymentSchedules)
	a.route("PATCH", "/deployments/{id}/schedules/{schedule_id}", "update:deployment", a.updateDeploymentSchedule)
	a.route("DELETE", "/deployments/{id}/schedules/{schedule_id}", "update:deployment", a.deleteDeploymentSchedule)
	a.route("POST", "/deployments/{id}/create_flow_run", "run:deployment", a.createFlowRunFromDeployment)
	a.route("POST", "/deployments/{id}/create_flow_run/bulk", "run:deployment", a.bulkCreateFlowRuns)
	a.route("POST", "/deployments/{id}/schedule", "update:deployment", a.scheduleDeployment)
	a.route("POST", "/deployments/{id}/pause_deployment", "update:deployment", a.pauseDeployment(true))
	a.route("POST", "/deployments/{id}/resume_deployment", "update:deployment", a.pauseDeployment(false))
}

// deploymentsChanged tells the scheduler that deployments changed, so it
// makes their runs now rather than at its next pass.
func (a *API) deploymentsChanged() {
	if a.OnDeploymentsChanged != nil {
		a.OnDeploymentsChanged()
	}
}

// scheduleBody is Prefect's DeploymentScheduleCreate and
// DeploymentScheduleUpdate.
type scheduleBody struct {
	Schedule         json.RawMessage `json:"schedule"`
	Active           *bool           `json:"active"`
	MaxScheduledRuns *int            `json:"max_scheduled_runs"`
	Parameters       map[string]any  `json:"parameters"`
	Slug             *string         `json:"slug"`
	Replaces         *string         `json:"replaces"`
}

// deploymentBody is Prefect's DeploymentCreate and DeploymentUpdate, with
// Praetor's catch_up.
type deploymentBody struct {
	Name                     *string          `json:"name"`
	FlowID                   *uuid.UUID       `json:"flow_id"`
	Version                  *string          `json:"version"`
	VersionInfo              map[string]any   `json:"version_info"`
	Branch                   *string          `json:"branch"`
	Base                     *uuid.UUID       `json:"base"`
	Root                     *uuid.UUID       `json:"root"`
	Description              *string          `json:"description"`
	Paused                   *bool            `json:"paused"`
	Schedules                []scheduleBody   `json:"schedules"`
	ConcurrencyLimit         *int             `json:"concurrency_limit"`
	ConcurrencyOptions       map[string]any   `json:"concurrency_options"`
	EnforceParameterSchema   *bool            `json:"enforce_parameter_schema"`
	ParameterOpenAPISchema   map[string]any   `json:"parameter_openapi_schema"`
	Parameters               map[string]any   `json:"parameters"`
	Tags                     []string         `json:"tags"`
	Labels                   map[string]any   `json:"labels"`
	PullSteps                []map[string]any `json:"pull_steps"`
	WorkQueueName            *string          `json:"work_queue_name"`
	WorkPoolName             *string          `json:"work_pool_name"`
	StorageDocumentID        *uuid.UUID       `json:"storage_document_id"`
	InfrastructureDocumentID *uuid.UUID       `json:"infrastructure_document_id"`
	Path                     *string          `json:"path"`
	Entrypoint               *string          `json:"entrypoint"`
	JobVariables             map[string]any   `json:"job_variables"`
	CatchUp                  *model.CatchUp   `json:"catch_up"`
}

// checkSchedules parses every schedule sent, canonicalising it to Prefect's
// exact shape; a schedule that is not one is a 422 at its location.
func checkSchedules(body []byte, in []scheduleBody, loc ...any) error {
	for i := range in {
		s := &in[i]
		at := append(slices.Clip(loc), i, "schedule")
		if s.Schedule == nil || isNull(s.Schedule) {
			continue // required only where a schedule is created
		}
		parsed, err := schedule.Parse(s.Schedule)
		if err != nil {
			return invalid(body, fieldErr("value_error", "Value error, "+apperrMessage(err), jsonOrString(s.Schedule), at...))
		}
		if s.Schedule, err = json.Marshal(parsed); err != nil {
			return err
		}
		if s.MaxScheduledRuns != nil && *s.MaxScheduledRuns <= 0 {
			return invalid(body, fieldErr("greater_than", "Input should be greater than 0", *s.MaxScheduledRuns, append(slices.Clip(loc), i, "max_scheduled_runs")...))
		}
	}
	return nil
}

// apperrMessage is the message of an application error, else its text.
func apperrMessage(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

// checkCatchUp validates Praetor's catch-up policy.
func checkCatchUp(body []byte, c *model.CatchUp) error {
	if c == nil {
		return nil
	}
	switch c.Mode {
	case "", model.CatchUpAll, model.CatchUpLatest:
	case model.CatchUpWindow:
		if c.WindowSeconds == nil || *c.WindowSeconds <= 0 {
			return invalid(body, fieldErr("value_error", "Value error, the window mode needs window_seconds greater than 0", c.WindowSeconds, "catch_up", "window_seconds"))
		}
	default:
		return invalid(body, fieldErr("enum", "Input should be 'all', 'latest' or 'window'", c.Mode, "catch_up", "mode"))
	}
	if c.MaxLateRuns != nil && *c.MaxLateRuns < 1 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 1", *c.MaxLateRuns, "catch_up", "max_late_runs"))
	}
	return nil
}

// checkConcurrency applies Prefect's rules to a deployment's concurrency
// limit (above 0) and options (a collision strategy, a grace period of
// 60 s to a day), which the server enforces with a global limit.
func checkConcurrency(body []byte, in *deploymentBody) error {
	if in.ConcurrencyLimit != nil && *in.ConcurrencyLimit <= 0 {
		return invalid(body, fieldErr("greater_than", "Input should be greater than 0", *in.ConcurrencyLimit, "concurrency_limit"))
	}
	o := in.ConcurrencyOptions
	if o == nil {
		return nil
	}
	var errs []fieldError
	switch s, ok := o["collision_strategy"]; {
	case !ok:
		errs = append(errs, fieldErr("missing", "Field required", nil, "concurrency_options", "collision_strategy"))
	case s != "ENQUEUE" && s != "CANCEL_NEW":
		errs = append(errs, fieldErr("enum", "Input should be 'ENQUEUE' or 'CANCEL_NEW'", s, "concurrency_options", "collision_strategy"))
	}
	if g, ok := o["grace_period_seconds"]; ok && g != nil {
		switch n, isNum := g.(float64); {
		case !isNum || n != math.Trunc(n):
			errs = append(errs, fieldErr("int_type", "Input should be a valid integer", g, "concurrency_options", "grace_period_seconds"))
		case n < 60:
			errs = append(errs, fieldErr("greater_than_equal", "Input should be greater than or equal to 60", g, "concurrency_options", "grace_period_seconds"))
		case n > 86400:
			errs = append(errs, fieldErr("less_than_equal", "Input should be less than or equal to 86400", g, "concurrency_options", "grace_period_seconds"))
		}
	}
	if len(errs) > 0 {
		return invalid(body, errs...)
	}
	return nil
}

// newSchedule is the schedule a create entry describes.
func newSchedule(s scheduleBody) model.DeploymentSchedule {
	active := true
	if s.Active != nil {
		active = *s.Active
	}
	return model.DeploymentSchedule{Schedule: s.Schedule, Active: active, MaxScheduledRuns: s.MaxScheduledRuns, Parameters: s.Parameters, Slug: s.Slug}
}

// requireSchedules refuses create entries without a schedule, as
// DeploymentScheduleCreate requires one.
func requireSchedules(body []byte, in []scheduleBody, loc ...any) error {
	for i, s := range in {
		if s.Schedule == nil || isNull(s.Schedule) {
			return required(body, "model_type", "Input should be a valid dictionary or object", append(slices.Clip(loc), i, "schedule")...)
		}
	}
	return nil
}

func (a *API) createDeployment(w http.ResponseWriter, r *http.Request) error {
	var in deploymentBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if err := validName(body, *in.Name, "name"); err != nil {
		return err
	}
	if in.FlowID == nil {
		return required(body, "uuid_type", "UUID input should be a string, bytes or UUID object", "flow_id")
	}
	if err := requireSchedules(body, in.Schedules, "schedules"); err != nil {
		return err
	}
	if err := checkSchedules(body, in.Schedules, "schedules"); err != nil {
		return err
	}
	if err := checkCatchUp(body, in.CatchUp); err != nil {
		return err
	}
	if err := checkConcurrency(body, &in); err != nil {
		return err
	}
	if err := a.checkDeploymentPool(r, in.WorkPoolName, in.JobVariables, "Error creating deployment"); err != nil {
		return err
	}
	set := members(body)
	d := &model.Deployment{Name: *in.Name, FlowID: *in.FlowID, EnforceParameterSchema: true}
	if _, sent := set["parameter_openapi_schema"]; !sent {
		// Prefect's default: a schema that takes no parameters.
		d.ParameterOpenAPISchema = map[string]any{"type": "object", "properties": map[string]any{}}
	}
	applyDeployment(d, &in, set)
	for _, s := range in.Schedules {
		d.Schedules = append(d.Schedules, newSchedule(s))
	}
	// An existing deployment changes only in what the body sent, as
	// Prefect's upsert does.
	apply := func(e *model.Deployment) error { applyDeployment(e, &in, set); return nil }
	created, err := a.Store.UpsertDeployment(r.Context(), workspaceID(r), d, apply)
	if apperr.IsNotFound(err) {
		// As in Prefect, a missing flow is a foreign-key conflict.
		return detail(http.StatusConflict, integrityConflict)
	}
	if apperr.ErrorCode(err) == apperr.EConflict {
		return detail(http.StatusConflict, "%s", apperrMessage(err))
	}
	if err != nil {
		return err
	}
	a.deploymentsChanged()
	writeJSON(w, createdStatus(created), d)
	return nil
}

// applyDeployment sets on d the members of in that the body sent (set).
func applyDeployment(d *model.Deployment, in *deploymentBody, set map[string]json.RawMessage) {
	has := func(k string) bool { _, ok := set[k]; return ok }
	if has("version") {
		d.Version = in.Version
	}
	if has("version_info") {
		d.VersionInfo = in.VersionInfo
	}
	if has("branch") {
		d.Branch = in.Branch
	}
	if has("base") {
		d.Base = in.Base
	}
	if has("root") {
		d.Root = in.Root
	}
	if has("description") {
		d.Description = in.Description
	}
	if in.Paused != nil {
		d.Paused = *in.Paused
	}
	if has("concurrency_limit") {
		d.ConcurrencyLimit = in.ConcurrencyLimit
	}
	if has("concurrency_options") {
		d.ConcurrencyOptions = in.ConcurrencyOptions
	}
	if in.EnforceParameterSchema != nil {
		d.EnforceParameterSchema = *in.EnforceParameterSchema
	}
	if has("parameter_openapi_schema") {
		d.ParameterOpenAPISchema = in.ParameterOpenAPISchema
	}
	if in.Parameters != nil {
		d.Parameters = in.Parameters
	}
	if in.Tags != nil {
		d.Tags = in.Tags
	}
	if in.Labels != nil {
		d.Labels = in.Labels
	}
	if has("pull_steps") {
		d.PullSteps = in.PullSteps
	}
	if has("work_queue_name") {
		d.WorkQueueName = in.WorkQueueName
	}
	if has("work_pool_name") {
		d.WorkPoolName = in.WorkPoolName
	}
	if has("storage_document_id") {
		d.StorageDocumentID = in.StorageDocumentID
	}
	if has("infrastructure_document_id") {
		d.InfrastructureDocumentID = in.InfrastructureDocumentID
	}
	if has("path") {
		d.Path = in.Path
	}
	if has("entrypoint") {
		d.Entrypoint = in.Entrypoint
	}
	if in.JobVariables != nil {
		d.JobVariables = in.JobVariables
	}
	if in.CatchUp != nil {
		d.CatchUp = *in.CatchUp
	}
}

func (a *API) readDeploymentByName(w http.ResponseWriter, r *http.Request) error {
	d, err := a.Store.GetDeploymentByName(r.Context(), workspaceID(r), r.PathValue("flow_name"), r.PathValue("deployment_name"))
	if err != nil {
		return notFound(err, deploymentNotFoundRead)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) updateDeployment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in deploymentBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := checkSchedules(body, in.Schedules, "schedules"); err != nil {
		return err
	}
	if err := checkCatchUp(body, in.CatchUp); err != nil {
		return err
	}
	if err := checkConcurrency(body, &in); err != nil {
		return err
	}
	set := members(body)
	err = a.Store.UpdateDeployment(r.Context(), workspaceID(r), id, func(d *model.Deployment) error {
		applyDeployment(d, &in, set)
		if anyOf(set, "work_pool_name", "job_variables") {
			if err := a.checkDeploymentPool(r, d.WorkPoolName, in.JobVariables, "Error updating deployment"); err != nil {
				return err
			}
		}
		if in.Schedules != nil {
			schedules, err := updatedSchedules(d.Schedules, in.Schedules)
			if err != nil {
				return err
			}
			d.Schedules = schedules
		}
		if !anyOf(set, "parameters", "parameter_openapi_schema", "enforce_parameter_schema") {
			return nil
		}
		return checkDeploymentParameters(d)
	})
	switch {
	case apperr.IsNotFound(err):
		return detail(http.StatusNotFound, deploymentNotFound)
	case err != nil:
		return err
	}
	a.deploymentsChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkDeploymentPool checks that a deployment's work pool exists and that
// the job variables sent fit its template (required ones may be left to
// each run), as Prefect does; what prefixes the 422's detail.
func (a *API) checkDeploymentPool(r *http.Request, pool *string, jobVariables map[string]any, what string) error {
	if pool == nil || *pool == "" {
		return nil
	}
	p, err := a.Store.GetWorkPool(r.Context(), workspaceID(r), *pool)
	if apperr.IsNotFound(err) {
		// A detail, not the store's not-found, which the deployment
		// routes answer as their own.
		return detail(http.StatusNotFound, "Work pool %q not found.", *pool)
	}
	if err != nil || len(jobVariables) == 0 {
		return err
	}
	return checkJobVariables(p, false, what, jobVariables)
}

// anyOf reports whether the body sent any of the members.
func anyOf(set map[string]json.RawMessage, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { _, ok := set[n]; return ok })
}

// updatedSchedules is Prefect's rule for the schedules of a deployment
// update: when every existing and every sent schedule has a slug, each sent
// one updates the schedule of its slug (or of the slug it replaces), or is
// new, and the others stay; when the existing ones have slugs but a sent
// one has none, the update is refused; otherwise the sent ones replace all.
func updatedSchedules(existing []model.DeploymentSchedule, sent []scheduleBody) ([]model.DeploymentSchedule, error) {
	allSent := !slices.ContainsFunc(sent, func(s scheduleBody) bool { return s.Slug == nil })
	allExisting := len(existing) > 0 && !slices.ContainsFunc(existing, func(s model.DeploymentSchedule) bool { return s.Slug == nil })
	unprocessable := func(format string, args ...any) error { return detail(http.StatusUnprocessableEntity, format, args...) }
	switch {
	case allSent && allExisting:
		out := slices.Clone(existing)
		bySlug := map[string]int{}
		for i, s := range out {
			bySlug[*s.Slug] = i
		}
		replaced := map[string]bool{}
		for _, s := range sent {
			if s.Replaces == nil {
				continue
			}
			if replaced[*s.Replaces] {
				return nil, unprocessable("Multiple schedules have 'replaces' targeting the same slug: %s", *s.Replaces)
			}
			replaced[*s.Replaces] = true
		}
		for _, s := range sent {
			if s.Replaces != nil {
				if _, taken := bySlug[*s.Slug]; taken && !replaced[*s.Slug] {
					return nil, unprocessable("Cannot rename schedule from '%s' to '%s': a schedule with slug '%s' already exists.", *s.Replaces, *s.Slug, *s.Slug)
				}
			}
		}
		for _, s := range sent {
			target := *s.Slug
			if s.Replaces != nil {
				target = *s.Replaces
			}
			i, found := bySlug[target]
			if !found {
				if s.Schedule == nil || isNull(s.Schedule) {
					return nil, unprocessable("Unable to create new deployment schedules without a schedule configuration.")
				}
				out = append(out, newSchedule(s))
				continue
			}
			patchSchedule(&out[i], s)
			out[i].Slug = s.Slug
		}
		return out, nil
	case !allSent && allExisting:
		return nil, unprocessable("Please provide a slug for each schedule in your request to ensure schedules are updated correctly.")
	}
	var out []model.DeploymentSchedule
	for _, s := range sent {
		if s.Schedule != nil && !isNull(s.Schedule) {
			out = append(out, newSchedule(s))
		}
	}
	return out, nil
}

// patchSchedule applies the members of an update entry that it sets.
func patchSchedule(s *model.DeploymentSchedule, u scheduleBody) {
	if u.Schedule != nil && !isNull(u.Schedule) {
		s.Schedule = u.Schedule
	}
	if u.Active != nil {
		s.Active = *u.Active
	}
	if u.MaxScheduledRuns != nil {
		s.MaxScheduledRuns = u.MaxScheduledRuns
	}
	if u.Parameters != nil {
		s.Parameters = u.Parameters
	}
	if u.Slug != nil {
		s.Slug = u.Slug
	}
}

// checkDeploymentParameters applies Prefect's check of an update: with the
// schema enforced, the deployment's default parameters must fit it
// (required ones may be left to each run).
func checkDeploymentParameters(d *model.Deployment) error {
	if !d.EnforceParameterSchema {
		return nil
	}
	if d.ParameterOpenAPISchema == nil {
		return detail(http.StatusConflict, "Error updating deployment: Cannot update parameters because parameter schema enforcement is enabled and the deployment does not have a valid parameter schema.")
	}
	if err := validateParameters(d.ParameterOpenAPISchema, d.Parameters, true); err != nil {
		var se *schemacheck.Error
		if errors.As(err, &se) {
			return detail(http.StatusConflict, "Error updating deployment: %s", se)
		}
		return err
	}
	return nil
}

// validateParameters checks parameters against a parameter schema; a schema
// that is not one is a 422.
func validateParameters(schema, parameters map[string]any, ignoreRequired bool) error {
	err := schemacheck.Validate(schema, parameters, schemacheck.Options{IgnoreRequired: ignoreRequired})
	if errors.Is(err, schemacheck.ErrInvalidSchema) {
		return detail(http.StatusUnprocessableEntity, "Invalid schema: %s", err)
	}
	return err
}

func (a *API) getScheduledFlowRuns(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		DeploymentIDs   []uuid.UUID `json:"deployment_ids"`
		ScheduledBefore *model.Time `json:"scheduled_before"`
		Limit           int         `json:"limit"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.DeploymentIDs == nil {
		return required(body, "list_type", "Input should be a valid list", "deployment_ids")
	}
	if err := checkLimit(in.Limit, 200); err != nil {
		return err
	}
	// No bound: every scheduled run, as Prefect's filter without before_.
	before := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	if in.ScheduledBefore != nil {
		before = in.ScheduledBefore.Time
	}
	runs, err := a.Store.PollDeployments(r.Context(), workspaceID(r), in.DeploymentIDs, before, in.Limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runs)
	return nil
}

// deploymentOf reads the deployment a sub-resource route names.
func (a *API) deploymentOf(r *http.Request) (*model.Deployment, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	d, err := a.Store.GetDeployment(r.Context(), workspaceID(r), id)
	return d, notFound(err, deploymentNotFound)
}

func (a *API) readDeploymentSchedules(w http.ResponseWriter, r *http.Request) error {
	d, err := a.deploymentOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d.Schedules)
	return nil
}

// changeSchedules applies change to the schedules of the route's
// deployment; a slug taken twice is Prefect's 409.
func (a *API) changeSchedules(r *http.Request, change func(d *model.Deployment) error) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	err = a.Store.UpdateDeployment(r.Context(), workspaceID(r), id, change)
	switch {
	case apperr.IsNotFound(err):
		return detail(http.StatusNotFound, deploymentNotFound)
	case apperr.ErrorCode(err) == apperr.EConflict:
		return detail(http.StatusConflict, "%s", apperrMessage(err))
	case err != nil:
		return err
	}
	a.deploymentsChanged()
	return nil
}

func (a *API) createDeploymentSchedules(w http.ResponseWriter, r *http.Request) error {
	var in []scheduleBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in == nil {
		return invalid(body, fieldErr("list_type", "Input should be a valid list", nil))
	}
	if err := requireSchedules(body, in); err != nil {
		return err
	}
	if err := checkSchedules(body, in); err != nil {
		return err
	}
	err = a.changeSchedules(r, func(d *model.Deployment) error {
		for _, s := range in {
			d.Schedules = append(d.Schedules, newSchedule(s))
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The new schedules, as stored: they are the newest.
	d, err := a.deploymentOf(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d.Schedules[max(0, len(d.Schedules)-len(in)):])
	return nil
}

func (a *API) updateDeploymentSchedule(w http.ResponseWriter, r *http.Request) error {
	sid, err := pathID(r, "schedule_id")
	if err != nil {
		return err
	}
	var in scheduleBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	list := []scheduleBody{in}
	if err := checkSchedules(body, list); err != nil {
		return err
	}
	err = a.changeSchedules(r, func(d *model.Deployment) error {
		i := slices.IndexFunc(d.Schedules, func(s model.DeploymentSchedule) bool { return s.ID == sid })
		if i < 0 {
			return detail(http.StatusNotFound, "Schedule not found.")
		}
		patchSchedule(&d.Schedules[i], list[0])
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteDeploymentSchedule(w http.ResponseWriter, r *http.Request) error {
	sid, err := pathID(r, "schedule_id")
	if err != nil {
		return err
	}
	err = a.changeSchedules(r, func(d *model.Deployment) error {
		i := slices.IndexFunc(d.Schedules, func(s model.DeploymentSchedule) bool { return s.ID == sid })
		if i < 0 {
			return detail(http.StatusNotFound, "Schedule not found.")
		}
		d.Schedules = slices.Delete(d.Schedules, i, i+1)
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pauseDeployment answers pause_deployment and resume_deployment: 200 with
// a null body, as Prefect's routes without a status code do.
func (a *API) pauseDeployment(paused bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		err = a.Store.UpdateDeployment(r.Context(), workspaceID(r), id, func(d *model.Deployment) error {
			d.Paused = paused
			return nil
		})
		if err != nil {
			return notFound(err, deploymentNotFoundRead)
		}
		a.deploymentsChanged()
		writeJSON(w, http.StatusOK, nil)
		return nil
	}
}

// deploymentRunBody is Prefect's DeploymentFlowRunCreate.
type deploymentRunBody struct {
	State                    *model.StateCreate   `json:"state"`
	Name                     *string              `json:"name"`
	Parameters               map[string]any       `json:"parameters"`
	Context                  map[string]any       `json:"context"`
	Tags                     []string             `json:"tags"`
	IdempotencyKey           *string              `json:"idempotency_key"`
	ParentTaskRunID          *uuid.UUID           `json:"parent_task_run_id"`
	WorkQueueName            *string              `json:"work_queue_name"`
	JobVariables             map[string]any       `json:"job_variables"`
	Labels                   map[string]any       `json:"labels"`
	EnforceParameterSchema   *bool                `json:"enforce_parameter_schema"`
	EmpiricalPolicy          *model.FlowRunPolicy `json:"empirical_policy"`
	InfrastructureDocumentID *uuid.UUID           `json:"infrastructure_document_id"`
}

func (a *API) createFlowRunFromDeployment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in deploymentRunBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.State != nil {
		if err := stateCreate(body, in.State, "state"); err != nil {
			return err
		}
	}
	run, created, err := a.runDeployment(r.Context(), workspaceID(r), id, &in)
	var se *schemacheck.Error
	switch {
	case errors.As(err, &se):
		// Prefect answers 409; a bad parameter is bad input, which
		// Praetor answers 422 with Prefect's message.
		return detail(http.StatusUnprocessableEntity, "Error creating flow run: %s", se)
	case err != nil:
		return notFound(err, deploymentNotFoundRead)
	}
	writeJSON(w, createdStatus(created), run)
	return nil
}

// RunDeployment creates a run of the deployment id with parameters over
// its defaults, by create_flow_run's rules; the UI's Run form calls it. A
// parameter that does not fit the deployment's enforced schema is a
// *schemacheck.Error, and nothing is created.
func (a *API) RunDeployment(ctx context.Context, ws, id uuid.UUID, parameters map[string]any) (*model.FlowRun, error) {
	run, _, err := a.runDeployment(ctx, ws, id, &deploymentRunBody{Parameters: parameters})
	return run, err
}

// RunDeploymentAt creates a run of the deployment id scheduled at start,
// with parameters and job variables over the deployment's, by
// create_flow_run's rules; automations' run-deployment actions call it.
func (a *API) RunDeploymentAt(ctx context.Context, ws, id uuid.UUID, parameters, jobVariables map[string]any, start time.Time) (*model.FlowRun, error) {
	state := model.StateCreate{Type: model.Scheduled, StateDetails: &model.StateDetails{ScheduledTime: model.At(start).Ptr()}}
	run, _, err := a.runDeployment(ctx, ws, id, &deploymentRunBody{Parameters: parameters, JobVariables: jobVariables, State: &state})
	if err == nil {
		a.deploymentsChanged()
	}
	return run, err
}

// runDeployment creates the run in describes; created is false when its
// idempotency key named an existing run, which is returned.
func (a *API) runDeployment(ctx context.Context, ws, id uuid.UUID, in *deploymentRunBody) (*model.FlowRun, bool, error) {
	initial := model.StateCreate{Type: model.Scheduled}
	if in.State != nil {
		initial = *in.State
	}
	d, err := a.Store.GetDeployment(ctx, ws, id)
	if err != nil {
		return nil, false, err
	}
	parameters := map[string]any{}
	for k, v := range d.Parameters {
		parameters[k] = v
	}
	for k, v := range in.Parameters {
		parameters[k] = v
	}
	enforce := d.EnforceParameterSchema
	if in.EnforceParameterSchema != nil {
		enforce = *in.EnforceParameterSchema
	}
	if enforce {
		if d.ParameterOpenAPISchema == nil {
			return nil, false, detail(http.StatusConflict, "Error updating deployment: Cannot update parameters because parameter schema enforcement is enabled and the deployment does not have a valid parameter schema.")
		}
		if err := validateParameters(d.ParameterOpenAPISchema, parameters, false); err != nil {
			return nil, false, err
		}
	}
	if d.WorkPoolName != nil {
		// A run's job variables are final: required ones must be there.
		pool, err := a.Store.GetWorkPool(ctx, ws, *d.WorkPoolName)
		if err != nil && !apperr.IsNotFound(err) {
			return nil, false, err
		}
		if pool != nil {
			if err := checkJobVariables(pool, true, "Error creating flow run", d.JobVariables, in.JobVariables); err != nil {
				return nil, false, err
			}
		}
	}
	queue, queueID := d.WorkQueueName, d.WorkQueueID
	if in.WorkQueueName != nil && *in.WorkQueueName != "" {
		if d.WorkPoolName == nil {
			return nil, false, detail(http.StatusBadRequest, "Cannot create flow run in work queue %s because deployment %s is not associated with a work pool. Please remove work_pool_name and try again.", *in.WorkQueueName, id)
		}
		if d.WorkQueueName == nil || *d.WorkQueueName != *in.WorkQueueName {
			// The store finds (or makes) the named queue in the pool.
			queueID = nil
		}
		queue = in.WorkQueueName
	}
	tags := slices.Clone(d.Tags)
	for _, t := range in.Tags {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	infra := d.InfrastructureDocumentID
	if in.InfrastructureDocumentID != nil {
		infra = in.InfrastructureDocumentID
	}
	run := &model.FlowRun{
		ID: uuid.Must(uuid.NewV7()), FlowID: d.FlowID, DeploymentID: &d.ID, DeploymentVersion: d.Version,
		Parameters: parameters, Context: in.Context, Tags: tags, Labels: deploymentRunLabels(d, in.Labels),
		IdempotencyKey: in.IdempotencyKey, ParentTaskRunID: in.ParentTaskRunID, WorkQueueName: queue, WorkQueueID: queueID,
		WorkPoolName: d.WorkPoolName, JobVariables: in.JobVariables, InfrastructureDocumentID: infra,
	}
	if in.Name != nil && *in.Name != "" {
		run.Name = *in.Name
	} else {
		run.Name = model.RunName()
	}
	if in.EmpiricalPolicy != nil {
		run.EmpiricalPolicy = mirrorRetryPolicy(*in.EmpiricalPolicy)
	}
	created, err := a.Store.CreateFlowRun(ctx, ws, run, initial)
	if err != nil {
		return nil, false, err
	}
	return run, created, nil
}

// deploymentRunLabels are a deployment's run's labels: the deployment's,
// the system labels naming its flow and deployment, and the run's own.
func deploymentRunLabels(d *model.Deployment, own map[string]any) map[string]any {
	labels := map[string]any{}
	for k, v := range d.Labels {
		labels[k] = v
	}
	labels["prefect.flow.id"] = d.FlowID.String()
	labels["prefect.deployment.id"] = d.ID.String()
	for k, v := range own {
		labels[k] = v
	}
	return labels
}

// maxScheduleRuns bounds the runs one schedule call makes per schedule.
const maxScheduleRuns = 1000

// scheduleDeployment answers POST /deployments/{id}/schedule: the runs of
// the deployment's active schedules in the window the body gives, over
// the scheduler's defaults (backfills give a window in the past).
func (a *API) scheduleDeployment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Start   *model.Time `json:"start_time"`
		End     *model.Time `json:"end_time"`
		MinTime *float64    `json:"min_time"`
		MinRuns *int        `json:"min_runs"`
		MaxRuns *int        `json:"max_runs"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	ws := workspaceID(r)
	d, err := a.Store.GetDeployment(r.Context(), ws, id)
	if err != nil {
		return notFound(err, deploymentNotFoundRead)
	}
	win := services.DefaultWindow(a.now())
	if in.Start != nil {
		win = services.DefaultWindow(in.Start.Time)
	}
	if in.End != nil {
		win.End = in.End.Time
	}
	if in.MinTime != nil {
		win.MinTime = time.Duration(*in.MinTime * float64(time.Second))
	}
	if in.MinRuns != nil {
		win.MinRuns = *in.MinRuns
	}
	if in.MaxRuns != nil {
		if *in.MaxRuns > maxScheduleRuns {
			return detail(http.StatusUnprocessableEntity, "max_runs must be at most %d.", maxScheduleRuns)
		}
		win.MaxRuns = *in.MaxRuns
	}
	if _, err := services.ScheduleRuns(r.Context(), a.Store, ws, d, win, a.Logger); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nil)
	return nil
}
