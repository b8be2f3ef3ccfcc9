package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/notify"
)

// TestNotificationBlockTypesServed: once notify.Ensure has run for a
// workspace, its notification block types are served as Prefect serves
// its own (protected, with their schemas), and a block made of one keeps
// its secret fields sealed: the API answers them obfuscated.
func TestNotificationBlockTypesServed(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		ts.do("GET", "/block_types/slug/slack-webhook", nil).expect(http.StatusNotFound)
		// Prefect's route for the server's own block types registers them.
		ts.do("POST", "/block_types/install_system_block_types", nil).expect(http.StatusOK)
		slack := ts.do("GET", "/block_types/slug/slack-webhook", nil).expect(http.StatusOK).object()
		if slack["name"] != "Slack Webhook" || slack["is_protected"] != true {
			t.Errorf("slack-webhook block type: %v", slack)
		}
		ts.do("DELETE", "/block_types/"+slack["id"].(string), nil).expect(http.StatusForbidden)
		// The Python client saving its own SlackWebhook registers its
		// schema (version 3.8.8) for the type it finds: that must work
		// beside Praetor's.
		clientFields := map[string]any{"title": "SlackWebhook", "type": "object", "block_type_slug": "slack-webhook",
			"properties": map[string]any{"url": map[string]any{"type": "string", "format": "password", "writeOnly": true}},
			"required":   []string{"url"}, "secret_fields": []string{"url"}, "block_schema_references": map[string]any{}}
		ts.do("POST", "/block_schemas/", map[string]any{"fields": clientFields, "block_type_id": slack["id"], "capabilities": []string{"notify"}, "version": "3.8.8"}).
			expect(http.StatusCreated)

		for _, def := range notify.BlockTypes() {
			var schemas []map[string]any
			ts.do("POST", "/block_schemas/filter", map[string]any{"block_schemas": map[string]any{"block_type_id": map[string]any{"any_": []string{idOfType(t, ts, def.Type.Slug)}}}}).
				expect(http.StatusOK).decode(&schemas)
			want := 1
			if def.Type.Slug == "slack-webhook" {
				want = 2 // with the client's
			}
			if len(schemas) != want || !hasVersion(schemas, notify.SchemaVersion) {
				t.Errorf("%s: schemas %v", def.Type.Slug, schemas)
			}
		}

		var schemas []map[string]any
		ts.do("POST", "/block_schemas/filter", map[string]any{"block_schemas": map[string]any{"block_type_id": map[string]any{"any_": []string{idOfType(t, ts, "smtp-email")}}}}).
			expect(http.StatusOK).decode(&schemas)
		doc := ts.do("POST", "/block_documents/", map[string]any{
			"name": "ops-mail", "block_type_id": idOfType(t, ts, "smtp-email"), "block_schema_id": schemas[0]["id"],
			"data": map[string]any{"smtp_server": "mail.example.com", "smtp_type": "STARTTLS", "username": "ops", "password": "hunter2-secret", "email_to": []string{"ops@example.com"}},
		}).expect(http.StatusCreated).object()
		body := string(ts.do("GET", "/block_documents/"+doc["id"].(string), nil).expect(http.StatusOK).Body)
		if strings.Contains(body, "hunter2-secret") || !strings.Contains(body, `"password":"********"`) {
			t.Errorf("the SMTP password is not obfuscated: %s", body)
		}
		if body := string(ts.do("GET", "/block_documents/"+doc["id"].(string)+"?include_secrets=true", nil).expect(http.StatusOK).Body); !strings.Contains(body, "hunter2-secret") {
			t.Errorf("include_secrets does not answer the password: %s", body)
		}
	})
}

func idOfType(t *testing.T, ts *testServer, slug string) string {
	t.Helper()
	return ts.do("GET", "/block_types/slug/"+slug, nil).expect(http.StatusOK).object()["id"].(string)
}

func hasVersion(schemas []map[string]any, version string) bool {
	for _, s := range schemas {
		if s["version"] == version {
			return true
		}
	}
	return false
}
