package notify

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

type filterFunc func(r *renderer, v any, args []any, kw map[string]any) (any, error)

// filters are Jinja's common filters and Prefect's own (jinja_filters.py).
var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"default":                fDefault,
		"d":                      fDefault,
		"upper":                  stringFilter(strings.ToUpper),
		"lower":                  stringFilter(strings.ToLower),
		"title":                  stringFilter(title),
		"capitalize":             stringFilter(capitalize),
		"trim":                   stringFilter(strings.TrimSpace),
		"string":                 func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) { return str(v), nil },
		"length":                 fLength,
		"count":                  fLength,
		"join":                   fJoin,
		"tojson":                 fToJSON,
		"truncate":               fTruncate,
		"replace":                func(_ *renderer, v any, args []any, kw map[string]any) (any, error) { return replace(str(v), args, kw) },
		"first":                  fFirst,
		"last":                   fLast,
		"int":                    fInt,
		"float":                  fFloat,
		"abs":                    fAbs,
		"round":                  fRound,
		"urlencode":              stringFilter(url.QueryEscape),
		"ui_url":                 fUIURL,
		"ui_resource_events_url": fUIEventsURL,
		"flow_run_id":            fFlowRunID,
	}
}

// arg is the i-th positional argument or the keyword name, else def.
func arg(args []any, kw map[string]any, i int, name string, def any) any {
	if i < len(args) {
		return args[i]
	}
	if v, ok := kw[name]; ok {
		return v
	}
	return def
}

func stringFilter(f func(string) string) filterFunc {
	return func(_ *renderer, v any, _ []any, _ map[string]any) (any, error) { return f(str(v)), nil }
}

func fDefault(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	def := arg(args, kw, 0, "default_value", "")
	_, undef := v.(undefined)
	if undef || (truthy(arg(args, kw, 1, "boolean", false)) && !truthy(v)) {
		return def, nil
	}
	return v, nil
}

// title capitalises each word, as Jinja's title does: a word starts after
// whitespace or one of - ( { [ <.
func title(s string) string {
	var b strings.Builder
	start := true
	for _, c := range s {
		if start {
			b.WriteRune(unicode.ToUpper(c))
		} else {
			b.WriteRune(unicode.ToLower(c))
		}
		start = unicode.IsSpace(c) || strings.ContainsRune("-({[<", c)
	}
	return b.String()
}

func capitalize(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(c)) + strings.ToLower(s[n:])
}

func fLength(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	switch v := v.(type) {
	case string:
		return int64(utf8.RuneCountInString(v)), nil
	case []any:
		return int64(len(v)), nil
	case map[string]any:
		return int64(len(v)), nil
	case Object:
		return int64(len(v.Fields)), nil
	case undefined:
		return int64(0), nil
	}
	return nil, fmt.Errorf("object of type %s has no len()", typeName(v))
}

func fJoin(r *renderer, v any, args []any, kw map[string]any) (any, error) {
	sep := str(arg(args, kw, 0, "d", ""))
	attribute, byAttr := kw["attribute"]
	var b strings.Builder
	for i, item := range iterate(v) {
		if err := r.step(); err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(sep)
		}
		if byAttr {
			item = attr(item, str(attribute))
		}
		b.WriteString(str(item))
		if b.Len() > MaxOutput {
			return nil, ErrLimit
		}
	}
	return b.String(), nil
}

// jsonable is v with objects as their fields and undefined as null, for
// encoding/json.
func jsonable(v any) any {
	switch v := v.(type) {
	case undefined:
		return nil
	case Object:
		return jsonable(v.Fields)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = jsonable(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonable(x)
		}
		return out
	}
	return v
}

// fToJSON is Jinja's tojson: Python's json.dumps (keys sorted, ", " and
// ": " between items, non-ASCII escaped) with <, >, & and ' escaped so that
// the JSON is safe inside HTML.
func fToJSON(r *renderer, v any, args []any, kw map[string]any) (any, error) {
	indent := -1
	if n, ok := arg(args, kw, 0, "indent", nil).(int64); ok {
		indent = int(min(max(n, 0), 16))
	}
	var b strings.Builder
	if err := r.writeJSON(&b, jsonable(v), indent, 0); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func (r *renderer) writeJSON(b *strings.Builder, v any, indent, depth int) error {
	if err := r.step(); err != nil {
		return err
	}
	if b.Len() > MaxOutput {
		return ErrLimit
	}
	sep, open := ", ", ""
	if indent >= 0 {
		sep = ","
		open = "\n" + strings.Repeat(" ", indent*(depth+1))
	}
	closing := ""
	if indent >= 0 {
		closing = "\n" + strings.Repeat(" ", indent*depth)
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(open)
			writeJSONString(b, k)
			b.WriteString(": ")
			if err := r.writeJSON(b, v[k], indent, depth+1); err != nil {
				return err
			}
		}
		b.WriteString(closing + "}")
	case []any:
		if len(v) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(sep)
			}
			b.WriteString(open)
			if err := r.writeJSON(b, x, indent, depth+1); err != nil {
				return err
			}
		}
		b.WriteString(closing + "]")
	case string:
		writeJSONString(b, v)
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("%v is not JSON", v)
		}
		b.WriteString(repr(v))
	case int64, int:
		b.WriteString(repr(v))
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("tojson: %w", err)
		}
		b.Write(enc)
	}
	return nil
}

func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c > 0x7e || strings.ContainsRune("<>&'", c):
			if c > 0xffff {
				r1, r2 := utf16.EncodeRune(c)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(b, `\u%04x`, c)
			}
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
}

// fTruncate is Jinja's truncate(length=255, killwords=False, end='...',
// leeway=5).
func fTruncate(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	s := []rune(str(v))
	length, ok := arg(args, kw, 0, "length", int64(255)).(int64)
	if !ok {
		return nil, fmt.Errorf("length must be an integer")
	}
	killwords := truthy(arg(args, kw, 1, "killwords", false))
	end := []rune(str(arg(args, kw, 2, "end", "...")))
	leeway, ok := arg(args, kw, 3, "leeway", int64(5)).(int64)
	if !ok {
		return nil, fmt.Errorf("leeway must be an integer")
	}
	if length < int64(len(end)) {
		return nil, fmt.Errorf("expected length >= %d, got %d", len(end), length)
	}
	if int64(len(s)) <= length+leeway {
		return string(s), nil
	}
	cut := string(s[:length-int64(len(end))])
	if !killwords {
		if i := strings.LastIndex(cut, " "); i >= 0 {
			cut = cut[:i]
		}
	}
	return cut + string(end), nil
}

func replace(s string, args []any, kw map[string]any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("replace needs the old and the new string")
	}
	n := -1
	if c, ok := arg(args, kw, 2, "count", nil).(int64); ok {
		n = int(c)
	}
	old, repl := str(args[0]), str(args[1])
	// Bound the result before building it: replacing "" or with a long
	// string multiplies the input.
	if k := strings.Count(s, old); len(s)+k*len(repl) > MaxOutput {
		return nil, ErrLimit
	}
	return strings.Replace(s, old, repl, n), nil
}

func fFirst(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	if items := iterate(v); len(items) > 0 {
		return items[0], nil
	}
	return undefined{}, nil
}

func fLast(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	if items := iterate(v); len(items) > 0 {
		return items[len(items)-1], nil
	}
	return undefined{}, nil
}

func fInt(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	if f, ok := number(v); ok {
		return int64(f), nil
	}
	if s, ok := v.(string); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return n, nil
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return int64(f), nil
		}
	}
	return arg(args, kw, 0, "default", int64(0)), nil
}

func fFloat(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	if f, ok := number(v); ok {
		return f, nil
	}
	if s, ok := v.(string); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return f, nil
		}
	}
	return arg(args, kw, 0, "default", 0.0), nil
}

func fAbs(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	if i, ok := v.(int64); ok {
		if i < 0 {
			return -i, nil
		}
		return i, nil
	}
	if f, ok := number(v); ok {
		return math.Abs(f), nil
	}
	return nil, fmt.Errorf("bad operand type for abs(): %s", typeName(v))
}

func fRound(_ *renderer, v any, args []any, kw map[string]any) (any, error) {
	f, ok := number(v)
	if !ok {
		return nil, fmt.Errorf("cannot round %s", typeName(v))
	}
	precision, _ := arg(args, kw, 0, "precision", int64(0)).(int64)
	p := math.Pow(10, float64(min(max(precision, 0), 15)))
	switch str(arg(args, kw, 1, "method", "common")) {
	case "floor":
		return math.Floor(f*p) / p, nil
	case "ceil":
		return math.Ceil(f*p) / p, nil
	}
	return math.Round(f*p) / p, nil
}

// kindAndID is the Prefect kind and id of an object or of an event's
// resource ({"prefect.resource.id": "prefect.flow-run.<id>", …}).
func kindAndID(v any) (kind, id string, ok bool) {
	switch v := v.(type) {
	case Object:
		return v.Kind, v.ID, v.Kind != "" && v.ID != ""
	case map[string]any:
		rid, _ := v["prefect.resource.id"].(string)
		i := strings.LastIndexByte(rid, '.')
		if !strings.HasPrefix(rid, "prefect.") || i < 0 {
			return "", "", false
		}
		return rid[len("prefect."):i], rid[i+1:], true
	}
	return "", "", false
}

// fUIURL is Prefect's ui_url: the object's page in the UI, or None.
func fUIURL(r *renderer, v any, _ []any, _ map[string]any) (any, error) {
	kind, id, ok := kindAndID(v)
	if !ok || r.links == nil {
		return nil, nil
	}
	if u := r.links.UIURL(kind, id); u != "" {
		return u, nil
	}
	return nil, nil
}

// fUIEventsURL is Prefect's ui_resource_events_url: the event feed of the
// object, or None.
func fUIEventsURL(r *renderer, v any, _ []any, _ map[string]any) (any, error) {
	kind, id, ok := kindAndID(v)
	if !ok || r.links == nil {
		return nil, nil
	}
	if u := r.links.UIEventsURL("prefect." + kind + "." + id); u != "" {
		return u, nil
	}
	return nil, nil
}

var flowRunIDPattern = regexp.MustCompile(`flow-run/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})`)

// fFlowRunID is Prefect's flow_run_id: the flow run id in a text such as
// a link to a run's page, or None.
func fFlowRunID(_ *renderer, v any, _ []any, _ map[string]any) (any, error) {
	if m := flowRunIDPattern.FindStringSubmatch(str(v)); m != nil {
		return m[1], nil
	}
	return nil, nil
}

// tests are Jinja's tests (`x is defined`) that templates use.
var tests = map[string]func(v any) bool{
	"defined":   func(v any) bool { _, u := v.(undefined); return !u },
	"undefined": func(v any) bool { _, u := v.(undefined); return u },
	"none":      func(v any) bool { return v == nil },
	"string":    func(v any) bool { _, ok := v.(string); return ok },
	"number": func(v any) bool {
		_, isBool := v.(bool)
		_, ok := number(v)
		return ok && !isBool
	},
	"mapping": func(v any) bool {
		switch v.(type) {
		case map[string]any, Object:
			return true
		}
		return false
	},
	"sequence": func(v any) bool {
		switch v.(type) {
		case []any, string:
			return true
		}
		return false
	},
}
