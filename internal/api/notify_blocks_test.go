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
		if err := notify.Ensure(t.Context(), ts.store, ts.workspace.ID); err != nil {
			t.Fatal(err)
		}
		slack := ts.do("GET", "/block_types/slug/slack-webhook", nil).expect(http.StatusOK).object()
		if slack["name"] != "Slack Webhook" || slack["is_protected"] != true {
			t.Errorf("slack-webhook block type: %v", slack)
		}
		ts.do("DELETE", "/block_types/"+slack["id"].(string), nil).expect(http.StatusForbidden)

		for _, def := range notify.BlockTypes() {
			var schemas []map[string]any
			ts.do("POST", "/block_schemas/filter", map[string]any{"block_schemas": map[string]any{"block_type_id": map[string]any{"any_": []string{idOfType(t, ts, def.Type.Slug)}}}}).
				expect(http.StatusOK).decode(&schemas)
			if len(schemas) != 1 || schemas[0]["version"] != notify.SchemaVersion {
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
