package storetest

import (
	"regexp"
	"sync"
	"testing"

	"github.com/praetorhq/praetor/internal/model"
)

var engineName = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

func testEngine(t *testing.T, h *harness) {
	name := h.s.Engine()
	if !engineName.MatchString(name) {
		t.Errorf("Engine() = %q, want a lower-case name", name)
	}
	if again := h.s.Engine(); again != name {
		t.Errorf("Engine() changed from %q to %q", name, again)
	}
}

func testPing(t *testing.T, h *harness) {
	if err := h.s.Ping(h.ctx); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	s := h.open(t)
	if err := s.Ping(h.ctx); err != nil {
		t.Fatalf("Ping on a new store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(h.ctx); err == nil {
		t.Error("Ping on a closed store succeeded")
	}
}

// testClose: Close lets writes already under way finish, returns nil, and
// afterwards every call fails rather than hangs or panics.
func testClose(t *testing.T, h *harness) {
	s := h.open(t)
	ws, err := s.DefaultWorkspace(h.ctx)
	h.must(err, "default workspace")
	// Writers racing with Close: each either succeeds or fails, none hangs.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			_ = s.CreateVariable(h.ctx, ws.ID, &model.Variable{Name: unique("v"), Value: i})
		})
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	if err := s.CreateVariable(h.ctx, ws.ID, &model.Variable{Name: "after-close", Value: 1}); err == nil {
		t.Error("a write after Close succeeded")
	}
	if _, err := s.GetWorkspace(h.ctx, ws.AccountID, ws.ID); err == nil {
		t.Error("a read after Close succeeded")
	}
}
