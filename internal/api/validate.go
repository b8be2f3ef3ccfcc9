package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Request bodies decode with encoding/json; when one does not fit, the
// functions below describe the problem as Prefect's server (FastAPI and
// pydantic) does: the error type and the location of the first bad value.

// enum is implemented by the string types that Prefect declares as enums.
type enum interface{ Valid() bool }

var (
	enumType = reflect.TypeFor[enum]()
	uuidType = reflect.TypeFor[uuid.UUID]()
	timeType = reflect.TypeFor[model.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// enumMembers are the top-level body members that Prefect declares as enums
// while praetor decodes them as plain strings: the filter routes' sort.
var enumMembers = []string{"sort"}

// syntaxError is FastAPI's json_invalid error. Its location is the character
// (not byte) position at which Python's json module gives up, which is
// where the bad token starts rather than where Go noticed it.
func syntaxError(body []byte, se *json.SyntaxError) fieldError {
	msg := se.Error()
	pos := int(se.Offset)
	if strings.HasPrefix(msg, "invalid character") {
		pos-- // Go counts the offending byte as read
	}
	pos = max(0, min(pos, len(body)))
	switch {
	case strings.Contains(msg, "in literal"):
		// A misspelled true, false or null: Python expects a value where
		// the word starts.
		for pos > 0 && isLetter(body[pos-1]) {
			pos--
		}
	case strings.Contains(msg, "in string escape code"):
		// Python points at the backslash of a bad escape.
		if i := bytes.LastIndexByte(body[:pos], '\\'); i >= 0 {
			pos = i
		}
	case pos == len(body):
		// The body ends early. In a string, Python reports where the
		// string starts; in a word, where the word starts.
		if start, ok := openString(body); ok {
			pos = start
		} else {
			for pos > 0 && isLetter(body[pos-1]) {
				pos--
			}
		}
	}
	return fieldError{Type: "json_invalid", Loc: []any{"body", utf8.RuneCount(body[:pos])}, Msg: "JSON decode error"}
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// openString reports whether body ends inside a string, and where that
// string's opening quote is.
func openString(body []byte) (int, bool) {
	start, in, escaped := 0, false, false
	for i, c := range body {
		switch {
		case !in && c == '"':
			start, in = i, true
		case in && escaped:
			escaped = false
		case in && c == '\\':
			escaped = true
		case in && c == '"':
			in = false
		}
	}
	return start, in
}

// locate finds the first value of v, a body decoded as generic JSON, that
// does not fit type t, and describes it as pydantic would. loc is the
// location of v below "body".
func locate(t reflect.Type, v any, loc []any) (fieldError, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return fieldError{}, false // Go takes null for any type
	}
	bad := func(typ, msg string) (fieldError, bool) {
		return fieldErr(typ, msg, v, loc...), true
	}
	s, isString := v.(string)
	switch {
	case t == rawType || t.Kind() == reflect.Interface:
		return fieldError{}, false
	case t == uuidType:
		if !isString {
			return bad("uuid_type", "UUID input should be a string, bytes or UUID object")
		}
		if _, err := uuid.Parse(s); err != nil {
			return bad("uuid_parsing", "Input should be a valid UUID, "+err.Error())
		}
		return fieldError{}, false
	case t == timeType:
		var err error
		switch v := v.(type) {
		case string:
			_, err = model.ParseTime(v)
		case float64:
			_, err = model.FromEpoch(v)
		default:
			// Prefect's DateTime type answers value_error, not pydantic's datetime_type.
			return bad("value_error", "value is not a valid datetime")
		}
		if err != nil {
			return bad("value_error", "Value error, "+err.Error())
		}
		return fieldError{}, false
	case t.Kind() == reflect.String && t.Implements(enumType):
		if !isString || !reflect.ValueOf(s).Convert(t).Interface().(enum).Valid() {
			return bad("enum", "Input should be a valid enumeration member")
		}
		return fieldError{}, false
	case t.Kind() == reflect.String && len(loc) == 1 && slices.Contains(enumMembers, fmt.Sprint(loc[0])):
		if !isString {
			return bad("enum", "Input should be a valid enumeration member")
		}
		return fieldError{}, false
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("model_attributes_type", "Input should be a valid dictionary or object to extract fields from")
		}
		for _, f := range jsonFields(t) {
			if val, ok := member(m, f.Name); ok {
				if e, found := locate(f.Type, val, append(slices.Clip(loc), f.Name)); found {
					return e, true
				}
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("dict_type", "Input should be a valid dictionary")
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if e, found := locate(t.Elem(), m[k], append(slices.Clip(loc), k)); found {
				return e, true
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok {
			return bad("list_type", "Input should be a valid list")
		}
		for i, item := range list {
			if e, found := locate(t.Elem(), item, append(slices.Clip(loc), i)); found {
				return e, true
			}
		}
	case reflect.String:
		if !isString {
			return bad("string_type", "Input should be a valid string")
		}
	case reflect.Bool:
		switch v.(type) {
		case bool:
		case string, float64:
			return bad("bool_parsing", "Input should be a valid boolean, unable to interpret input")
		default:
			return bad("bool_type", "Input should be a valid boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch n := v.(type) {
		case float64:
			if n != math.Trunc(n) {
				return bad("int_from_float", "Input should be a valid integer, got a number with a fractional part")
			}
		case string:
			return bad("int_parsing", "Input should be a valid integer, unable to parse string as an integer")
		default:
			return bad("int_type", "Input should be a valid integer")
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case float64:
		case string:
			return bad("float_parsing", "Input should be a valid number, unable to parse string as a number")
		default:
			return bad("float_type", "Input should be a valid number")
		}
	}
	return fieldError{}, false
}

// jsonField is a struct field as encoding/json sees it.
type jsonField struct {
	Name  string
	Type  reflect.Type
	Index []int
}

// jsonFields lists the JSON members of struct type t in declaration order,
// with the members of embedded structs that no shallower field shadows.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	var embedded []jsonField
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		ft := f.Type
		if f.Anonymous && tag == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for _, ef := range jsonFields(ft) {
					ef.Index = append([]int{i}, ef.Index...)
					embedded = append(embedded, ef)
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		name := tag
		if name == "" {
			name = f.Name
		}
		seen[name] = true
		out = append(out, jsonField{Name: name, Type: f.Type, Index: []int{i}})
	}
	for _, ef := range embedded {
		if !seen[ef.Name] {
			seen[ef.Name] = true
			out = append(out, ef)
		}
	}
	return out
}

// member finds a JSON object's member as encoding/json does: by exact name,
// else case-insensitively.
func member(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.EqualFold(k, name) {
			return m[k], true
		}
	}
	return nil, false
}

// badEnum finds the first enum value in v, a decoded body, that is not a
// member of its enum; an empty enum field counts as not sent.
func badEnum(v reflect.Value, loc []any) (fieldError, bool) {
	if !hasEnum(v.Type()) {
		return fieldError{}, false
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return fieldError{}, false
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.String {
		if e := v.Interface().(enum); !e.Valid() {
			return fieldErr("enum", "Input should be a valid enumeration member", v.String(), loc...), true
		}
		return fieldError{}, false
	}
	switch v.Kind() {
	case reflect.Struct:
		for _, f := range jsonFields(v.Type()) {
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil || (fv.Kind() == reflect.String && fv.IsZero()) {
				continue
			}
			if e, found := badEnum(fv, append(slices.Clip(loc), f.Name)); found {
				return e, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if e, found := badEnum(v.Index(i), append(slices.Clip(loc), i)); found {
				return e, true
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			if e, found := badEnum(v.MapIndex(k), append(slices.Clip(loc), k.String())); found {
				return e, true
			}
		}
	}
	return fieldError{}, false
}

// enumTypes caches hasEnum.
var enumTypes sync.Map // reflect.Type → bool

// hasEnum reports whether values of t can hold an enum.
func hasEnum(t reflect.Type) bool {
	if v, ok := enumTypes.Load(t); ok {
		return v.(bool)
	}
	enumTypes.Store(t, false) // while in progress, for recursive types
	found := false
	switch {
	case t.Kind() == reflect.String:
		found = t.Implements(enumType)
	case t == rawType || t == uuidType || t == timeType:
	case t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map:
		found = hasEnum(t.Elem())
	case t.Kind() == reflect.Struct:
		for _, f := range jsonFields(t) {
			if hasEnum(f.Type) {
				found = true
				break
			}
		}
	}
	enumTypes.Store(t, found)
	return found
}
