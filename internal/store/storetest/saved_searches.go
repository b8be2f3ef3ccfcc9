package storetest

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// savedSearch upserts a search named name with one filter on value.
func (h *harness) savedSearch(ws uuid.UUID, name string, value any) (*model.SavedSearch, bool) {
	h.t.Helper()
	s := &model.SavedSearch{Name: name, Filters: []model.SavedSearchFilter{{Object: "flow_run", Property: "state", Type: "state", Operation: "or", Value: value}}}
	created, err := h.s.UpsertSavedSearch(h.ctx, ws, s)
	h.must(err, "upsert saved search "+name)
	return s, created
}

func testUpsertSavedSearch(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	first, created := h.savedSearch(ws, "failures", []any{"FAILED"})
	if !created || first.ID == uuid.Nil || first.Created.IsZero() || len(first.Filters) != 1 {
		t.Fatalf("created %v: %+v", created, first)
	}
	// The same name again replaces the filters of the same search.
	again, created := h.savedSearch(ws, "failures", []any{"FAILED", "CRASHED"})
	if created || again.ID != first.ID || fmt.Sprint(again.Filters[0].Value) != "[FAILED CRASHED]" || !again.Created.Equal(first.Created.Time) {
		t.Errorf("upsert of an existing name: created %v, %+v", created, again)
	}
	// Names are per workspace.
	theirs, created := h.savedSearch(other, "failures", "x")
	if !created || theirs.ID == first.ID {
		t.Errorf("another workspace's search of the same name: created %v, %+v", created, theirs)
	}
	got, err := h.s.GetSavedSearch(h.ctx, ws, first.ID)
	h.must(err, "get saved search")
	if fmt.Sprint(got.Filters[0].Value) != "[FAILED CRASHED]" {
		t.Errorf("read back: %+v", got)
	}
}

func testGetSavedSearch(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	s, _ := h.savedSearch(ws, "s", 1)
	got, err := h.s.GetSavedSearch(h.ctx, ws, s.ID)
	if err != nil || got.Name != "s" || got.Filters[0].Object != "flow_run" {
		t.Errorf("get: %+v (%v)", got, err)
	}
	_, err = h.s.GetSavedSearch(h.ctx, other, s.ID)
	h.wantNotFound(err, "another workspace's saved search")
}

func testListSavedSearches(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	for _, n := range []string{"b", "a", "c"} {
		h.savedSearch(ws, n, n)
	}
	h.savedSearch(other, "theirs", 1)
	names := func(limit, offset int) string {
		got, err := h.s.ListSavedSearches(h.ctx, ws, limit, offset)
		h.must(err, "list saved searches")
		var out []string
		for _, s := range got {
			out = append(out, s.Name)
		}
		return fmt.Sprint(out)
	}
	if got := names(0, 0); got != "[a b c]" {
		t.Errorf("all: %s", got)
	}
	if got := names(1, 1); got != "[b]" {
		t.Errorf("limit 1 offset 1: %s", got)
	}
}

func testDeleteSavedSearch(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	s, _ := h.savedSearch(ws, "doomed", 1)
	h.wantNotFound(h.s.DeleteSavedSearch(h.ctx, other, s.ID), "delete through another workspace")
	h.must(h.s.DeleteSavedSearch(h.ctx, ws, s.ID), "delete saved search")
	_, err := h.s.GetSavedSearch(h.ctx, ws, s.ID)
	h.wantNotFound(err, "a deleted saved search")
	h.wantNotFound(h.s.DeleteSavedSearch(h.ctx, ws, s.ID), "delete it again")
}
