package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/notify"
	"github.com/praetorhq/praetor/internal/store"
)

const automationNotFound = "Automation not found"

func (a *API) automationRoutes() {
	a.route("POST", "/automations/", "create:automation", a.createAutomation)
	a.route("GET", "/automations/{id}", "read:automation", readByID(a.Store.GetAutomation, automationNotFound))
	a.route("PUT", "/automations/{id}", "update:automation", a.updateAutomation)
	a.route("PATCH", "/automations/{id}", "update:automation", a.patchAutomation)
	a.route("DELETE", "/automations/{id}", "delete:automation", deleteByID(a.Store.DeleteAutomation, automationNotFound))
	a.route("POST", "/automations/filter", "read:automation", query(filterQuery[store.AutomationQuery](store.AutomationSorts), a.Store.ListAutomations))
	a.route("POST", "/automations/count", "read:automation", query(filterQuery[store.AutomationQuery](nil), a.Store.CountAutomations))
	a.route("GET", "/automations/related-to/{resource_id}", "read:automation", a.automationsRelatedTo)
	a.route("DELETE", "/automations/owned-by/{resource_id}", "delete:automation", a.deleteAutomationsOwnedBy)
	a.route("POST", "/templates/validate", "read:automation", a.validateTemplate)
	a.route("POST", "/automations/templates/validate", "read:automation", a.validateTemplate)
}

// automationBody is Prefect's AutomationCreate and AutomationUpdate.
type automationBody struct {
	Name             *string         `json:"name"`
	Description      string          `json:"description"`
	Enabled          *bool           `json:"enabled"`
	Tags             []string        `json:"tags"`
	Trigger          *model.Trigger  `json:"trigger"`
	Actions          []*model.Action `json:"actions"`
	ActionsOnTrigger []*model.Action `json:"actions_on_trigger"`
	ActionsOnResolve []*model.Action `json:"actions_on_resolve"`
	OwnerResource    *string         `json:"owner_resource"`
}

// decodeAutomation reads and checks an automation body as Prefect does.
func decodeAutomation(w http.ResponseWriter, r *http.Request) (*model.Automation, *string, error) {
	var in automationBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return nil, nil, err
	}
	if in.Name == nil {
		return nil, nil, required(body, "string_type", "Input should be a valid string", "name")
	}
	if in.Trigger == nil {
		return nil, nil, required(body, "missing", "Field required", "trigger")
	}
	if in.Actions == nil {
		return nil, nil, required(body, "list_type", "Input should be a valid list", "actions")
	}
	au := &model.Automation{Name: *in.Name, Description: in.Description, Enabled: in.Enabled == nil || *in.Enabled, Tags: in.Tags,
		Trigger: in.Trigger, Actions: in.Actions, ActionsOnTrigger: in.ActionsOnTrigger, ActionsOnResolve: in.ActionsOnResolve}
	if err := automations.Prepare(au); err != nil {
		var ve *automations.Error
		if errors.As(err, &ve) {
			return nil, nil, invalid(body, fieldErr("value_error", ve.Msg, nil, ve.Loc...))
		}
		return nil, nil, err
	}
	return au, in.OwnerResource, nil
}

// createAutomation answers POST /automations/ with 201 and the automation.
func (a *API) createAutomation(w http.ResponseWriter, r *http.Request) error {
	au, owner, err := decodeAutomation(w, r)
	if err != nil {
		return err
	}
	if err := a.checkAutomationTargets(r, au); err != nil {
		return err
	}
	o := ""
	if owner != nil {
		o = *owner
	}
	if err := a.Store.CreateAutomation(r.Context(), workspaceID(r), au, o); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, au)
	return nil
}

// checkAutomationTargets refuses, as Prefect does, job variables of a
// selected deployment's run that its work pool's template refuses.
func (a *API) checkAutomationTargets(r *http.Request, au *model.Automation) error {
	var errs []string
	for _, act := range au.Actions {
		if act.Type != model.ActionRunDeployment || act.DeploymentID == nil || len(act.JobVariables) == 0 {
			continue
		}
		if err := a.validateRunJobVariables(r.Context(), workspaceID(r), *act.DeploymentID, act.JobVariables); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return detail(http.StatusUnprocessableEntity, "Error creating automation: %s", strings.Join(errs, " "))
	}
	return nil
}

// updateAutomation answers PUT /automations/{id} with 204.
func (a *API) updateAutomation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	au, _, err := decodeAutomation(w, r)
	if err != nil {
		return err
	}
	if err := a.checkAutomationTargets(r, au); err != nil {
		return err
	}
	au.ID = id
	if err := a.Store.UpdateAutomation(r.Context(), workspaceID(r), au); err != nil {
		return objectNotFound(err, automationNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchAutomation answers PATCH /automations/{id}, which sets enabled
// only (true when absent, as in Prefect).
func (a *API) patchAutomation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Enabled *bool `json:"enabled"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	var members map[string]any
	_ = json.Unmarshal(body, &members)
	for k := range members {
		if k != "enabled" {
			return invalid(body, fieldErr("extra_forbidden", "Extra inputs are not permitted", members[k], k))
		}
	}
	if err := a.Store.SetAutomationEnabled(r.Context(), workspaceID(r), id, in.Enabled == nil || *in.Enabled); err != nil {
		return objectNotFound(err, automationNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) automationsRelatedTo(w http.ResponseWriter, r *http.Request) error {
	out, err := a.Store.AutomationsRelatedTo(r.Context(), workspaceID(r), r.PathValue("resource_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteAutomationsOwnedBy answers 202: the client deletes a deployment's
// automations this way before it creates its triggers again.
func (a *API) deleteAutomationsOwnedBy(w http.ResponseWriter, r *http.Request) error {
	if err := a.Store.DeleteAutomationsOwnedBy(r.Context(), workspaceID(r), r.PathValue("resource_id"), a.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// validateRunJobVariables checks job variables an automation would run a
// deployment with against its work pool's template.
func (a *API) validateRunJobVariables(ctx context.Context, ws, deployment uuid.UUID, jobVariables map[string]any) error {
	d, err := a.Store.GetDeployment(ctx, ws, deployment)
	if err != nil || d.WorkPoolName == nil {
		// A missing deployment fails the action when it runs, as in Prefect.
		return nil
	}
	pool, err := a.Store.GetWorkPool(ctx, ws, *d.WorkPoolName)
	if err != nil {
		return nil
	}
	var ae *apiError
	if err := checkJobVariables(pool, false, "Validation failed", jobVariables); errors.As(err, &ae) {
		if m, ok := ae.body.(map[string]string); ok {
			return errors.New(m["detail"])
		}
		return err
	}
	return nil
}

// validateTemplate answers POST /templates/validate (and its older
// /automations/ path): 204 for a template notify can render, else 422 with
// the line and message, in Prefect's shape.
func (a *API) validateTemplate(w http.ResponseWriter, r *http.Request) error {
	var tmpl string
	if _, err := decode(w, r, &tmpl, true); err != nil {
		return err
	}
	var se *notify.SyntaxError
	if err := notify.Validate(tmpl); errors.As(err, &se) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": map[string]any{"line": se.Line, "message": se.Message, "source": tmpl}})
		return nil
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
