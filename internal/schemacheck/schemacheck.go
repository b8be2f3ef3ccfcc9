// Package schemacheck validates JSON values against the JSON schemas
// Prefect's client sends: a deployment's parameter_openapi_schema (flow run
// parameters) and, with the workers, a work pool's job variables. It
// validates as Prefect's server does: JSON Schema draft 2020-12, after the
// same fixes to pydantic's schemas, and without fetching remote $refs.
package schemacheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var english = message.NewPrinter(language.English)

// Error is a value that does not fit its schema: where (Field, "" for the
// value itself) and why.
type Error struct {
	Field  string
	Reason string
}

// Error says it as Prefect's server does.
func (e *Error) Error() string {
	if e.Field == "" {
		return "Validation failed. Failure reason: " + e.Reason
	}
	return fmt.Sprintf("Validation failed for field '%s'. Failure reason: %s", e.Field, e.Reason)
}

// ErrInvalidSchema is returned for a schema that does not compile.
var ErrInvalidSchema = errors.New("invalid schema")

// Options adjust a validation.
type Options struct {
	// IgnoreRequired drops every "required", for partial values such as a
	// deployment's default parameters.
	IgnoreRequired bool
}

// Validate checks value against schema. It returns an *Error for a value
// that does not fit, an error wrapping ErrInvalidSchema for a schema that
// is not one, and nil when the value fits.
func Validate(schema map[string]any, value any, opts Options) error {
	doc, err := roundTrip(schema)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	root, _ := doc.(map[string]any)
	if root == nil {
		root = map[string]any{}
	}
	preprocess(root)
	if opts.IgnoreRequired {
		dropRequired(root)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const loc = "urn:praetor:schema"
	if err := c.AddResource(loc, root); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSchema, err)
	}
	v, err := roundTrip(value)
	if err != nil {
		return fmt.Errorf("read value: %w", err)
	}
	err = sch.Validate(v)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		leaf := firstLeaf(ve)
		return &Error{Field: strings.Join(leaf.InstanceLocation, "."), Reason: leaf.ErrorKind.LocalizedString(english)}
	}
	return err
}

// roundTrip re-reads v as the library wants JSON: numbers as json.Number.
func roundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

// firstLeaf is the most specific cause of e along its first branch.
func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return e
}

// preprocess applies Prefect's fixes to pydantic's schemas: an optional
// property without a default also takes null, and a list of items is a
// tuple (prefixItems); in the properties and in the definitions.
func preprocess(schema map[string]any) {
	fixProperties(schema)
	if defs, ok := schema["definitions"].(map[string]any); ok {
		for _, d := range defs {
			if def, ok := d.(map[string]any); ok {
				fixProperties(def)
			}
		}
	}
}

func fixProperties(schema map[string]any) {
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return
	}
	required := map[string]bool{}
	if list, ok := schema["required"].([]any); ok {
		for _, r := range list {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	for name, p := range props {
		prop, ok := p.(map[string]any)
		if !ok {
			continue
		}
		if t, typed := prop["type"]; typed && t != "null" && !required[name] {
			if _, hasDefault := prop["default"]; !hasDefault {
				prop["anyOf"] = []any{map[string]any{"type": t}, map[string]any{"type": "null"}}
				delete(prop, "type")
			}
		}
		if items, ok := prop["items"].([]any); ok && len(items) > 0 {
			if _, has := prop["prefixItems"]; !has {
				prop["prefixItems"] = items
				delete(prop, "items")
			}
		}
		fixProperties(prop)
	}
}

// dropRequired removes every "required" keyword that lists properties.
func dropRequired(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["required"].([]any); ok {
			delete(x, "required")
		}
		for _, c := range x {
			dropRequired(c)
		}
	case []any:
		for _, c := range x {
			dropRequired(c)
		}
	}
}
