package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// limit creates a concurrency limit of n slots.
func (h *harness) limit(ws uuid.UUID, name string, n int, edit ...func(*model.ConcurrencyLimit)) *model.ConcurrencyLimit {
	h.t.Helper()
	l := &model.ConcurrencyLimit{Name: name, Limit: n, Active: true, AvgSlotOccupancySeconds: 2}
	for _, e := range edit {
		e(l)
	}
	h.must(h.s.CreateConcurrencyLimit(h.ctx, ws, l), "create limit "+name)
	return l
}

// slots is a limit's active and denied slots now.
func (h *harness) slots(ws, id uuid.UUID) (active, denied int) {
	h.t.Helper()
	l, err := h.s.GetConcurrencyLimit(h.ctx, ws, id, time.Now())
	h.must(err, "read limit")
	return l.ActiveSlots, l.DeniedSlots
}

// acquire asks for slots of names with a lease of a minute, if lease.
func (h *harness) acquire(ws uuid.UUID, slots int, lease bool, names ...string) *store.SlotGrant {
	h.t.Helper()
	a := store.SlotAcquisition{Names: names, Slots: slots, Now: time.Now()}
	if lease {
		a.Lease = &store.LeaseRequest{Duration: time.Minute, Holder: &model.LeaseHolder{Type: "task_run", ID: uuid.Must(uuid.NewV7())}}
	}
	g, err := h.s.AcquireConcurrencySlots(h.ctx, ws, a)
	h.must(err, "acquire slots")
	return g
}

func testCreateConcurrencyLimit(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	l := h.limit(ws, "db", 2, func(l *model.ConcurrencyLimit) { l.SlotDecayPerSecond = 0.5; l.ActiveSlots = 1 })
	if l.ID == uuid.Nil || l.Created.IsZero() {
		t.Fatalf("created %+v", l)
	}
	got, err := h.s.GetConcurrencyLimit(h.ctx, ws, l.ID, l.Updated.Time)
	h.must(err, "read limit")
	if got.Name != "db" || got.Limit != 2 || !got.Active || got.ActiveSlots != 1 || got.SlotDecayPerSecond != 0.5 || got.AvgSlotOccupancySeconds != 2 ||
		!got.Created.Equal(l.Created.Time) {
		t.Errorf("stored %+v", got)
	}
	h.wantCode(h.s.CreateConcurrencyLimit(h.ctx, ws, &model.ConcurrencyLimit{Name: "db", Limit: 9}), apperr.EConflict, "a taken name")
	if got, _ := h.s.GetConcurrencyLimitByName(h.ctx, ws, "db", time.Now()); got.ID != l.ID || got.Limit != 2 {
		t.Errorf("a refused duplicate changed the limit: %+v", got)
	}
	theirs := h.limit(other, "db", 5)
	if got, err := h.s.GetConcurrencyLimitByName(h.ctx, other, "db", time.Now()); err != nil || got.ID != theirs.ID {
		t.Errorf("the other workspace's limit of the same name: %+v (%v)", got, err)
	}
}

func testGetConcurrencyLimit(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	rate := h.limit(ws, "rate", 10, func(l *model.ConcurrencyLimit) { l.SlotDecayPerSecond = 2; l.ActiveSlots = 7 })
	// Seven slots decaying at two a second: five drained after 2.5 s, in
	// whole slots.
	got, err := h.s.GetConcurrencyLimit(h.ctx, ws, rate.ID, rate.Updated.Add(2500*time.Millisecond))
	if err != nil || got.ActiveSlots != 2 || !got.Updated.Equal(rate.Updated.Time) {
		t.Errorf("decayed read %+v (%v), want 2 active slots", got, err)
	}
	if got, _ := h.s.GetConcurrencyLimit(h.ctx, ws, rate.ID, rate.Updated.Add(time.Hour)); got.ActiveSlots != 0 {
		t.Errorf("long decayed: %d active slots", got.ActiveSlots)
	}
	_, err = h.s.GetConcurrencyLimit(h.ctx, other, rate.ID, time.Now())
	h.wantNotFound(err, "another workspace's limit")
	_, err = h.s.GetConcurrencyLimit(h.ctx, ws, uuid.Must(uuid.NewV7()), time.Now())
	h.wantNotFound(err, "an unknown limit")
}

func testGetConcurrencyLimitByName(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	l := h.limit(ws, "tag:db", 1)
	if got, err := h.s.GetConcurrencyLimitByName(h.ctx, ws, "tag:db", time.Now()); err != nil || got.ID != l.ID {
		t.Errorf("by name: %+v (%v)", got, err)
	}
	_, err := h.s.GetConcurrencyLimitByName(h.ctx, other, "tag:db", time.Now())
	h.wantNotFound(err, "another workspace's limit")
	_, err = h.s.GetConcurrencyLimitByName(h.ctx, ws, "tag:", time.Now())
	h.wantNotFound(err, "a prefix of a name")
}

func testListConcurrencyLimits(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	names := map[uuid.UUID]string{}
	for _, n := range []string{"tag:b", "zeta", "tag:a", "alpha", "tag%x"} {
		names[h.limit(ws, n, 1).ID] = n
	}
	h.limit(other, "tag:other", 1)
	cases := []struct {
		q    store.ConcurrencyLimitQuery
		want []string
	}{
		{store.ConcurrencyLimitQuery{}, []string{"alpha", "tag%x", "tag:a", "tag:b", "zeta"}},
		{store.ConcurrencyLimitQuery{NamePrefix: "tag:"}, []string{"tag:a", "tag:b"}},
		{store.ConcurrencyLimitQuery{Limit: 2, Offset: 1}, []string{"tag%x", "tag:a"}},
		{store.ConcurrencyLimitQuery{NamePrefix: "tag:", Offset: 1}, []string{"tag:b"}},
		{store.ConcurrencyLimitQuery{NamePrefix: "nope"}, []string{}},
	}
	for _, c := range cases {
		c.q.Now = time.Now()
		got, err := h.s.ListConcurrencyLimits(h.ctx, ws, c.q)
		h.must(err, "list limits")
		gotNames := []string{}
		for _, l := range got {
			gotNames = append(gotNames, names[l.ID])
		}
		if !slices.Equal(gotNames, c.want) {
			t.Errorf("%+v: %v, want %v", c.q, gotNames, c.want)
		}
	}
}

func testUpdateConcurrencyLimit(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	l := h.limit(ws, "db", 2)
	h.limit(ws, "taken", 2)
	h.acquire(ws, 1, false, "db")
	h.must(h.s.UpdateConcurrencyLimit(h.ctx, ws, l.ID, time.Now(), func(l *model.ConcurrencyLimit) error {
		l.Limit, l.Name, l.Active = 5, "db2", false
		return nil
	}), "update")
	got, err := h.s.GetConcurrencyLimit(h.ctx, ws, l.ID, time.Now())
	if err != nil || got.Limit != 5 || got.Name != "db2" || got.Active || got.ActiveSlots != 1 || !got.Updated.After(l.Updated.Time) {
		t.Errorf("updated %+v (%v)", got, err)
	}
	h.wantCode(h.s.UpdateConcurrencyLimit(h.ctx, ws, l.ID, time.Now(), func(l *model.ConcurrencyLimit) error { l.Name = "taken"; return nil }),
		apperr.EConflict, "a rename onto a taken name")
	if got, _ := h.s.GetConcurrencyLimit(h.ctx, ws, l.ID, time.Now()); got.Name != "db2" {
		t.Errorf("a refused rename changed the name to %q", got.Name)
	}
	h.wantNotFound(h.s.UpdateConcurrencyLimit(h.ctx, other, l.ID, time.Now(), func(*model.ConcurrencyLimit) error { return nil }), "another workspace's limit")
}

func testDeleteConcurrencyLimit(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a, b := h.limit(ws, "a", 2), h.limit(ws, "b", 2)
	g := h.acquire(ws, 1, true, "a", "b")
	h.wantNotFound(h.s.DeleteConcurrencyLimit(h.ctx, other, a.ID, time.Now()), "another workspace's limit")
	h.must(h.s.DeleteConcurrencyLimit(h.ctx, ws, a.ID, time.Now()), "delete")
	_, err := h.s.GetConcurrencyLimit(h.ctx, ws, a.ID, time.Now())
	h.wantNotFound(err, "the deleted limit")
	// Its lease went with it, and gave back its slot of b.
	if active, _ := h.slots(ws, b.ID); active != 0 {
		t.Errorf("b keeps %d slots of a deleted limit's lease", active)
	}
	h.wantNotFound(h.s.ReleaseConcurrencyLease(h.ctx, ws, g.Lease.ID, time.Now()), "the deleted limit's lease")
	h.wantNotFound(h.s.DeleteConcurrencyLimit(h.ctx, ws, a.ID, time.Now()), "a deleted limit")
}

func testAcquireConcurrencySlots(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a, b := h.limit(ws, "a", 3), h.limit(ws, "b", 1)
	off := h.limit(ws, "off", 0, func(l *model.ConcurrencyLimit) { l.Active = false })
	theirs := h.limit(other, "a", 3)

	g := h.acquire(ws, 1, true, "a", "b", "off", "missing")
	if !g.Acquired || len(g.Limits) != 3 || g.Lease == nil || g.Lease.Slots != 1 || g.Lease.Holder == nil ||
		!slices.Equal(g.Lease.LimitIDs, idOrder(a.ID, b.ID, off.ID)) {
		t.Fatalf("grant %+v", g)
	}
	if got := g.Lease.Expiration.Sub(g.Lease.Created.Time); got != time.Minute {
		t.Errorf("lease for %v, want a minute", got)
	}
	// b is full: a is not taken either, and both count the denial.
	if g := h.acquire(ws, 1, true, "a", "b"); g.Acquired || g.Lease != nil {
		t.Errorf("granted beyond b's limit: %+v", g)
	}
	if active, denied := h.slots(ws, a.ID); active != 1 || denied != 1 {
		t.Errorf("a: %d active, %d denied; want 1 and 1", active, denied)
	}
	if active, _ := h.slots(ws, off.ID); active != 0 {
		t.Errorf("an inactive limit took %d slots", active)
	}
	if active, _ := h.slots(other, theirs.ID); active != 0 {
		t.Errorf("the other workspace's limit of the same name took %d slots", active)
	}
	// No limit named: granted, and no lease to hold. Only an inactive
	// one: a lease on it, which takes nothing.
	if g := h.acquire(ws, 1, true, "missing"); !g.Acquired || len(g.Limits) != 0 || g.Lease != nil {
		t.Errorf("no limits: %+v", g)
	}
	if g := h.acquire(ws, 1, true, "off"); !g.Acquired || len(g.Limits) != 1 || g.Lease == nil || !slices.Equal(g.Lease.LimitIDs, []uuid.UUID{off.ID}) {
		t.Errorf("an inactive limit: %+v", g)
	} else {
		h.must(h.s.ReleaseConcurrencyLease(h.ctx, ws, g.Lease.ID, time.Now()), "release the inactive limit's lease")
	}
	if active, _ := h.slots(ws, off.ID); active != 0 {
		t.Errorf("an inactive limit's lease took or gave back slots: %d", active)
	}
	_, err := h.s.AcquireConcurrencySlots(h.ctx, ws, store.SlotAcquisition{Names: []string{"a"}, Slots: 4, Now: time.Now()})
	h.wantCode(err, apperr.EInvalid, "more slots than the limit")
	_, err = h.s.AcquireConcurrencySlots(h.ctx, ws, store.SlotAcquisition{Names: []string{"a"}, Slots: 1, RateLimit: true, Now: time.Now()})
	h.wantCode(err, apperr.EInvalid, "a rate limit without decay")
	if active, _ := h.slots(ws, a.ID); active != 1 {
		t.Errorf("refused acquisitions changed a's slots to %d", active)
	}

	// A rate limit's slots drain: full now, free again after a second.
	rate := h.limit(ws, "rate", 2, func(l *model.ConcurrencyLimit) { l.SlotDecayPerSecond = 2 })
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		g, err := h.s.AcquireConcurrencySlots(h.ctx, ws, store.SlotAcquisition{Names: []string{"rate"}, Slots: 1, RateLimit: true, Now: now})
		if err != nil || g.Acquired != want {
			t.Errorf("rate limit, acquisition %d: %+v (%v), want acquired %v", i, g, err, want)
		}
	}
	if g, err := h.s.AcquireConcurrencySlots(h.ctx, ws, store.SlotAcquisition{Names: []string{"rate"}, Slots: 2, RateLimit: true, Now: now.Add(time.Second)}); err != nil || !g.Acquired {
		t.Errorf("after the slots decayed: %+v (%v)", g, err)
	}
	_ = rate

	testConcurrentAcquisitions(t, h)
}

// testConcurrentAcquisitions: many clients at once never take more slots
// than the limit has, however their writes interleave.
func testConcurrentAcquisitions(t *testing.T, h *harness) {
	ws := h.ws()
	l := h.limit(ws, "contended", 3)
	const clients = 24
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted []*store.SlotGrant
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := h.s.AcquireConcurrencySlots(h.ctx, ws, store.SlotAcquisition{Names: []string{"contended"}, Slots: 1, Now: time.Now(),
				Lease: &store.LeaseRequest{Duration: time.Minute}})
			if err != nil {
				t.Errorf("concurrent acquisition: %v", err)
				return
			}
			if g.Acquired {
				mu.Lock()
				granted = append(granted, g)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(granted) != 3 {
		t.Fatalf("%d of %d concurrent acquisitions granted, want 3", len(granted), clients)
	}
	if active, denied := h.slots(ws, l.ID); active != 3 || denied != clients-3 {
		t.Errorf("%d active and %d denied slots, want 3 and %d", active, denied, clients-3)
	}
	// Concurrent releases give every slot back, exactly once.
	for _, g := range granted {
		wg.Add(2)
		for range 2 {
			go func() {
				defer wg.Done()
				err := h.s.ReleaseConcurrencyLease(h.ctx, ws, g.Lease.ID, time.Now())
				if err != nil && !apperr.IsNotFound(err) {
					t.Errorf("concurrent release: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if active, _ := h.slots(ws, l.ID); active != 0 {
		t.Errorf("%d active slots after every lease was released", active)
	}
}

func idOrder(ids ...uuid.UUID) []uuid.UUID {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

func testReleaseConcurrencySlots(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.limit(ws, "a", 4)
	h.acquire(ws, 2, false, "a")
	got, err := h.s.ReleaseConcurrencySlots(h.ctx, ws, []string{"a", "missing"}, 1, 10, time.Now())
	if err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("released %+v (%v)", got, err)
	}
	l, _ := h.s.GetConcurrencyLimit(h.ctx, ws, a.ID, time.Now())
	// 10 s for one slot, folded into 2 s over 4 × 2 samples: 2 + 10/8 - 2/8.
	if l.ActiveSlots != 1 || l.AvgSlotOccupancySeconds != 3 {
		t.Errorf("after a release: %+v", l)
	}
	if _, err := h.s.ReleaseConcurrencySlots(h.ctx, ws, []string{"a"}, 5, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if l, _ := h.s.GetConcurrencyLimit(h.ctx, ws, a.ID, time.Now()); l.ActiveSlots != 0 || l.AvgSlotOccupancySeconds != 3 {
		t.Errorf("releasing more than held: %+v", l)
	}
	h.acquire(ws, 1, false, "a")
	if got, err := h.s.ReleaseConcurrencySlots(h.ctx, other, []string{"a"}, 1, 0, time.Now()); err != nil || len(got) != 0 {
		t.Errorf("another workspace released %+v (%v)", got, err)
	}
	if active, _ := h.slots(ws, a.ID); active != 1 {
		t.Errorf("another workspace's release left %d slots", active)
	}
}

func testReleaseConcurrencyLease(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a, b := h.limit(ws, "a", 4), h.limit(ws, "b", 4)
	g := h.acquire(ws, 2, true, "a", "b")
	h.wantNotFound(h.s.ReleaseConcurrencyLease(h.ctx, other, g.Lease.ID, time.Now()), "another workspace's lease")
	h.must(h.s.ReleaseConcurrencyLease(h.ctx, ws, g.Lease.ID, g.Lease.Created.Add(4*time.Second)), "release")
	for _, l := range []*model.ConcurrencyLimit{a, b} {
		got, _ := h.s.GetConcurrencyLimit(h.ctx, ws, l.ID, time.Now())
		// 4 s for two slots: 2 s a slot, which leaves the average at 2.
		if got.ActiveSlots != 0 || got.AvgSlotOccupancySeconds != 2 {
			t.Errorf("%s after its lease: %+v", l.Name, got)
		}
	}
	h.wantNotFound(h.s.ReleaseConcurrencyLease(h.ctx, ws, g.Lease.ID, time.Now()), "a released lease")
}

func testRenewConcurrencyLease(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a := h.limit(ws, "a", 4)
	g := h.acquire(ws, 1, true, "a")
	later := time.Now().Add(time.Hour)
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, a.ID, later); len(leases) != 0 {
		t.Fatalf("a lease of a minute is there an hour later")
	}
	h.must(h.s.RenewConcurrencyLease(h.ctx, ws, g.Lease.ID, later.Add(time.Minute)), "renew")
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, a.ID, later); len(leases) != 1 || leases[0].Expiration.Sub(later.Add(time.Minute)).Abs() > time.Millisecond {
		t.Errorf("renewed: %+v", leases)
	}
	h.wantNotFound(h.s.RenewConcurrencyLease(h.ctx, other, g.Lease.ID, later), "another workspace's lease")
	h.must(h.s.ReleaseConcurrencyLease(h.ctx, ws, g.Lease.ID, time.Now()), "release")
	h.wantNotFound(h.s.RenewConcurrencyLease(h.ctx, ws, g.Lease.ID, later), "a released lease")
}

func testListConcurrencyLeases(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a, b := h.limit(ws, "a", 4), h.limit(ws, "b", 4)
	first := h.acquire(ws, 1, true, "a", "b")
	second := h.acquire(ws, 1, true, "a")
	leases, err := h.s.ListConcurrencyLeases(h.ctx, ws, a.ID, time.Now())
	if err != nil || len(leases) != 2 || leases[0].ID != first.Lease.ID || leases[1].ID != second.Lease.ID ||
		*leases[0].Holder != *first.Lease.Holder || !slices.Equal(leases[0].LimitIDs, first.Lease.LimitIDs) {
		t.Errorf("leases of a: %+v (%v)", leases, err)
	}
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, b.ID, time.Now()); len(leases) != 1 {
		t.Errorf("leases of b: %+v", leases)
	}
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, a.ID, time.Now().Add(2*time.Minute)); len(leases) != 0 {
		t.Errorf("expired leases listed: %+v", leases)
	}
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, other, a.ID, time.Now()); len(leases) != 0 {
		t.Errorf("another workspace sees %+v", leases)
	}
}

func testResetConcurrencyLimit(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	a, b := h.limit(ws, "a", 4), h.limit(ws, "b", 4)
	h.acquire(ws, 1, true, "a", "b")
	h.acquire(ws, 2, true, "a")
	holders := []model.LeaseHolder{{Type: "task_run", ID: uuid.Must(uuid.NewV7())}}
	exp := time.Now().Add(24 * time.Hour)
	h.wantNotFound(h.s.ResetConcurrencyLimit(h.ctx, other, a.ID, nil, exp, time.Now()), "another workspace's limit")
	h.must(h.s.ResetConcurrencyLimit(h.ctx, ws, a.ID, holders, exp, time.Now()), "reset")
	if active, _ := h.slots(ws, a.ID); active != 1 {
		t.Errorf("a holds %d slots after a reset to one holder", active)
	}
	if active, _ := h.slots(ws, b.ID); active != 0 {
		t.Errorf("b keeps %d slots of a lease the reset released", active)
	}
	leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, a.ID, time.Now())
	if len(leases) != 1 || *leases[0].Holder != holders[0] || leases[0].Slots != 1 {
		t.Errorf("leases after the reset: %+v", leases)
	}
	h.must(h.s.ResetConcurrencyLimit(h.ctx, ws, a.ID, nil, exp, time.Now()), "reset to none")
	if active, _ := h.slots(ws, a.ID); active != 0 {
		t.Errorf("a holds %d slots after a reset", active)
	}
}

func testExpireConcurrencyLeases(t *testing.T, h *harness) {
	h = h.foremanHarness(t)
	ws, other := h.ws(), h.ws()
	a, theirs := h.limit(ws, "a", 4), h.limit(other, "a", 4)
	short := h.acquire(ws, 2, true, "a")
	h.acquire(other, 1, true, "a")
	long, err := h.s.AcquireConcurrencySlots(h.ctx, ws, store.SlotAcquisition{Names: []string{"a"}, Slots: 1, Now: time.Now(),
		Lease: &store.LeaseRequest{Duration: time.Hour}})
	h.must(err, "acquire")
	if n, err := h.s.ExpireConcurrencyLeases(h.ctx, time.Now(), 10); err != nil || n != 0 {
		t.Errorf("nothing expired yet: %d released (%v)", n, err)
	}
	// A renewed lease is not expired.
	h.must(h.s.RenewConcurrencyLease(h.ctx, ws, short.Lease.ID, time.Now().Add(10*time.Minute)), "renew")
	if n, err := h.s.ExpireConcurrencyLeases(h.ctx, time.Now().Add(5*time.Minute), 10); err != nil || n != 1 {
		t.Errorf("past the other workspace's lease: %d released (%v)", n, err)
	}
	if active, _ := h.slots(other, theirs.ID); active != 0 {
		t.Errorf("an expired lease still holds %d slots", active)
	}
	if n, err := h.s.ExpireConcurrencyLeases(h.ctx, time.Now().Add(20*time.Minute), 10); err != nil || n != 1 {
		t.Errorf("past the renewed lease: %d released (%v)", n, err)
	}
	if active, _ := h.slots(ws, a.ID); active != 1 {
		t.Errorf("a holds %d slots, want only the hour's lease's one", active)
	}
	h.wantNotFound(h.s.ReleaseConcurrencyLease(h.ctx, ws, short.Lease.ID, time.Now()), "an expired lease")
	h.must(h.s.ReleaseConcurrencyLease(h.ctx, ws, long.Lease.ID, time.Now()), "the hour's lease is still there")
}
