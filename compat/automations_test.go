package compat

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Acceptance 4 of #20: a deployment served by the real client with
// flow.serve(triggers=[DeploymentEventTrigger(...)]) gets its automation
// (owned by the deployment, as the client makes it), and is run when a
// matching event is posted, with the trigger's parameters; an event that
// does not match runs nothing.
func TestServeWithTrigger(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		startServeScript(t, api, "serve_triggered.py")
		var dep deploymentInfo
		eventually(t, 60*time.Second, "the served deployment", func(ctx context.Context) (bool, string) {
			err := api.call(ctx, "GET", "/deployments/name/triggered/on-order", nil, &dep)
			return err == nil, fmt.Sprint(err)
		})
		var related []struct {
			ID      string `json:"id"`
			Trigger struct {
				Expect []string `json:"expect"`
			} `json:"trigger"`
			Actions []struct {
				Type         string `json:"type"`
				DeploymentID string `json:"deployment_id"`
			} `json:"actions"`
		}
		eventually(t, 30*time.Second, "the deployment's automation", func(ctx context.Context) (bool, string) {
			err := api.call(ctx, "GET", "/automations/related-to/prefect.deployment."+dep.ID, nil, &related)
			return len(related) == 1, fmt.Sprintf("%d automations (%v)", len(related), err)
		})
		if a := related[0]; len(a.Actions) != 1 || a.Actions[0].Type != "run-deployment" || a.Actions[0].DeploymentID != dep.ID ||
			len(a.Trigger.Expect) != 1 || a.Trigger.Expect[0] != "compat.order.placed" {
			t.Errorf("the served trigger's automation: %+v", a)
		}
		post := func(name, resource string) {
			api.post(t, "/events", []obj{{"id": uuid.Must(uuid.NewV7()).String(), "occurred": time.Now().UTC().Format(time.RFC3339Nano),
				"event": name, "resource": obj{"prefect.resource.id": resource}}}, nil)
		}
		post("compat.order.cancelled", "compat.order.1")
		post("compat.order.placed", "compat.shipment.1")
		post("compat.order.placed", "compat.order.2")
		var run servedRun
		eventually(t, 120*time.Second, "the triggered run to complete", func(ctx context.Context) (bool, string) {
			runs, err := runsOfDeployment(ctx, api, dep.ID)
			if len(runs) > 0 {
				run = runs[0]
			}
			return len(runs) == 1 && run.StateType == "COMPLETED", fmt.Sprintf("%d runs, first %s (%v)", len(runs), run.StateType, err)
		})
		if _, err := findLog(t.Context(), api, run.ID, 20, "triggered for the order"); err != nil {
			t.Error(err)
		}
		if runs, _ := runsOfDeployment(t.Context(), api, dep.ID); len(runs) != 1 {
			t.Errorf("%d runs: the events that do not match ran the deployment too", len(runs))
		}
	})
}
