package compat

import (
	"strings"
	"testing"
	"time"
)

// Issue #22, acceptance 2: a service account given the Worker role in
// alice/prod runs a deployment there with `praetor worker start` and its
// pnb_ key; with that key it cannot read a block's secret values or delete
// the deployment (403 with Prefect's error shape). Rotation and revocation
// are tested on the API (internal/api TestServiceAccountKeys), on a fake
// clock.
func TestServiceAccountWorker(t *testing.T) {
	forEachPraetor(t, func(t *testing.T, api *apiClient) {
		c := newCloud(t, api)
		prod := c.ws["alice/prod"]
		account := prod[strings.Index(prod, "/api/accounts/")+len("/api"):]
		account = account[:strings.Index(account, "/workspaces/")]
		workspace := prod[strings.LastIndex(prod, "/")+1:]
		alice := api.at(api.base, c.aliceKey)
		var sa struct {
			ID     string `json:"id"`
			APIKey struct {
				Key string `json:"key"`
			} `json:"api_key"`
		}
		alice.post(t, account+"/bots/", obj{"name": "prod-worker"}, &sa)
		if !strings.HasPrefix(sa.APIKey.Key, "pnb_") {
			t.Fatalf("service account key %q", sa.APIKey.Key)
		}
		if err := alice.call(t.Context(), "PUT", account+"/bots/"+sa.ID+"/workspaces/"+workspace, obj{"role": "worker"}, nil); err != nil {
			t.Fatal(err)
		}
		owner := api.at(prod, c.aliceKey)
		dep := deployPooled(t, owner, "sa-pool", "{}")
		const secret = "sk-compat-0123456789"
		var bt, schema struct {
			ID string `json:"id"`
		}
		owner.post(t, "/block_types/", obj{"name": "Secret", "slug": "secret"}, &bt)
		owner.post(t, "/block_schemas/", obj{"block_type_id": bt.ID, "capabilities": []string{}, "fields": obj{"title": "Secret", "type": "object",
			"properties": obj{"value": obj{"type": "string", "format": "password", "writeOnly": true}}, "secret_fields": []string{"value"}}}, &schema)
		var created struct {
			ID string `json:"id"`
		}
		owner.post(t, "/block_documents/", obj{"name": "token", "data": obj{"value": secret}, "block_schema_id": schema.ID, "block_type_id": bt.ID}, &created)
		secretDoc := created.ID

		bot := api.at(prod, sa.APIKey.Key)
		startPraetorWorker(t, bot, "sa-pool", "--name", "sa-worker")
		var run servedRun
		owner.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 3}}, &run)
		waitRunState(t, owner, run.ID, "COMPLETED", 180*time.Second)
		var workers []workerInfo
		owner.post(t, "/work_pools/sa-pool/workers/filter", obj{}, &workers)
		if len(workers) != 1 || workers[0].Name != "sa-worker" {
			t.Errorf("workers %+v", workers)
		}

		if err := bot.call(t.Context(), "DELETE", "/deployments/"+dep.ID, nil, nil); err == nil ||
			!strings.Contains(err.Error(), "status 403") || !strings.Contains(err.Error(), `{"detail":`) {
			t.Errorf("the worker's key deleting the deployment: %v", err)
		}
		owner.get(t, "/deployments/"+dep.ID, nil)
		var doc struct {
			ID   string         `json:"id"`
			Data map[string]any `json:"data"`
		}
		bot.get(t, "/block_documents/"+secretDoc+"?include_secrets=true", &doc)
		if doc.ID != secretDoc || doc.Data["value"] == secret {
			t.Errorf("the worker's key read %+v", doc)
		}
	})
}
