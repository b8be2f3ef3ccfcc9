package model

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/google/uuid"
)

// TestBlockSchemaChecksum checks the checksum against the one Prefect's
// client computes (Block._calculate_schema_checksum) for schemas it made:
// testdata/block_schemas.json was written by prefect 3.8.8 from Secret,
// LocalFileSystem, RemoteFileSystem, SlackWebhook and two blocks with
// nested blocks, secrets, non-ASCII text and floats in exponent form.
func TestBlockSchemaChecksum(t *testing.T) {
	b, err := os.ReadFile("testdata/block_schemas.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string          `json:"name"`
		Fields   json.RawMessage `json:"fields"`
		Checksum string          `json:"checksum"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		got, err := BlockSchemaChecksum(c.Fields)
		if err != nil || got != c.Checksum {
			t.Errorf("%s: checksum %s (%v), Prefect's %s", c.Name, got, err, c.Checksum)
		}
	}
	if _, err := BlockSchemaChecksum(json.RawMessage(`[1]`)); err == nil {
		t.Error("a list of fields has a checksum")
	}
}

func TestObfuscateSecrets(t *testing.T) {
	data := map[string]any{
		"value": "s3cr3t",
		"none":  nil,
		"creds": map[string]any{"password": "p", "user": "u"},
		"d":     map[string]any{"a": "1", "b": map[string]any{"c": 2}},
		"list":  []any{"x"},
	}
	got := ObfuscateSecrets(data, []string{"value", "none", "creds.password", "d.*", "missing"})
	want := map[string]any{
		"value": Obfuscated,
		"none":  nil,
		"creds": map[string]any{"password": Obfuscated, "user": "u"},
		"d":     map[string]any{"a": Obfuscated, "b": map[string]any{"c": Obfuscated}},
		"list":  []any{"x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ObfuscateSecrets:\n got %v\nwant %v", got, want)
	}
	if data["value"] != "s3cr3t" {
		t.Error("ObfuscateSecrets changed its argument")
	}

	// An update that sends the stars back keeps the stored secrets; a new
	// value replaces them.
	current := map[string]any{"value": "old", "d": map[string]any{"a": "1", "b": "2"}}
	update := map[string]any{"value": Obfuscated, "d": map[string]any{"a": Obfuscated, "b": "new"}}
	kept := KeepSecrets(update, current, []string{"value", "d.*"})
	if !reflect.DeepEqual(kept, map[string]any{"value": "old", "d": map[string]any{"a": "1", "b": "new"}}) {
		t.Errorf("KeepSecrets: %v", kept)
	}
	if kept := KeepSecrets(map[string]any{"value": "fresh"}, current, []string{"value"}); kept["value"] != "fresh" {
		t.Errorf("KeepSecrets dropped a new secret: %v", kept)
	}
}

func TestSplitBlockReferences(t *testing.T) {
	id := uuid.New()
	plain, refs, err := SplitBlockReferences(map[string]any{
		"child": map[string]any{"$ref": map[string]any{"block_document_id": id.String()}},
		"x":     map[string]any{"y": 1},
	})
	if err != nil || refs["child"] != id || len(refs) != 1 || plain["child"] != nil || plain["x"] == nil {
		t.Errorf("SplitBlockReferences: %v, %v, %v", plain, refs, err)
	}
	if _, _, err := SplitBlockReferences(map[string]any{"c": map[string]any{"$ref": map[string]any{}}}); err == nil {
		t.Error("a reference without an id was accepted")
	}
}
