package api

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// blockFixture is the block type and schema registerSecret made, and the
// schema's checksum.
type blockFixture struct {
	typeID, schemaID, checksum string
}

// secretSchema returns the fields and checksum Prefect's client computed
// for its Secret block (internal/model/testdata).
func secretSchema(t *testing.T) (json.RawMessage, string) {
	t.Helper()
	b, err := os.ReadFile("../model/testdata/block_schemas.json")
	check(t, err)
	var cases []struct {
		Name     string          `json:"name"`
		Fields   json.RawMessage `json:"fields"`
		Checksum string          `json:"checksum"`
	}
	check(t, json.Unmarshal(b, &cases))
	for _, c := range cases {
		if c.Name == "Secret" {
			return c.Fields, c.Checksum
		}
	}
	t.Fatal("no Secret schema in testdata")
	return nil, ""
}

// registerSecret registers the Secret block type and schema under base as
// the client does on save().
func registerSecret(t *testing.T, c *testServer, base string) blockFixture {
	t.Helper()
	fields, checksum := secretSchema(t)
	bt := c.do("POST", base+"/block_types/", map[string]any{"name": "Secret", "slug": "secret", "description": "A secret"}).expect(http.StatusCreated).object()
	s := c.do("POST", base+"/block_schemas/", map[string]any{"fields": fields, "block_type_id": bt["id"], "capabilities": []string{}, "version": "3.8.8"}).
		expect(http.StatusCreated).object()
	return blockFixture{typeID: bt["id"].(string), schemaID: s["id"].(string), checksum: checksum}
}

const secretValue = "sk-live-0123456789abcdef"

// TestBlocks walks the block routes as Prefect's client uses them: register
// a type and schema (idempotently, found by checksum), save a document
// with a secret, load it by name with and without secrets, update it, refer
// to it from another, list, count and delete. The secret never reaches the
// log or the database in clear.
func TestBlocks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		fx := registerSecret(t, ts, "")
		// The server's checksum is the client's, so the client finds it.
		s := ts.do("GET", "/block_schemas/checksum/"+fx.checksum, nil).expect(http.StatusOK).object()
		if s["id"] != fx.schemaID || s["checksum"] != fx.checksum || s["version"] != "3.8.8" || s["block_type"].(map[string]any)["slug"] != "secret" {
			t.Errorf("schema by checksum: %v", s)
		}
		ts.do("GET", "/block_schemas/checksum/"+fx.checksum+"?version=1.0", nil).expect(http.StatusNotFound)
		fields, _ := secretSchema(t)
		again := ts.do("POST", "/block_schemas/", map[string]any{"fields": fields, "block_type_id": fx.typeID, "version": "3.8.8"}).expect(http.StatusOK).object()
		if again["id"] != fx.schemaID {
			t.Errorf("registering the same schema again made another: %v", again["id"])
		}
		bt := ts.do("GET", "/block_types/slug/secret", nil).expect(http.StatusOK).object()
		for _, k := range []string{"id", "created", "updated", "name", "slug", "logo_url", "documentation_url", "description", "code_example", "is_protected"} {
			if _, ok := bt[k]; !ok {
				t.Errorf("block type lacks %s: %v", k, bt)
			}
		}
		ts.do("PATCH", "/block_types/"+fx.typeID, map[string]any{"code_example": "x = 1"}).expect(http.StatusNoContent)
		if bt := ts.do("GET", "/block_types/"+fx.typeID, nil).expect(http.StatusOK).object(); bt["code_example"] != "x = 1" || bt["description"] != "A secret" {
			t.Errorf("after PATCH: %v", bt)
		}

		doc := ts.do("POST", "/block_documents/", map[string]any{"name": "api-token", "data": map[string]any{"value": secretValue},
			"block_schema_id": fx.schemaID, "block_type_id": fx.typeID, "is_anonymous": false}).expect(http.StatusCreated).object()
		docID := doc["id"].(string)
		for _, k := range []string{"id", "created", "updated", "name", "data", "block_schema_id", "block_schema", "block_type_id", "block_type_name",
			"block_type", "block_document_references", "is_anonymous"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("block document lacks %s: %v", k, doc)
			}
		}
		ts.do("POST", "/block_documents/", map[string]any{"name": "api-token", "data": map[string]any{},
			"block_schema_id": fx.schemaID, "block_type_id": fx.typeID}).expect(http.StatusConflict)

		value := func(path string) any {
			t.Helper()
			return ts.do("GET", path, nil).expect(http.StatusOK).object()["data"].(map[string]any)["value"]
		}
		for _, p := range []string{"/block_documents/" + docID, "/block_types/slug/secret/block_documents/name/api-token"} {
			if v := value(p); v != "********" {
				t.Errorf("GET %s without include_secrets: value %v", p, v)
			}
			if v := value(p + "?include_secrets=false"); v != "********" {
				t.Errorf("GET %s?include_secrets=false: value %v", p, v)
			}
			if v := value(p + "?include_secrets=true"); v != secretValue {
				t.Errorf("GET %s?include_secrets=true: value %v", p, v)
			}
		}
		ts.do("GET", "/block_documents/"+docID+"?include_secrets=maybe", nil).expect(http.StatusUnprocessableEntity)
		listed := ts.do("POST", "/block_documents/filter", map[string]any{"block_documents": map[string]any{"name": map[string]any{"any_": []string{"api-token"}}},
			"include_secrets": true}).expect(http.StatusOK).list()
		if len(listed) != 1 || listed[0]["data"].(map[string]any)["value"] != secretValue {
			t.Errorf("filter with include_secrets: %v", listed)
		}
		if body := string(ts.do("POST", "/block_documents/filter", map[string]any{}).expect(http.StatusOK).Body); strings.Contains(body, secretValue) {
			t.Errorf("filter without include_secrets shows the secret: %s", body)
		}
		if body := string(ts.do("GET", "/block_types/slug/secret/block_documents", nil).expect(http.StatusOK).Body); strings.Contains(body, secretValue) || !strings.Contains(body, "api-token") {
			t.Errorf("a type's documents without include_secrets: %s", body)
		}

		// Saving back what was read without secrets keeps the secret.
		ts.do("PATCH", "/block_documents/"+docID, map[string]any{"data": map[string]any{"value": "********"}, "merge_existing_data": false}).expect(http.StatusNoContent)
		if v := value("/block_documents/" + docID + "?include_secrets=true"); v != secretValue {
			t.Errorf("after saving the stars back: %v", v)
		}

		// A document referring to the secret shows its data and reference.
		parent := ts.do("POST", "/block_documents/", map[string]any{"name": "parent", "block_schema_id": fx.schemaID, "block_type_id": fx.typeID,
			"data": map[string]any{"inner": map[string]any{"$ref": map[string]any{"block_document_id": docID}}}}).expect(http.StatusCreated).object()
		if got := normJSON(t, parent["data"]); got != `{"inner":{"value":"********"}}` {
			t.Errorf("parent data %s", got)
		}
		ref := parent["block_document_references"].(map[string]any)["inner"].(map[string]any)["block_document"].(map[string]any)
		if ref["id"] != docID || ref["name"] != "api-token" {
			t.Errorf("reference %v", ref)
		}
		ts.do("POST", "/block_documents/", map[string]any{"name": "broken", "block_schema_id": fx.schemaID, "block_type_id": fx.typeID,
			"data": map[string]any{"inner": map[string]any{"$ref": map[string]any{}}}}).expect(http.StatusBadRequest)
		ts.do("POST", "/block_documents/", map[string]any{"name": "Bad Name", "block_schema_id": fx.schemaID, "block_type_id": fx.typeID}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/block_documents/", map[string]any{"block_schema_id": fx.schemaID, "block_type_id": fx.typeID}).expect(http.StatusUnprocessableEntity)
		anon := ts.do("POST", "/block_documents/", map[string]any{"is_anonymous": true, "block_schema_id": fx.schemaID, "block_type_id": fx.typeID}).
			expect(http.StatusCreated).object()
		if !strings.HasPrefix(anon["name"].(string), "anonymous-") {
			t.Errorf("anonymous document's name %v", anon["name"])
		}

		var n int
		ts.do("POST", "/block_documents/count", map[string]any{}).expect(http.StatusOK).decode(&n)
		if n != 2 {
			t.Errorf("count %d, want the 2 named documents", n)
		}
		if caps := ts.do("GET", "/block_capabilities/", nil).expect(http.StatusOK).Body; string(caps) != "[]\n" {
			t.Errorf("capabilities %s", caps)
		}
		ts.do("POST", "/block_types/filter", map[string]any{"block_types": map[string]any{"slug": map[string]any{"any_": []string{"secret"}}}}).expect(http.StatusOK)
		ts.do("POST", "/block_schemas/filter", map[string]any{"limit": 201}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/block_types/filter", map[string]any{"offset": -1}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/block_documents/filter", map[string]any{"sort": "CREATED_DESC"}).expect(http.StatusUnprocessableEntity)
		if l := ts.do("POST", "/block_schemas/filter", map[string]any{}).expect(http.StatusOK).list(); len(l) != 1 {
			t.Errorf("schemas %v", l)
		}
		if body := ts.do("POST", "/block_types/install_system_block_types", nil).expect(http.StatusOK).Body; string(body) != "null\n" {
			t.Errorf("install_system_block_types: %s", body)
		}
		ts.do("POST", "/block_types/", map[string]any{"name": "Prefect Thing", "slug": "prefect-thing"}).expect(http.StatusForbidden)
		ts.do("POST", "/block_types/", map[string]any{"name": "Secret", "slug": "secret"}).expect(http.StatusConflict)
		ts.do("POST", "/block_types/", map[string]any{"name": "X", "slug": "Not_A_Slug"}).expect(http.StatusUnprocessableEntity)

		if dump := databaseText(t, ts); strings.Contains(dump, secretValue) {
			t.Error("the secret is stored in clear")
		} else if !strings.Contains(dump, "api-token") {
			t.Fatal("the database dump does not look at the blocks")
		}
		ts.do("DELETE", "/block_documents/"+docID, nil).expect(http.StatusNoContent)
		ts.do("GET", "/block_documents/"+docID, nil).expect(http.StatusNotFound)
		ts.do("DELETE", "/block_schemas/"+fx.schemaID, nil).expect(http.StatusNoContent)
		ts.do("DELETE", "/block_types/"+fx.typeID, nil).expect(http.StatusNoContent)
		ts.do("GET", "/block_types/slug/secret", nil).expect(http.StatusNotFound)
		if strings.Contains(ts.logs.String(), secretValue) {
			t.Error("the secret reached the server log")
		}

		// Named documents' changes are events, as Prefect's server emits
		// them, without their secrets.
		var events struct {
			Events []struct {
				Event    string            `json:"event"`
				Resource map[string]string `json:"resource"`
				Related  []map[string]string
				Payload  map[string]any `json:"payload"`
			} `json:"events"`
		}
		body := ts.do("POST", "/events/filter", map[string]any{"filter": map[string]any{"event": map[string]any{"prefix": []string{"prefect.block-document."}},
			"order": "ASC"}}).expect(http.StatusOK)
		if strings.Contains(string(body.Body), secretValue) {
			t.Errorf("a block document event carries the secret: %s", body.Body)
		}
		body.decode(&events)
		var got []string
		for _, e := range events.Events {
			got = append(got, e.Event+" "+e.Resource["prefect.resource.name"])
			if e.Resource["prefect.resource.id"] == "prefect.block-document."+docID && (len(e.Related) != 2 || e.Related[0]["prefect.resource.name"] != "Secret") {
				t.Errorf("event %s: related %v", e.Event, e.Related)
			}
		}
		want := "prefect.block-document.created api-token,prefect.block-document.updated api-token,prefect.block-document.created parent,prefect.block-document.deleted api-token"
		if strings.Join(got, ",") != want {
			t.Errorf("block document events:\n got %v\nwant %s", got, want)
		}
	})
}

// Viewers, runners and workers see blocks but not their secrets, even when
// they ask (as Prefect's client always does): they get the values
// obfuscated; developers read them. (Workers read them until issue #22.)
func TestBlockSecretsByRole(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, ab := alice.client, alice.base()
		fx := registerSecret(t, a, ab)
		doc := a.do("POST", ab+"/block_documents/", map[string]any{"name": "token", "data": map[string]any{"value": secretValue},
			"block_schema_id": fx.schemaID, "block_type_id": fx.typeID}).expect(http.StatusCreated).object()["id"].(string)
		join(t, alice, bob, "member")
		b := bob.client
		withSecrets := []struct{ method, path, body string }{
			{"GET", "/block_documents/" + doc + "?include_secrets=true", ""},
			{"GET", "/block_types/slug/secret/block_documents/name/token?include_secrets=true", ""},
			{"GET", "/block_types/slug/secret/block_documents?include_secrets=true", ""},
			{"POST", "/block_documents/filter", `{"include_secrets":true}`},
		}
		for _, role := range []string{"viewer", "runner", "worker", "developer"} {
			a.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": role}).expect(http.StatusNoContent)
			allowed := role == "developer"
			for _, p := range withSecrets {
				resp := b.do(p.method, ab+p.path, p.body)
				leaked := strings.Contains(string(resp.Body), secretValue)
				if resp.Status != http.StatusOK || leaked != allowed || !strings.Contains(string(resp.Body), "token") {
					t.Errorf("%s %s %s: %d %s", role, p.method, p.path, resp.Status, resp.Body)
				}
			}
			if body := b.do("GET", ab+"/block_documents/"+doc, nil).expect(http.StatusOK).Body; strings.Contains(string(body), secretValue) {
				t.Errorf("%s reads the secret without include_secrets", role)
			}
		}
		a.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": "viewer"}).expect(http.StatusNoContent)
		for _, p := range []struct{ method, path, body string }{
			{"POST", "/block_types/", `{"name":"X","slug":"x"}`}, {"PATCH", "/block_types/" + fx.typeID, `{"description":"x"}`},
			{"DELETE", "/block_types/" + fx.typeID, ""}, {"DELETE", "/block_schemas/" + fx.schemaID, ""},
			{"PATCH", "/block_documents/" + doc, `{"data":{"value":"x"}}`}, {"DELETE", "/block_documents/" + doc, ""},
		} {
			if resp := b.do(p.method, ab+p.path, p.body); resp.Status != http.StatusForbidden {
				t.Errorf("viewer %s %s: %d", p.method, p.path, resp.Status)
			}
		}
	})
}
