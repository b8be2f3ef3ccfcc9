package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// nullTime scans a nullable timestamp from either engine: SQLite returns the
// fixed-width text form, PostgreSQL a time.Time.
type nullTime struct {
	T     model.Time
	Valid bool
}

func (n *nullTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.Valid = false
		return nil
	case time.Time:
		n.T, n.Valid = model.At(x), true
		return nil
	case string:
		return n.parse(x)
	case []byte:
		return n.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (n *nullTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s, err)
	}
	n.T, n.Valid = model.At(t), true
	return nil
}

// ptr returns the time or nil.
func (n nullTime) ptr() *model.Time {
	if !n.Valid {
		return nil
	}
	t := n.T
	return &t
}

// jsonCol scans a JSON column into dst; NULL leaves dst untouched.
type jsonCol struct{ dst any }

func (j jsonCol) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("cannot scan %T into JSON", v)
	}
	if len(b) == 0 {
		return nil
	}
	// Most runs' parameters, context, labels and tags are empty: set them
	// without a decode, which was a quarter of a flow-run filter's CPU.
	// Only into an unset destination, where a decode makes the same value.
	switch dst := j.dst.(type) {
	case *map[string]any:
		if *dst == nil && string(b) == "{}" {
			*dst = map[string]any{}
			return nil
		}
	case *[]string:
		if *dst == nil && string(b) == "[]" {
			*dst = []string{}
			return nil
		}
	}
	return json.Unmarshal(b, j.dst)
}

// rawJSON scans a nullable JSON column as raw bytes.
type rawJSON struct{ dst *json.RawMessage }

func (r rawJSON) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*r.dst = nil
	case string:
		*r.dst = json.RawMessage(x)
	case []byte:
		*r.dst = append(json.RawMessage(nil), x...)
	default:
		return fmt.Errorf("cannot scan %T into JSON", v)
	}
	return nil
}

// nullID scans a nullable UUID.
type nullID struct{ dst **uuid.UUID }

func (n nullID) Scan(v any) error {
	var u uuid.NullUUID
	if err := u.Scan(v); err != nil {
		return err
	}
	if u.Valid {
		id := u.UUID
		*n.dst = &id
	} else {
		*n.dst = nil
	}
	return nil
}

// nullStr scans a nullable string.
type nullStr struct{ dst **string }

func (n nullStr) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*n.dst = nil
	case string:
		*n.dst = &x
	case []byte:
		s := string(x)
		*n.dst = &s
	default:
		return fmt.Errorf("cannot scan %T into a string", v)
	}
	return nil
}

// jsonArg encodes v for a JSON column; nil slices and maps become empty ones.
func jsonArg(v any) (driver.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	switch string(b) {
	case "null":
		switch v.(type) {
		case []string, []model.Resource:
			return "[]", nil
		case map[string]any, map[string][]model.TaskRunInput:
			return "{}", nil
		}
		return nil, nil
	}
	return string(b), nil
}

func mustJSON(v any) any {
	s, err := jsonArg(v)
	if err != nil {
		// Values come from decoded JSON, so they always re-encode.
		panic(fmt.Sprintf("encode JSON column: %v", err))
	}
	return s
}

// rawArg passes raw JSON through, NULL when empty.
func rawArg(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// timeArg converts an optional time to a column value.
func (db *DB) timeArg(t *model.Time) any {
	if t == nil {
		return nil
	}
	return db.d.time(*t)
}

func notFound(what string) error {
	return apperr.Errorf(apperr.ENotFound, "%s not found", what)
}

// clause collects conditions joined by AND or, for Prefect's operator "or_",
// by OR.
type clause struct {
	d     dialect
	or    bool
	parts []string
	args  []any
}

func newClause(d dialect, operator string) *clause {
	return &clause{d: d, or: operator == "or_"}
}

func (c *clause) add(cond string, args ...any) {
	c.parts = append(c.parts, cond)
	c.args = append(c.args, args...)
}

// exists adds the condition that a row of from (a table and its alias)
// joined to the outer row by join matches what filter adds to its clause.
func (c *clause) exists(from, join string, filter func(sub *clause)) {
	sub := newClause(c.d, "")
	sub.add(join)
	filter(sub)
	s, args := sub.sql()
	c.add("EXISTS (SELECT 1 FROM "+from+" WHERE "+s+")", args...)
}

// runClause starts the clause of a run filter (operator joins its
// conditions) with the conditions on the columns every run table has, whose
// alias is a.
func (db *DB) runClause(operator, a string, id *store.IDFilter, name *store.NameFilter, tags *store.TagsFilter, state *store.StateFilter,
	start, end, expected *store.TimeFilter) *clause {
	c := newClause(db.d, operator)
	c.id(a+".id", id)
	c.name(a+".name", name)
	c.tags(a+".tags", tags)
	c.state(a, state)
	c.time(a+".start_time", start)
	c.time(a+".end_time", end)
	c.time(a+".expected_start_time", expected)
	return c
}

// sub adds a nested clause as one condition.
func (c *clause) sub(o *clause) {
	if s, args := o.sql(); s != "" {
		c.add(s, args...)
	}
}

func (c *clause) sql() (string, []any) {
	if len(c.parts) == 0 {
		return "", nil
	}
	sep := " AND "
	if c.or {
		sep = " OR "
	}
	return "(" + strings.Join(c.parts, sep) + ")", c.args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// inList adds "col IN (…)" for in (an empty, non-nil list matches nothing)
// and "col NOT IN (…)" for notIn.
func inList[T any](c *clause, col string, in, notIn []T) {
	if in != nil {
		if len(in) == 0 {
			c.add("1=0")
		} else {
			c.add(col+" IN ("+placeholders(len(in))+")", toArgs(in)...)
		}
	}
	if len(notIn) > 0 {
		c.add("("+col+" IS NULL OR "+col+" NOT IN ("+placeholders(len(notIn))+"))", toArgs(notIn)...)
	}
}

func toArgs[T any](vs []T) []any {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return args
}

func (c *clause) isNull(col string, isNull *bool) {
	if isNull == nil {
		return
	}
	if *isNull {
		c.add(col + " IS NULL")
	} else {
		c.add(col + " IS NOT NULL")
	}
}

func (c *clause) id(col string, f *store.IDFilter) {
	if f != nil {
		inList(c, col, f.Any, f.NotAny)
	}
}

func (c *clause) nullableID(col string, f *store.NullableIDFilter) {
	if f != nil {
		inList(c, col, f.Any, f.NotAny)
		c.isNull(col, f.IsNull)
	}
}

func (c *clause) name(col string, f *store.NameFilter) {
	if f == nil {
		return
	}
	inList(c, col, f.Any, f.NotAny)
	if f.Like != nil {
		c.add(col+" "+c.d.like()+" ?", "%"+*f.Like+"%")
	}
	if len(f.StartsWith) > 0 {
		or := newClause(c.d, "or_")
		for _, p := range f.StartsWith {
			or.add(col+" "+c.d.like()+" ?", p+"%")
		}
		c.sub(or)
	}
	c.isNull(col, f.IsNull)
}

func (c *clause) tags(col string, f *store.TagsFilter) {
	if f == nil {
		return
	}
	for _, t := range f.All {
		c.add(c.d.jsonContains(col), t)
	}
	if len(f.Any) > 0 {
		or := newClause(c.d, "or_")
		for _, t := range f.Any {
			or.add(c.d.jsonContains(col), t)
		}
		c.sub(or)
	}
	if f.IsNull != nil {
		if *f.IsNull {
			c.add("(" + col + " IS NULL OR " + col + " = '[]')")
		} else {
			c.add("(" + col + " IS NOT NULL AND " + col + " <> '[]')")
		}
	}
}

func (c *clause) time(col string, f *store.TimeFilter) {
	if f == nil {
		return
	}
	if f.Before != nil {
		c.add(col+" <= ?", c.d.time(*f.Before))
	}
	if f.After != nil {
		c.add(col+" >= ?", c.d.time(*f.After))
	}
	c.isNull(col, f.IsNull)
}

func (c *clause) state(alias string, f *store.StateFilter) {
	if f == nil {
		return
	}
	s := newClause(c.d, f.Operator)
	if f.Type != nil {
		inList(s, alias+".state_type", f.Type.Any, f.Type.NotAny)
	}
	if f.Name != nil {
		inList(s, alias+".state_name", f.Name.Any, f.Name.NotAny)
	}
	c.sub(s)
}

// page clamps limit and offset the way Prefect's API does.
func page(limit, offset int) string {
	if limit <= 0 {
		limit = 200
	}
	if offset < 0 {
		offset = 0
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, offset)
}
