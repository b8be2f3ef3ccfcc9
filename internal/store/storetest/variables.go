package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// variable creates a variable whose value is the JSON text value.
func (h *harness) variable(ws uuid.UUID, name, value string, tags ...string) *model.Variable {
	h.t.Helper()
	v := &model.Variable{Name: name, Value: json.RawMessage(value), Tags: tags}
	h.must(h.s.CreateVariable(h.ctx, ws, v), "create variable "+name)
	return v
}

// variableSnapshot is every variable of ws as the store holds it, for
// checking that a refused call changed nothing.
func (h *harness) variableSnapshot(ws uuid.UUID) string {
	h.t.Helper()
	vars, err := h.s.ListVariables(h.ctx, ws, store.VariableQuery{})
	h.must(err, "list variables")
	return canonJSON(vars)
}

func testCreateVariable(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	values := map[string]string{
		"a_string":  `"hello <world> & é"`,
		"an_int":    `12345678901234567890`,
		"a_float":   `1.5`,
		"a_bool":    `true`,
		"an_object": `{"b":[1,{"c":"d"}],"a":null}`,
		"a_list":    `[1,"two",false]`,
	}
	for name, value := range values {
		v := h.variable(ws, name, value, "t1", "t2")
		if v.ID == uuid.Nil || v.Created.IsZero() || !v.Created.Equal(v.Updated.Time) {
			t.Errorf("%s: created %+v", name, v)
		}
		got, err := h.s.GetVariable(h.ctx, ws, v.ID)
		h.must(err, "get variable")
		if got.Name != name || canonJSON(got.Value) != canonJSON(json.RawMessage(value)) || !slices.Equal(got.Tags, []string{"t1", "t2"}) ||
			!got.Created.Equal(v.Created.Time) || !got.Updated.Equal(v.Updated.Time) {
			t.Errorf("%s: stored %+v, value %s", name, got, canonJSON(got.Value))
		}
	}
	// A null value reads back as nil; no tags as an empty list.
	null := &model.Variable{Name: "a_null", Value: nil}
	h.must(h.s.CreateVariable(h.ctx, ws, null), "create a null variable")
	if got, err := h.s.GetVariable(h.ctx, ws, null.ID); err != nil || got.Value != nil || got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("a null variable without tags: %+v (%v)", got, err)
	}
	// Names are unique in a workspace, and only there.
	before := h.variableSnapshot(ws)
	h.wantCode(h.s.CreateVariable(h.ctx, ws, &model.Variable{Name: "a_bool", Value: 99}), apperr.EConflict, "a taken name")
	if after := h.variableSnapshot(ws); after != before {
		t.Errorf("a refused duplicate changed the variables:\nbefore %s\nafter  %s", before, after)
	}
	theirs := h.variable(other, "a_bool", `false`)
	if n, err := h.s.CountVariables(h.ctx, ws, store.VariableQuery{}); err != nil || n != len(values)+1 {
		t.Errorf("%d variables (%v), want %d", n, err, len(values)+1)
	}
	if got, err := h.s.GetVariableByName(h.ctx, other, "a_bool"); err != nil || got.ID != theirs.ID {
		t.Errorf("the other workspace's variable of the same name: %+v (%v)", got, err)
	}
}

func testGetVariable(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	v := h.variable(ws, "mine", `1`)
	if got, err := h.s.GetVariable(h.ctx, ws, v.ID); err != nil || got.ID != v.ID || got.Name != "mine" || canonJSON(got.Value) != "1" {
		t.Errorf("GetVariable: %+v (%v)", got, err)
	}
	_, err := h.s.GetVariable(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown variable")
	_, err = h.s.GetVariable(h.ctx, other, v.ID)
	h.wantNotFound(err, "GetVariable in another workspace")
}

func testGetVariableByName(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	v := h.variable(ws, "mine", `{"k":"v"}`, "t")
	if got, err := h.s.GetVariableByName(h.ctx, ws, "mine"); err != nil || got.ID != v.ID || canonJSON(got.Value) != `{"k":"v"}` || !slices.Equal(got.Tags, []string{"t"}) {
		t.Errorf("GetVariableByName: %+v (%v)", got, err)
	}
	_, err := h.s.GetVariableByName(h.ctx, ws, "nope")
	h.wantNotFound(err, "an unknown name")
	_, err = h.s.GetVariableByName(h.ctx, other, "mine")
	h.wantNotFound(err, "GetVariableByName in another workspace")
}

// variableQueries builds variables in a workspace and returns queries of
// them with their answers, for ListVariables and CountVariables.
func variableQueries(h *harness) (uuid.UUID, map[uuid.UUID]string, []listCase[store.VariableQuery]) {
	h.t.Helper()
	ws, other := h.ws(), h.ws()
	alpha := h.variable(ws, "alpha", `1`, "x", "y")
	beta := h.variable(ws, "beta", `2`, "x")
	gamma := h.variable(ws, "gamma", `3`)
	delta := h.variable(ws, "delta_var", `4`, "y")
	h.must(h.s.UpdateVariable(h.ctx, ws, alpha.ID, func(v *model.Variable) error {
		v.Value = json.RawMessage(`10`)
		return nil
	}), "update variable")
	h.variable(other, "alpha", `1`, "x", "y") // never listed
	names := map[uuid.UUID]string{alpha.ID: "alpha", beta.ID: "beta", gamma.ID: "gamma", delta.ID: "delta_var"}
	vars := func(f *store.VariableFilter) store.VariableQuery { return store.VariableQuery{Variables: f} }
	all := ids(alpha.ID, beta.ID, delta.ID, gamma.ID)
	return ws, names, []listCase[store.VariableQuery]{
		{name: "default: by name", q: store.VariableQuery{}, want: all},
		{name: "NAME_ASC", q: store.VariableQuery{Sort: "NAME_ASC"}, want: all},
		{name: "NAME_DESC", q: store.VariableQuery{Sort: "NAME_DESC"}, want: ids(gamma.ID, delta.ID, beta.ID, alpha.ID)},
		{name: "CREATED_DESC", q: store.VariableQuery{Sort: "CREATED_DESC"}, want: ids(delta.ID, gamma.ID, beta.ID, alpha.ID)},
		{name: "UPDATED_DESC", q: store.VariableQuery{Sort: "UPDATED_DESC"}, want: ids(alpha.ID, delta.ID, gamma.ID, beta.ID)},
		{name: "name like", q: vars(&store.VariableFilter{Name: &store.NameFilter{Like: ptr("ta")}}), want: ids(beta.ID, delta.ID)},
		{name: "name like ignores case", q: vars(&store.VariableFilter{Name: &store.NameFilter{Like: ptr("TA")}}), want: ids(beta.ID, delta.ID)},
		{name: "name any", q: vars(&store.VariableFilter{Name: &store.NameFilter{Any: []string{"gamma", "alpha", "nope"}}}), want: ids(alpha.ID, gamma.ID)},
		{name: "name starts with", q: vars(&store.VariableFilter{Name: &store.NameFilter{StartsWith: []string{"de", "ga"}}}), want: ids(delta.ID, gamma.ID)},
		{name: "id any", q: vars(&store.VariableFilter{ID: &store.IDFilter{Any: ids(beta.ID)}}), want: ids(beta.ID)},
		{name: "id not any", q: vars(&store.VariableFilter{ID: &store.IDFilter{NotAny: ids(beta.ID)}}), want: ids(alpha.ID, delta.ID, gamma.ID)},
		{name: "tags all one", q: vars(&store.VariableFilter{Tags: &store.TagsFilter{All: []string{"x"}}}), want: ids(alpha.ID, beta.ID)},
		{name: "tags all two", q: vars(&store.VariableFilter{Tags: &store.TagsFilter{All: []string{"x", "y"}}}), want: ids(alpha.ID)},
		{name: "tags any", q: vars(&store.VariableFilter{Tags: &store.TagsFilter{Any: []string{"y", "nope"}}}), want: ids(alpha.ID, delta.ID)},
		{name: "tags null", q: vars(&store.VariableFilter{Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(gamma.ID)},
		{name: "tags not null", q: vars(&store.VariableFilter{Tags: &store.TagsFilter{IsNull: ptr(false)}}), want: ids(alpha.ID, beta.ID, delta.ID)},
		{name: "name and tags", q: vars(&store.VariableFilter{Name: &store.NameFilter{Like: ptr("a")}, Tags: &store.TagsFilter{All: []string{"y"}}}), want: ids(alpha.ID, delta.ID)},
		{name: "page", q: store.VariableQuery{Limit: 2, Offset: 1}, want: ids(beta.ID, delta.ID), total: 4},
		{name: "newest updated", q: store.VariableQuery{Sort: "UPDATED_DESC", Limit: 1}, want: ids(alpha.ID), total: 4},
	}
}

func variableID(v *model.Variable) uuid.UUID { return v.ID }

func testListVariables(t *testing.T, h *harness) {
	ws, names, cases := variableQueries(h)
	list := func(q store.VariableQuery) ([]*model.Variable, error) { return h.s.ListVariables(h.ctx, ws, q) }
	checkList(h, names, variableID, list, nil, cases)
	_, err := h.s.ListVariables(h.ctx, ws, store.VariableQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
	if vars, err := h.s.ListVariables(h.ctx, h.ws(), store.VariableQuery{}); err != nil || len(vars) != 0 {
		t.Errorf("ListVariables in another workspace: %v, %v", vars, err)
	}
}

func testCountVariables(t *testing.T, h *harness) {
	ws, names, cases := variableQueries(h)
	list := func(q store.VariableQuery) ([]*model.Variable, error) { return h.s.ListVariables(h.ctx, ws, q) }
	count := func(q store.VariableQuery) (int, error) { return h.s.CountVariables(h.ctx, ws, q) }
	checkList(h, names, variableID, list, count, cases)
	if n, err := h.s.CountVariables(h.ctx, h.ws(), store.VariableQuery{}); err != nil || n != 0 {
		t.Errorf("CountVariables in another workspace: %d, %v", n, err)
	}
}

func testUpdateVariable(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	v := h.variable(ws, "cfg", `{"x":1}`, "a")
	h.must(h.s.UpdateVariable(h.ctx, ws, v.ID, func(got *model.Variable) error {
		if got.Name != "cfg" || canonJSON(got.Value) != `{"x":1}` {
			t.Errorf("the patch got %+v, not the stored variable", got)
		}
		got.Value = json.RawMessage(`[1,2]`)
		return nil
	}), "update the value")
	got, err := h.s.GetVariable(h.ctx, ws, v.ID)
	h.must(err, "get variable")
	if canonJSON(got.Value) != `[1,2]` || !slices.Equal(got.Tags, []string{"a"}) || got.Name != "cfg" ||
		!got.Created.Equal(v.Created.Time) || !got.Updated.After(v.Updated.Time) {
		t.Errorf("after a value update: %+v (before %+v)", got, v)
	}
	// Renaming frees the old name.
	h.must(h.s.UpdateVariable(h.ctx, ws, v.ID, func(got *model.Variable) error {
		got.Name, got.Tags = "cfg2", []string{"b", "c"}
		return nil
	}), "rename")
	_, err = h.s.GetVariableByName(h.ctx, ws, "cfg")
	h.wantNotFound(err, "the old name")
	if got, err := h.s.GetVariableByName(h.ctx, ws, "cfg2"); err != nil || got.ID != v.ID || canonJSON(got.Value) != `[1,2]` || !slices.Equal(got.Tags, []string{"b", "c"}) {
		t.Errorf("after rename: %+v (%v)", got, err)
	}
	h.must(h.s.UpdateVariable(h.ctx, ws, v.ID, func(got *model.Variable) error {
		got.Value = nil
		return nil
	}), "set null")
	if got, err := h.s.GetVariable(h.ctx, ws, v.ID); err != nil || got.Value != nil {
		t.Errorf("after setting null: %+v (%v)", got, err)
	}

	// Refused updates change nothing: a taken name, a failing patch, an
	// unknown id, another workspace.
	h.variable(ws, "taken", `2`)
	before := h.variableSnapshot(ws)
	h.wantCode(h.s.UpdateVariable(h.ctx, ws, v.ID, func(got *model.Variable) error {
		got.Name, got.Value = "taken", 3
		return nil
	}), apperr.EConflict, "rename onto a taken name")
	boom := errors.New("boom")
	if err := h.s.UpdateVariable(h.ctx, ws, v.ID, func(got *model.Variable) error {
		got.Value = 4
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("a failing patch: %v, want its error", err)
	}
	h.wantNotFound(h.s.UpdateVariable(h.ctx, ws, newID(), func(*model.Variable) error { return nil }), "update an unknown variable")
	err = h.s.UpdateVariable(h.ctx, other, v.ID, func(v *model.Variable) error {
		v.Value = 2
		return nil
	})
	if !apperr.IsNotFound(err) {
		t.Errorf("UpdateVariable in another workspace: %v", err)
	}
	if after := h.variableSnapshot(ws); after != before {
		t.Errorf("refused updates changed the variables:\nbefore %s\nafter  %s", before, after)
	}
}

func testDeleteVariable(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	v, keep := h.variable(ws, "mine", `1`), h.variable(ws, "kept", `2`)
	before := h.variableSnapshot(ws)
	if err := h.s.DeleteVariable(h.ctx, other, v.ID); !apperr.IsNotFound(err) {
		t.Errorf("DeleteVariable in another workspace: %v", err)
	}
	if after := h.variableSnapshot(ws); after != before {
		t.Errorf("another workspace changed the variable:\nbefore %s\nafter  %s", before, after)
	}
	h.must(h.s.DeleteVariable(h.ctx, ws, v.ID), "delete variable")
	_, err := h.s.GetVariable(h.ctx, ws, v.ID)
	h.wantNotFound(err, "a deleted variable")
	_, err = h.s.GetVariableByName(h.ctx, ws, "mine")
	h.wantNotFound(err, "a deleted variable by name")
	if got, err := h.s.ListVariables(h.ctx, ws, store.VariableQuery{}); err != nil || len(got) != 1 || got[0].ID != keep.ID {
		t.Errorf("variables left: %+v (%v)", got, err)
	}
	h.wantNotFound(h.s.DeleteVariable(h.ctx, ws, v.ID), "delete it again")
	// The name is free again.
	h.variable(ws, "mine", `3`)
}
