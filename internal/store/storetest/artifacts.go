package storetest

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// artifact creates an artifact of key (nil for none) and typ, with data.
func (h *harness) artifact(ws uuid.UUID, key *string, typ string, data any, edit ...func(*model.Artifact)) *model.Artifact {
	h.t.Helper()
	a := &model.Artifact{Key: key, Type: &typ, Data: data}
	for _, e := range edit {
		e(a)
	}
	h.must(h.s.CreateArtifact(h.ctx, ws, a), "create artifact")
	return a
}

// artifactSnapshot is every artifact of ws as the store holds it, for
// checking that a refused call changed nothing.
func (h *harness) artifactSnapshot(ws uuid.UUID) string {
	h.t.Helper()
	arts, err := h.s.ListArtifacts(h.ctx, ws, store.ArtifactQuery{}, false)
	h.must(err, "list artifacts")
	return canonJSON(arts)
}

func testCreateArtifact(t *testing.T, h *harness) {
	ws := h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	tr := h.taskRun(ws, &fr.ID, "task", state(model.Running))
	data := json.RawMessage(`{"rows":[1,"two"],"big":12345678901234567891}`)
	a := &model.Artifact{Key: ptr("report"), Type: ptr("markdown"), Description: ptr("d"), Data: data,
		Metadata: map[string]any{"a": "b"}, FlowRunID: &fr.ID, TaskRunID: &tr.ID}
	h.must(h.s.CreateArtifact(h.ctx, ws, a), "create artifact")
	if a.ID == uuid.Nil || a.Created.IsZero() || !a.Created.Equal(a.Updated.Time) {
		t.Errorf("created artifact %+v", a)
	}
	got, err := h.s.GetArtifact(h.ctx, ws, a.ID)
	h.must(err, "get artifact")
	if canonJSON(got) != canonJSON(a) {
		t.Errorf("stored artifact %s, created %s", canonJSON(got), canonJSON(a))
	}
	// What is not given stays null.
	bare := &model.Artifact{}
	h.must(h.s.CreateArtifact(h.ctx, ws, bare), "create a bare artifact")
	if got, err := h.s.GetArtifact(h.ctx, ws, bare.ID); err != nil || got.Key != nil || got.Type != nil || got.Description != nil ||
		got.Data != nil || got.Metadata != nil || got.FlowRunID != nil || got.TaskRunID != nil {
		t.Errorf("a bare artifact: %+v (%v)", got, err)
	}
	// A key names versions: a second artifact of it is another artifact.
	v2 := h.artifact(ws, ptr("report"), "table", 2)
	if v2.ID == a.ID {
		t.Error("a second version reused the first's id")
	}
	if n, err := h.s.CountArtifacts(h.ctx, ws, store.ArtifactQuery{}, false); err != nil || n != 3 {
		t.Errorf("%d artifacts (%v), want 3", n, err)
	}
}

func testGetArtifact(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.artifact(ws, ptr("mine"), "result", 1)
	if got, err := h.s.GetArtifact(h.ctx, ws, a.ID); err != nil || got.ID != a.ID || *got.Key != "mine" || canonJSON(got.Data) != "1" {
		t.Errorf("GetArtifact: %+v (%v)", got, err)
	}
	_, err := h.s.GetArtifact(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown artifact")
	if _, err := h.s.GetArtifact(h.ctx, other, a.ID); !apperr.IsNotFound(err) {
		t.Errorf("GetArtifact in another workspace: %v", err)
	}
}

// artifactQueries builds artifacts in a workspace and returns queries of
// them with their answers, for ListArtifacts and CountArtifacts (latestOnly
// false), and for the latest of each key (latestOnly true).
func artifactQueries(h *harness) (ws uuid.UUID, names map[uuid.UUID]string, all, latest []listCase[store.ArtifactQuery]) {
	h.t.Helper()
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	tr := h.taskRun(ws, &fr.ID, "task", state(model.Running))
	a1 := h.artifact(ws, ptr("alpha"), "markdown", "a1", func(a *model.Artifact) { a.FlowRunID = &fr.ID })
	a2 := h.artifact(ws, ptr("beta"), "table", "a2")
	a3 := h.artifact(ws, nil, "result", "a3")
	a4 := h.artifact(ws, ptr("alpha-two"), "table", "a4", func(a *model.Artifact) { a.FlowRunID, a.TaskRunID = &fr.ID, &tr.ID })
	h.must(h.s.UpdateArtifact(h.ctx, ws, a2.ID, func(a *model.Artifact) error {
		a.Description = ptr("updated")
		return nil
	}), "update artifact")
	// Versions of two keys: report's latest is a table, other's a markdown.
	r1 := h.artifact(ws, ptr("report"), "markdown", "v1")
	o1 := h.artifact(ws, ptr("other"), "markdown", "o1")
	r2 := h.artifact(ws, ptr("report"), "table", "v2")
	h.artifact(other, ptr("alpha"), "markdown", "theirs", func(a *model.Artifact) { a.FlowRunID = &fr.ID })

	names = map[uuid.UUID]string{a1.ID: "a1", a2.ID: "a2", a3.ID: "a3", a4.ID: "a4", r1.ID: "r1", o1.ID: "o1", r2.ID: "r2"}
	arts := func(f *store.ArtifactFilter) store.ArtifactQuery { return store.ArtifactQuery{Artifacts: f} }
	sorted := func(s string) store.ArtifactQuery { return store.ArtifactQuery{Sort: s} }
	key := func(f *store.NameFilter) store.ArtifactQuery { return arts(&store.ArtifactFilter{Key: f}) }
	typ := func(f *store.NameFilter) store.ArtifactQuery { return arts(&store.ArtifactFilter{Type: f}) }
	all = []listCase[store.ArtifactQuery]{
		{name: "default: id desc", q: store.ArtifactQuery{}, want: ids(r2.ID, o1.ID, r1.ID, a4.ID, a3.ID, a2.ID, a1.ID)},
		{name: "ID_DESC", q: sorted("ID_DESC"), want: ids(r2.ID, o1.ID, r1.ID, a4.ID, a3.ID, a2.ID, a1.ID)},
		{name: "KEY_ASC, keyless first, ties newest first", q: sorted("KEY_ASC"), want: ids(a3.ID, a1.ID, a4.ID, a2.ID, o1.ID, r2.ID, r1.ID)},
		{name: "KEY_DESC, keyless last", q: sorted("KEY_DESC"), want: ids(r2.ID, r1.ID, o1.ID, a2.ID, a4.ID, a1.ID, a3.ID)},
		{name: "CREATED_DESC", q: sorted("CREATED_DESC"), want: ids(r2.ID, o1.ID, r1.ID, a4.ID, a3.ID, a2.ID, a1.ID)},
		{name: "UPDATED_DESC", q: sorted("UPDATED_DESC"), want: ids(r2.ID, o1.ID, r1.ID, a2.ID, a4.ID, a3.ID, a1.ID)},
		{name: "key like", q: key(&store.NameFilter{Like: ptr("alpha")}), want: ids(a4.ID, a1.ID)},
		{name: "key any", q: key(&store.NameFilter{Any: []string{"beta"}}), want: ids(a2.ID)},
		{name: "key starts with", q: key(&store.NameFilter{StartsWith: []string{"rep"}}), want: ids(r2.ID, r1.ID)},
		{name: "keyless", q: key(&store.NameFilter{IsNull: ptr(true)}), want: ids(a3.ID)},
		{name: "with a key", q: key(&store.NameFilter{IsNull: ptr(false)}), want: ids(r2.ID, o1.ID, r1.ID, a4.ID, a2.ID, a1.ID)},
		{name: "type any", q: typ(&store.NameFilter{Any: []string{"table"}}), want: ids(r2.ID, a4.ID, a2.ID)},
		{name: "type not any", q: typ(&store.NameFilter{NotAny: []string{"table", "markdown"}}), want: ids(a3.ID)},
		{name: "id any", q: arts(&store.ArtifactFilter{ID: &store.IDFilter{Any: ids(a2.ID, a3.ID)}}), want: ids(a3.ID, a2.ID)},
		{name: "flow run id", q: arts(&store.ArtifactFilter{FlowRunID: &store.IDFilter{Any: ids(fr.ID)}}), want: ids(a4.ID, a1.ID)},
		{name: "task run id", q: arts(&store.ArtifactFilter{TaskRunID: &store.IDFilter{Any: ids(tr.ID)}}), want: ids(a4.ID)},
		{name: "by flow run", q: store.ArtifactQuery{FlowRuns: &store.FlowRunFilter{ID: &store.IDFilter{Any: ids(fr.ID)}}}, want: ids(a4.ID, a1.ID)},
		{name: "by flow run name", q: store.ArtifactQuery{FlowRuns: &store.FlowRunFilter{Name: &store.NameFilter{Any: []string{"nope"}}}}},
		{name: "by task run", q: store.ArtifactQuery{TaskRuns: &store.TaskRunFilter{Name: &store.NameFilter{Any: []string{"task"}}}}, want: ids(a4.ID)},
		{name: "key and type", q: arts(&store.ArtifactFilter{Key: &store.NameFilter{Like: ptr("alpha")}, Type: &store.NameFilter{Any: []string{"table"}}}), want: ids(a4.ID)},
		{name: "page", q: store.ArtifactQuery{Limit: 2, Offset: 1}, want: ids(o1.ID, r1.ID), total: 7},
	}
	// The latest artifact of each key; filters apply to that latest one.
	latest = []listCase[store.ArtifactQuery]{
		{name: "latest of each key", q: store.ArtifactQuery{}, want: ids(r2.ID, o1.ID, a4.ID, a2.ID, a1.ID)},
		{name: "latest by key", q: sorted("KEY_ASC"), want: ids(a1.ID, a4.ID, a2.ID, o1.ID, r2.ID)},
		{name: "latest markdown: report's latest is a table", q: typ(&store.NameFilter{Any: []string{"markdown"}}), want: ids(o1.ID, a1.ID)},
		{name: "latest of report", q: key(&store.NameFilter{Any: []string{"report"}}), want: ids(r2.ID)},
		{name: "not latest", q: arts(&store.ArtifactFilter{ID: &store.IDFilter{Any: ids(r1.ID)}})},
		{name: "keyless", q: key(&store.NameFilter{IsNull: ptr(true)})},
		{name: "page", q: store.ArtifactQuery{Limit: 1, Offset: 1}, want: ids(o1.ID), total: 5},
	}
	return ws, names, all, latest
}

func artifactID(a *model.Artifact) uuid.UUID { return a.ID }

func testListArtifacts(t *testing.T, h *harness) {
	ws, names, all, latest := artifactQueries(h)
	for _, latestOnly := range []bool{false, true} {
		cases := all
		if latestOnly {
			cases = latest
		}
		list := func(q store.ArtifactQuery) ([]*model.Artifact, error) {
			return h.s.ListArtifacts(h.ctx, ws, q, latestOnly)
		}
		checkList(h, names, artifactID, list, nil, cases)
		_, err := h.s.ListArtifacts(h.ctx, ws, store.ArtifactQuery{Sort: "NAME_ASC"}, latestOnly)
		h.wantCode(err, apperr.EInvalid, "an unknown sort")
		if arts, err := h.s.ListArtifacts(h.ctx, h.ws(), store.ArtifactQuery{}, latestOnly); err != nil || len(arts) != 0 {
			t.Errorf("ListArtifacts(latest %v) in another workspace: %v, %v", latestOnly, arts, err)
		}
	}
}

func testCountArtifacts(t *testing.T, h *harness) {
	ws, names, all, latest := artifactQueries(h)
	for _, latestOnly := range []bool{false, true} {
		cases := all
		if latestOnly {
			cases = latest
		}
		list := func(q store.ArtifactQuery) ([]*model.Artifact, error) {
			return h.s.ListArtifacts(h.ctx, ws, q, latestOnly)
		}
		count := func(q store.ArtifactQuery) (int, error) { return h.s.CountArtifacts(h.ctx, ws, q, latestOnly) }
		checkList(h, names, artifactID, list, count, cases)
		if n, err := h.s.CountArtifacts(h.ctx, h.ws(), store.ArtifactQuery{}, latestOnly); err != nil || n != 0 {
			t.Errorf("CountArtifacts(latest %v) in another workspace: %d, %v", latestOnly, n, err)
		}
	}
}

func testUpdateArtifact(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	a := h.artifact(ws, ptr("report"), "markdown", json.RawMessage(`{"v":1}`), func(a *model.Artifact) {
		a.Description, a.Metadata, a.FlowRunID = ptr("d"), map[string]any{"a": "b"}, &fr.ID
	})
	// Data, description and metadata change; the rest is not the client's
	// to change.
	h.must(h.s.UpdateArtifact(h.ctx, ws, a.ID, func(got *model.Artifact) error {
		if *got.Key != "report" || canonJSON(got.Data) != `{"v":1}` {
			t.Errorf("the patch got %+v, not the stored artifact", got)
		}
		got.Description, got.Metadata = ptr("new"), map[string]any{"k": "v"}
		got.Key, got.Type, got.FlowRunID = ptr("moved"), ptr("table"), nil
		return nil
	}), "update artifact")
	got, err := h.s.GetArtifact(h.ctx, ws, a.ID)
	h.must(err, "get artifact")
	if *got.Description != "new" || canonJSON(got.Metadata) != `{"k":"v"}` || canonJSON(got.Data) != `{"v":1}` ||
		*got.Key != "report" || *got.Type != "markdown" || got.FlowRunID == nil || *got.FlowRunID != fr.ID ||
		!got.Created.Equal(a.Created.Time) || !got.Updated.After(a.Updated.Time) {
		t.Errorf("after update: %s (before %s)", canonJSON(got), canonJSON(a))
	}
	h.must(h.s.UpdateArtifact(h.ctx, ws, a.ID, func(got *model.Artifact) error {
		got.Data = nil
		return nil
	}), "clear data")
	if got, err := h.s.GetArtifact(h.ctx, ws, a.ID); err != nil || got.Data != nil || *got.Description != "new" {
		t.Errorf("after clearing data: %+v (%v)", got, err)
	}

	before := h.artifactSnapshot(ws)
	boom := errors.New("boom")
	if err := h.s.UpdateArtifact(h.ctx, ws, a.ID, func(got *model.Artifact) error {
		got.Data = 3
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("a failing patch: %v, want its error", err)
	}
	h.wantNotFound(h.s.UpdateArtifact(h.ctx, ws, newID(), func(*model.Artifact) error { return nil }), "update an unknown artifact")
	err = h.s.UpdateArtifact(h.ctx, other, a.ID, func(a *model.Artifact) error {
		a.Data = 2
		return nil
	})
	if !apperr.IsNotFound(err) {
		t.Errorf("UpdateArtifact in another workspace: %v", err)
	}
	if after := h.artifactSnapshot(ws); after != before {
		t.Errorf("refused updates changed the artifact:\nbefore %s\nafter  %s", before, after)
	}
}

func testDeleteArtifact(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	v1 := h.artifact(ws, ptr("report"), "markdown", "v1")
	v2 := h.artifact(ws, ptr("report"), "markdown", "v2")
	before := h.artifactSnapshot(ws)
	if err := h.s.DeleteArtifact(h.ctx, other, v2.ID); !apperr.IsNotFound(err) {
		t.Errorf("DeleteArtifact in another workspace: %v", err)
	}
	if after := h.artifactSnapshot(ws); after != before {
		t.Errorf("another workspace changed the artifact:\nbefore %s\nafter  %s", before, after)
	}
	latest := func() []uuid.UUID {
		t.Helper()
		arts, err := h.s.ListArtifacts(h.ctx, ws, store.ArtifactQuery{}, true)
		h.must(err, "list latest artifacts")
		out := make([]uuid.UUID, len(arts))
		for i, a := range arts {
			out[i] = a.ID
		}
		return out
	}
	// Deleting a key's latest artifact makes the previous one its latest.
	h.must(h.s.DeleteArtifact(h.ctx, ws, v2.ID), "delete artifact")
	_, err := h.s.GetArtifact(h.ctx, ws, v2.ID)
	h.wantNotFound(err, "a deleted artifact")
	if got := latest(); len(got) != 1 || got[0] != v1.ID {
		t.Errorf("latest after deleting the newest version: %v, want [%s]", got, v1.ID)
	}
	h.must(h.s.DeleteArtifact(h.ctx, ws, v1.ID), "delete artifact")
	if got := latest(); len(got) != 0 {
		t.Errorf("latest after deleting every version: %v", got)
	}
	h.wantNotFound(h.s.DeleteArtifact(h.ctx, ws, v1.ID), "delete it again")
}
