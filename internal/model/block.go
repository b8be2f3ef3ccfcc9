package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// BlockType is Prefect's BlockType: the kind of a block, named by its slug.
type BlockType struct {
	ID               uuid.UUID `json:"id"`
	Created          Time      `json:"created"`
	Updated          Time      `json:"updated"`
	Name             string    `json:"name"`
	Slug             string    `json:"slug"`
	LogoURL          *string   `json:"logo_url"`
	DocumentationURL *string   `json:"documentation_url"`
	Description      *string   `json:"description"`
	CodeExample      *string   `json:"code_example"`
	IsProtected      bool      `json:"is_protected"`
}

// BlockSchema is Prefect's BlockSchema: one version of a block type's
// fields, known by the checksum of its JSON schema.
type BlockSchema struct {
	ID           uuid.UUID       `json:"id"`
	Created      Time            `json:"created"`
	Updated      Time            `json:"updated"`
	Checksum     string          `json:"checksum"`
	Fields       json.RawMessage `json:"fields"`
	BlockTypeID  uuid.UUID       `json:"block_type_id"`
	BlockType    *BlockType      `json:"block_type"`
	Capabilities []string        `json:"capabilities"`
	Version      string          `json:"version"`
}

// DefaultBlockSchemaVersion is Prefect's version of a schema sent without
// one.
const DefaultBlockSchemaVersion = "non-versioned"

// BlockDocument is Prefect's BlockDocument: a named (or anonymous) value
// of a block schema. Data holds the document's own values with those of
// the documents it references merged in under their names;
// BlockDocumentReferences describes those.
type BlockDocument struct {
	ID                      uuid.UUID      `json:"id"`
	Created                 Time           `json:"created"`
	Updated                 Time           `json:"updated"`
	Name                    *string        `json:"name"`
	Data                    map[string]any `json:"data"`
	BlockSchemaID           uuid.UUID      `json:"block_schema_id"`
	BlockSchema             *BlockSchema   `json:"block_schema"`
	BlockTypeID             uuid.UUID      `json:"block_type_id"`
	BlockTypeName           *string        `json:"block_type_name"`
	BlockType               *BlockType     `json:"block_type"`
	BlockDocumentReferences map[string]any `json:"block_document_references"`
	IsAnonymous             bool           `json:"is_anonymous"`
}

// Obfuscated is what Prefect serves in place of a secret value.
const Obfuscated = "********"

// SecretFields returns the paths a block schema's fields mark secret
// (dotted, "*" for every key below), from its secret_fields member.
func SecretFields(fields json.RawMessage) []string {
	var f struct {
		SecretFields []string `json:"secret_fields"`
	}
	// A schema that is not an object, or whose secret_fields is not a list
	// of strings, marks nothing secret.
	_ = json.Unmarshal(fields, &f)
	return f.SecretFields
}

// flatEntry is a value of a nested object at its path of keys, as
// Prefect's dict_to_flatdict spells it: objects are walked into unless
// empty; lists are values.
type flatEntry struct {
	path  []string
	value any
}

func flatten(data map[string]any, parent []string, out []flatEntry) []flatEntry {
	for _, k := range sortedKeys(data) {
		path := append(slices.Clip(parent), k)
		if m, ok := data[k].(map[string]any); ok && len(m) > 0 {
			out = flatten(m, path, out)
		} else {
			out = append(out, flatEntry{path, data[k]})
		}
	}
	return out
}

func unflatten(entries []flatEntry) map[string]any {
	out := map[string]any{}
	for _, e := range entries {
		m := out
		for _, k := range e.path[:len(e.path)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[e.path[len(e.path)-1]] = e.value
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// secretPaths calls fn with the index of every entry a secret field names:
// the entry at its path if it holds a value, else, for a path with "*",
// every entry under the part before it.
func secretPaths(entries []flatEntry, secretFields []string, fn func(i int, wildcard bool)) {
	for _, field := range secretFields {
		key := strings.Split(field, ".")
		if i := slices.IndexFunc(entries, func(e flatEntry) bool { return slices.Equal(e.path, key) }); i >= 0 && entries[i].value != nil {
			fn(i, false)
			continue
		}
		star := slices.Index(key, "*")
		if star < 0 {
			continue
		}
		for i, e := range entries {
			if len(e.path) >= star && slices.Equal(e.path[:star], key[:star]) {
				fn(i, true)
			}
		}
	}
}

// ObfuscateSecrets returns data with the values of secretFields replaced by
// Obfuscated, as Prefect serves a document without include_secrets.
func ObfuscateSecrets(data map[string]any, secretFields []string) map[string]any {
	if len(secretFields) == 0 {
		return data
	}
	entries := flatten(data, nil, nil)
	secretPaths(entries, secretFields, func(i int, _ bool) { entries[i].value = Obfuscated })
	return unflatten(entries)
}

// KeepSecrets returns update with every secret value sent back obfuscated
// replaced by the current one, as Prefect does: a client that saves a
// document it read without secrets does not overwrite them with stars.
func KeepSecrets(update, current map[string]any, secretFields []string) map[string]any {
	if len(secretFields) == 0 {
		return update
	}
	cur := flatten(current, nil, nil)
	entries := flatten(update, nil, nil)
	currentAt := func(path []string) (any, bool) {
		i := slices.IndexFunc(cur, func(e flatEntry) bool { return slices.Equal(e.path, path) })
		if i < 0 {
			return nil, false
		}
		return cur[i].value, true
	}
	for _, field := range secretFields {
		key := strings.Split(field, ".")
		if v, ok := currentAt(key); ok && v != nil {
			for i := range entries {
				if slices.Equal(entries[i].path, key) && entries[i].value == Obfuscated {
					entries[i].value = v
				}
			}
			continue
		}
		star := slices.Index(key, "*")
		if star < 0 {
			continue
		}
		for i, e := range entries {
			if len(e.path) >= star && slices.Equal(e.path[:star], key[:star]) && e.value == Obfuscated {
				if v, ok := currentAt(e.path); ok {
					entries[i].value = v
				}
			}
		}
	}
	return unflatten(entries)
}

// SplitBlockReferences separates the references to other documents from a
// document's data: a top-level member {"$ref": {"block_document_id": id}}.
func SplitBlockReferences(data map[string]any) (map[string]any, map[string]uuid.UUID, error) {
	plain := map[string]any{}
	var refs map[string]uuid.UUID
	for k, v := range data {
		m, ok := v.(map[string]any)
		ref, isRef := m["$ref"]
		if !ok || !isRef {
			plain[k] = v
			continue
		}
		r, _ := ref.(map[string]any)
		raw, _ := r["block_document_id"].(string)
		if raw == "" {
			return nil, nil, fmt.Errorf("Received block reference without a block_document_id in key %s", k)
		}
		id, err := uuid.Parse(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("Received block reference with an invalid block_document_id in key %s", k)
		}
		if refs == nil {
			refs = map[string]uuid.UUID{}
		}
		refs[k] = id
	}
	return plain, refs, nil
}

// BlockSchemaChecksum is the checksum Prefect's client and server give a
// block schema's fields: the SHA-256 of Python's json.dumps (keys sorted)
// of the fields without their secret_fields members and without the
// definitions of other blocks, as "sha256:<hex>". The client looks schemas
// up by it, so it must be Prefect's to the byte.
func BlockSchemaChecksum(fields json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(fields))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("block schema fields: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return "", errors.New("block schema fields must be an object")
	}
	obj = withoutKey(obj, "secret_fields").(map[string]any)
	if defs, ok := obj["definitions"].(map[string]any); ok && len(defs) > 0 {
		kept := nonBlockDefinitions(obj, defs)
		if len(kept) > 0 {
			obj["definitions"] = kept
		} else {
			delete(obj, "definitions")
		}
	}
	var b strings.Builder
	// Prefect hashes the arguments of its hash_objects call: ((fields,), {}).
	b.WriteString("[[")
	pyJSON(&b, obj)
	b.WriteString("], {}]")
	sum := sha256.Sum256([]byte(b.String()))
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// withoutKey drops key from v's objects at every depth, not inside lists,
// as Prefect's remove_nested_keys does.
func withoutKey(v any, key string) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		if k != key {
			out[k] = withoutKey(x, key)
		}
	}
	return out
}

// nonBlockDefinitions returns the definitions obj refers to, directly or
// through other definitions, that are not blocks (have no
// block_type_slug).
func nonBlockDefinitions(obj any, defs map[string]any) map[string]any {
	out := map[string]any{}
	for _, ref := range refStrings(obj, nil) {
		name := strings.ReplaceAll(ref, "#/definitions/", "")
		def, ok := defs[name].(map[string]any)
		if !ok || len(def) == 0 {
			continue
		}
		if _, isBlock := def["block_type_slug"]; isBlock && def["block_type_slug"] != nil {
			continue
		}
		out[name] = def
		for k, v := range nonBlockDefinitions(def, defs) {
			out[k] = v
		}
	}
	return out
}

func refStrings(v any, out []string) []string {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok && ref != "" {
			out = append(out, ref)
		}
		for _, k := range sortedKeys(x) {
			out = refStrings(x[k], out)
		}
	case []any:
		for _, e := range x {
			out = refStrings(e, out)
		}
	}
	return out
}

// pyJSON writes v as Python's json.dumps(v, sort_keys=True) does: ", " and
// ": " separators, non-ASCII escaped as \uXXXX.
func pyJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(pyNumber(x))
	case string:
		pyString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, k)
			b.WriteString(": ")
			pyJSON(b, x[k])
		}
		b.WriteByte('}')
	}
}

// pyNumber is a JSON number as Python prints it once parsed: integers as
// written, floats by repr.
func pyNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s
	}
	f, err := n.Float64()
	if err != nil {
		return s
	}
	// repr: the shortest digits that round-trip, fixed-point for decimal
	// exponents from -4 to 15, else exponent form (1e+16, 1.5e-07), which
	// Go's 'e' format spells the same way.
	if f == 0 || math.Abs(f) >= 1e-4 && math.Abs(f) < 1e16 {
		r := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(r, ".") {
			r += ".0"
		}
		return r
	}
	return strconv.FormatFloat(f, 'e', -1, 64)
}

func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r > 0xffff:
			r -= 0x10000
			fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}
