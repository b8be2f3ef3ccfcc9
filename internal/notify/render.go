// Package notify renders Prefect's automation templates and delivers
// notifications through notification blocks: Slack and Microsoft Teams
// incoming webhooks, Prefect's custom webhook, the webhook block of the
// CallWebhook action, and Praetor's own SMTP email block. The automation
// action executor calls it; retrying and recording deliveries are the
// executor's job.
package notify

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Bounds on rendering, so a hostile template cannot exhaust memory or CPU.
const (
	MaxOutput = 1 << 20 // bytes one Render may produce
	maxSteps  = 1_000_000
)

// ErrLimit is a template that went past Render's bounds on output or work.
var ErrLimit = errors.New("template exceeds the rendering limits")

// Object is a template variable that stands for one of Praetor's objects,
// so that filters such as ui_url know what it is.
type Object struct {
	Kind   string         // Prefect's resource kind: "flow-run", "flow", "deployment", "work-pool", "work-queue", "task-run", "automation"
	ID     string         //
	Fields map[string]any // the object as the API answers it
}

// Links gives the URLs of objects in Praetor's UI.
type Links interface {
	// UIURL is the page of an object of a kind (as in Object.Kind), or ""
	// when the UI has none.
	UIURL(kind, id string) string
	// UIEventsURL is the event feed filtered to one resource
	// ("prefect.flow-run.<id>"), or "".
	UIEventsURL(resourceID string) string
}

// undefined is a missing variable or attribute: it renders empty, is
// false, iterates as nothing, and its attributes are undefined too (Jinja's
// ChainableUndefined, which Prefect uses).
type undefined struct{}

// Validate parses a template without rendering it; its error is a
// *SyntaxError, the answer of POST /templates/validate.
func Validate(tmpl string) error {
	_, err := parse(tmpl)
	return err
}

// Render renders a template with vars in the Jinja subset Prefect's
// automation templates use. It never executes anything; a syntax error is
// a *SyntaxError, a template past the bounds ErrLimit.
func Render(tmpl string, vars map[string]any, links Links) (string, error) {
	// Prefect leaves a string without {{ or {% as it is.
	if !strings.Contains(tmpl, "{{") && !strings.Contains(tmpl, "{%") {
		return tmpl, nil
	}
	nodes, err := parse(tmpl)
	if err != nil {
		return "", err
	}
	// The template's own {% set %} go to a scope of their own, never into vars.
	r := &renderer{links: links, scopes: []map[string]any{vars, {}}}
	if err := r.nodes(nodes); err != nil {
		return "", err
	}
	return r.out.String(), nil
}

type renderer struct {
	out    strings.Builder
	scopes []map[string]any
	links  Links
	steps  int
}

func (r *renderer) step() error {
	r.steps++
	if r.steps > maxSteps || r.out.Len() > MaxOutput {
		return ErrLimit
	}
	return nil
}

func (r *renderer) write(s string) error {
	if r.out.Len()+len(s) > MaxOutput {
		return ErrLimit
	}
	r.out.WriteString(s)
	return nil
}

func (r *renderer) lookup(name string) any {
	for i := len(r.scopes) - 1; i >= 0; i-- {
		if v, ok := r.scopes[i][name]; ok {
			return v
		}
	}
	if name == "range" {
		return builtin("range")
	}
	return undefined{}
}

type builtin string

func (r *renderer) nodes(nodes []node) error {
	for _, n := range nodes {
		if err := r.step(); err != nil {
			return err
		}
		switch n := n.(type) {
		case *textNode:
			if err := r.write(n.text); err != nil {
				return err
			}
		case *outputNode:
			v, err := r.eval(n.expr)
			if err != nil {
				return err
			}
			if err := r.write(str(v)); err != nil {
				return err
			}
		case *ifNode:
			done := false
			for i, c := range n.conds {
				v, err := r.eval(c)
				if err != nil {
					return err
				}
				if truthy(v) {
					if err := r.nodes(n.bodies[i]); err != nil {
						return err
					}
					done = true
					break
				}
			}
			if !done {
				if err := r.nodes(n.orElse); err != nil {
					return err
				}
			}
		case *forNode:
			if err := r.loop(n); err != nil {
				return err
			}
		case *setNode:
			v, err := r.eval(n.value)
			if err != nil {
				return err
			}
			r.scopes[len(r.scopes)-1][n.name] = v
		}
	}
	return nil
}

func (r *renderer) loop(n *forNode) error {
	v, err := r.eval(n.iter)
	if err != nil {
		return err
	}
	items := iterate(v)
	if len(items) == 0 {
		return r.nodes(n.orElse)
	}
	scope := map[string]any{}
	r.scopes = append(r.scopes, scope)
	defer func() { r.scopes = r.scopes[:len(r.scopes)-1] }()
	for i, item := range items {
		if err := r.step(); err != nil {
			return err
		}
		if len(n.vars) == 1 {
			scope[n.vars[0]] = item
		} else {
			parts, ok := item.([]any)
			if !ok || len(parts) != len(n.vars) {
				return fmt.Errorf("line %d: cannot unpack %s into %d names", n.line, typeName(item), len(n.vars))
			}
			for j, name := range n.vars {
				scope[name] = parts[j]
			}
		}
		scope["loop"] = map[string]any{
			"index": int64(i + 1), "index0": int64(i), "first": i == 0, "last": i == len(items)-1,
			"length": int64(len(items)), "revindex": int64(len(items) - i), "revindex0": int64(len(items) - i - 1),
		}
		if err := r.nodes(n.body); err != nil {
			return err
		}
	}
	return nil
}

// iterate lists what a for loop walks: a list's items, a map's keys
// (sorted, as Go maps have no order), a string's characters.
func iterate(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	case map[string]any:
		keys := sortedKeys(v)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = k
		}
		return out
	case Object:
		return iterate(v.Fields)
	case string:
		out := make([]any, 0, len(v))
		for _, c := range v {
			out = append(out, string(c))
		}
		return out
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (r *renderer) eval(e expr) (any, error) {
	if err := r.step(); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case literal:
		return e.v, nil
	case *nameExpr:
		return r.lookup(e.name), nil
	case *attrExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		return attr(obj, e.name), nil
	case *indexExpr:
		obj, err := r.eval(e.obj)
		if err != nil {
			return nil, err
		}
		idx, err := r.eval(e.index)
		if err != nil {
			return nil, err
		}
		return index(obj, idx), nil
	case *listExpr:
		out := make([]any, 0, len(e.items))
		for _, x := range e.items {
			v, err := r.eval(x)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *dictExpr:
		out := make(map[string]any, len(e.keys))
		for i := range e.keys {
			k, err := r.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := r.eval(e.values[i])
			if err != nil {
				return nil, err
			}
			out[str(k)] = v
		}
		return out, nil
	case *condExpr:
		c, err := r.eval(e.cond)
		if err != nil {
			return nil, err
		}
		if truthy(c) {
			return r.eval(e.yes)
		}
		return r.eval(e.no)
	case *unaryExpr:
		x, err := r.eval(e.x)
		if err != nil {
			return nil, err
		}
		switch e.op {
		case "not":
			return !truthy(x), nil
		case "-":
			if f, ok := number(x); ok {
				if i, isInt := x.(int64); isInt {
					return -i, nil
				}
				return -f, nil
			}
			return nil, fmt.Errorf("bad operand type for unary -: %s", typeName(x))
		}
		return x, nil
	case *binaryExpr:
		return r.binary(e)
	case *testExpr:
		v, err := r.eval(e.value)
		if err != nil {
			return nil, err
		}
		test, ok := tests[e.name]
		if !ok {
			return nil, fmt.Errorf("line %d: no test named '%s'", e.line, e.name)
		}
		return test(v) != e.negate, nil
	case *filterExpr:
		v, err := r.eval(e.value)
		if err != nil {
			return nil, err
		}
		args, kw, err := r.args(e.args, e.kw)
		if err != nil {
			return nil, err
		}
		f, ok := filters[e.name]
		if !ok {
			return nil, fmt.Errorf("line %d: no filter named '%s'", e.line, e.name)
		}
		out, err := f(r, v, args, kw)
		if err != nil {
			return nil, fmt.Errorf("line %d: filter %s: %w", e.line, e.name, err)
		}
		return out, nil
	case *callExpr:
		return r.call(e)
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func (r *renderer) args(exprs []expr, kwExprs map[string]expr) ([]any, map[string]any, error) {
	args := make([]any, len(exprs))
	for i, x := range exprs {
		v, err := r.eval(x)
		if err != nil {
			return nil, nil, err
		}
		args[i] = v
	}
	kw := map[string]any{}
	for k, x := range kwExprs {
		v, err := r.eval(x)
		if err != nil {
			return nil, nil, err
		}
		kw[k] = v
	}
	return args, kw, nil
}

func (r *renderer) binary(e *binaryExpr) (any, error) {
	l, err := r.eval(e.l)
	if err != nil {
		return nil, err
	}
	// and/or short-circuit and answer an operand, as in Python.
	switch e.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return r.eval(e.r)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return r.eval(e.r)
	}
	rv, err := r.eval(e.r)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "==":
		return equal(l, rv), nil
	case "!=":
		return !equal(l, rv), nil
	case "in":
		return in(l, rv), nil
	case "not in":
		return !in(l, rv), nil
	case "~":
		s := str(l) + str(rv)
		if len(s) > MaxOutput {
			return nil, ErrLimit
		}
		return s, nil
	case "<", ">", "<=", ">=":
		c, ok := compare(l, rv)
		if !ok {
			return nil, fmt.Errorf("line %d: '%s' not supported between %s and %s", e.line, e.op, typeName(l), typeName(rv))
		}
		switch e.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	case "+":
		if ls, ok := l.(string); ok {
			if rs, ok := rv.(string); ok {
				if len(ls)+len(rs) > MaxOutput {
					return nil, ErrLimit
				}
				return ls + rs, nil
			}
		}
		if ll, ok := l.([]any); ok {
			if rl, ok := rv.([]any); ok {
				if len(ll)+len(rl) > MaxOutput {
					return nil, ErrLimit
				}
				return append(append([]any{}, ll...), rl...), nil
			}
		}
	}
	return arithmetic(e, l, rv)
}

func arithmetic(e *binaryExpr, l, r any) (any, error) {
	lf, lok := number(l)
	rf, rok := number(r)
	if !lok || !rok {
		return nil, fmt.Errorf("line %d: unsupported operand types for %s: %s and %s", e.line, e.op, typeName(l), typeName(r))
	}
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	ints := lInt && rInt
	switch e.op {
	case "+":
		if ints {
			return li + ri, nil
		}
		return lf + rf, nil
	case "-":
		if ints {
			return li - ri, nil
		}
		return lf - rf, nil
	case "*":
		if ints {
			return li * ri, nil
		}
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("line %d: division by zero", e.line)
		}
		return lf / rf, nil
	case "//":
		if rf == 0 {
			return nil, fmt.Errorf("line %d: division by zero", e.line)
		}
		if ints {
			return int64(math.Floor(float64(li) / float64(ri))), nil
		}
		return math.Floor(lf / rf), nil
	case "%":
		if rf == 0 {
			return nil, fmt.Errorf("line %d: modulo by zero", e.line)
		}
		if ints {
			m := li % ri
			if m != 0 && (m < 0) != (ri < 0) {
				m += ri
			}
			return m, nil
		}
		return lf - rf*math.Floor(lf/rf), nil
	}
	return nil, fmt.Errorf("line %d: unknown operator %s", e.line, e.op)
}

// call answers range() and the few methods of strings and maps templates
// use; nothing else can be called.
func (r *renderer) call(e *callExpr) (any, error) {
	args, _, err := r.args(e.args, e.kw)
	if err != nil {
		return nil, err
	}
	if n, ok := e.fn.(*nameExpr); ok {
		if b, ok := r.lookup(n.name).(builtin); ok && b == "range" {
			return rangeOf(args)
		}
		return nil, fmt.Errorf("line %d: %s is not callable", e.line, n.name)
	}
	a, ok := e.fn.(*attrExpr)
	if !ok {
		return nil, fmt.Errorf("line %d: expression is not callable", e.line)
	}
	obj, err := r.eval(a.obj)
	if err != nil {
		return nil, err
	}
	if o, ok := obj.(Object); ok {
		obj = o.Fields
	}
	switch obj := obj.(type) {
	case map[string]any:
		switch a.name {
		case "items", "keys", "values":
			keys := sortedKeys(obj)
			out := make([]any, len(keys))
			for i, k := range keys {
				switch a.name {
				case "items":
					out[i] = []any{k, obj[k]}
				case "keys":
					out[i] = k
				default:
					out[i] = obj[k]
				}
			}
			return out, nil
		case "get":
			if len(args) == 0 {
				return nil, fmt.Errorf("line %d: get needs a key", e.line)
			}
			if v, ok := obj[str(args[0])]; ok {
				return v, nil
			}
			if len(args) > 1 {
				return args[1], nil
			}
			return nil, nil
		}
	case string:
		if f, ok := stringMethods[a.name]; ok {
			return f(obj, args)
		}
	case undefined:
		return undefined{}, nil
	}
	return nil, fmt.Errorf("line %d: %s has no method %s", e.line, typeName(obj), a.name)
}

var stringMethods = map[string]func(s string, args []any) (any, error){
	"upper": func(s string, _ []any) (any, error) { return strings.ToUpper(s), nil },
	"lower": func(s string, _ []any) (any, error) { return strings.ToLower(s), nil },
	"strip": func(s string, _ []any) (any, error) { return strings.TrimSpace(s), nil },
	"startswith": func(s string, args []any) (any, error) {
		return len(args) > 0 && strings.HasPrefix(s, str(args[0])), nil
	},
	"endswith": func(s string, args []any) (any, error) {
		return len(args) > 0 && strings.HasSuffix(s, str(args[0])), nil
	},
	"split": func(s string, args []any) (any, error) {
		var parts []string
		if len(args) == 0 {
			parts = strings.Fields(s)
		} else {
			parts = strings.Split(s, str(args[0]))
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	},
	"replace": func(s string, args []any) (any, error) { return replace(s, args, nil) },
}

func rangeOf(args []any) (any, error) {
	ints := make([]int64, len(args))
	for i, a := range args {
		n, ok := a.(int64)
		if !ok {
			return nil, fmt.Errorf("range takes integers, not %s", typeName(a))
		}
		ints[i] = n
	}
	start, stop, step := int64(0), int64(0), int64(1)
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, fmt.Errorf("range takes 1 to 3 arguments")
	}
	if step == 0 {
		return nil, fmt.Errorf("range step must not be zero")
	}
	var out []any
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) == maxRange {
			return nil, fmt.Errorf("Range too big. The sandbox blocks ranges larger than MAX_TEMPLATE_RANGE=%d.", maxRange)
		}
		out = append(out, i)
	}
	return out, nil
}

// attr is obj.name: a member of a map or object, else undefined.
func attr(obj any, name string) any {
	switch o := obj.(type) {
	case Object:
		if v, ok := o.Fields[name]; ok {
			return v
		}
		if name == "id" {
			return o.ID
		}
	case map[string]any:
		if v, ok := o[name]; ok {
			return v
		}
	case []any:
		if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(o) {
			return o[i]
		}
	}
	return undefined{}
}

func index(obj, idx any) any {
	if l, ok := obj.([]any); ok {
		if i, ok := idx.(int64); ok {
			if i < 0 {
				i += int64(len(l))
			}
			if i >= 0 && i < int64(len(l)) {
				return l[i]
			}
		}
		return undefined{}
	}
	return attr(obj, str(idx))
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case float64:
		return v, true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	case Object:
		return true
	}
	f, ok := number(v)
	return !ok || f != 0
}

func equal(a, b any) bool {
	if af, ok := number(a); ok {
		bf, ok := number(b)
		return ok && af == bf
	}
	switch a := a.(type) {
	case string:
		bs, ok := b.(string)
		return ok && a == bs
	case nil:
		return b == nil
	case undefined:
		_, ok := b.(undefined)
		return ok
	case []any:
		bl, ok := b.([]any)
		if !ok || len(a) != len(bl) {
			return false
		}
		for i := range a {
			if !equal(a[i], bl[i]) {
				return false
			}
		}
		return true
	case Object:
		bo, ok := b.(Object)
		return ok && a.Kind == bo.Kind && a.ID == bo.ID
	}
	return false
}

func compare(a, b any) (int, bool) {
	if af, ok := number(a); ok {
		if bf, ok := number(b); ok {
			switch {
			case af < bf:
				return -1, true
			case af > bf:
				return 1, true
			}
			return 0, true
		}
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.Compare(as, bs), true
	}
	return 0, false
}

func in(x, container any) bool {
	switch c := container.(type) {
	case string:
		s, ok := x.(string)
		return ok && strings.Contains(c, s)
	case []any:
		for _, v := range c {
			if equal(x, v) {
				return true
			}
		}
	case map[string]any:
		_, ok := c[str(x)]
		return ok
	case Object:
		_, ok := c.Fields[str(x)]
		return ok
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case undefined:
		return "Undefined"
	case bool:
		return "bool"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case Object:
		return v.(Object).Kind
	}
	return fmt.Sprintf("%T", v)
}

// str is a value as Jinja prints it (Python's str).
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case undefined:
		return ""
	}
	return repr(v)
}

// repr is a value as Python's repr spells it, which is how Jinja prints
// the values inside lists and dicts.
func repr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case undefined:
		return ""
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		// Numbers decoded from JSON are float64: whole ones were integers.
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(v) + "'"
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = repr(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := sortedKeys(v)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = repr(k) + ": " + repr(v[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case Object:
		return repr(v.Fields)
	}
	return fmt.Sprint(v)
}
