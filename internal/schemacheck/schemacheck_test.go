package schemacheck

import (
	"encoding/json"
	"errors"
	"testing"
)

// flowSchema is the parameter schema Prefect's client sends for
// def f(n: int, name: str = "x", opt: Optional[Point] = None), with a
// definition reached through $ref.
const flowSchema = `{"type":"object","title":"Parameters","properties":{
	"n":{"type":"integer","title":"n","position":0},
	"name":{"type":"string","default":"x","title":"name","position":1},
	"opt":{"$ref":"#/definitions/Point","position":2},
	"pair":{"type":"array","items":[{"type":"integer"},{"type":"string"}]},
	"maybe":{"type":"integer"}},
	"required":["n"],
	"definitions":{"Point":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}}}`

func TestValidate(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal([]byte(flowSchema), &schema); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, values, field string
		ignoreRequired, ok  bool
	}{
		{name: "fits", values: `{"n":1,"name":"y","opt":{"x":2},"pair":[1,"a"]}`, ok: true},
		{name: "optional without a default takes null", values: `{"n":1,"maybe":null}`, ok: true},
		{name: "wrong type", values: `{"n":"one"}`, field: "n"},
		{name: "missing required", values: `{"name":"y"}`, field: ""},
		{name: "required ignored", values: `{"name":"y"}`, ignoreRequired: true, ok: true},
		{name: "through a ref", values: `{"n":1,"opt":{"x":"no"}}`, field: "opt.x"},
		{name: "tuple item", values: `{"n":1,"pair":[1,2]}`, field: "pair.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v map[string]any
			if err := json.Unmarshal([]byte(c.values), &v); err != nil {
				t.Fatal(err)
			}
			err := Validate(schema, v, Options{IgnoreRequired: c.ignoreRequired})
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Field != c.field || e.Reason == "" {
				t.Fatalf("error %v (%#v), want one for field %q", err, e, c.field)
			}
		})
	}
	// A remote $ref is not fetched: the schema is refused.
	remote := map[string]any{"properties": map[string]any{"a": map[string]any{"$ref": "https://example.com/s.json"}}}
	if err := Validate(remote, map[string]any{"a": 1}, Options{}); !errors.Is(err, ErrInvalidSchema) {
		t.Fatalf("a remote $ref: %v, want ErrInvalidSchema", err)
	}
}
