package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// listCase is a query of a list method and the ids it must return, in
// order.
type listCase[Q any] struct {
	name string
	q    Q
	want []uuid.UUID
	// total is what the count method gives for q when q pages (counts
	// ignore sort, limit and offset); otherwise the count is len(want).
	total int
}

// checkList runs every case through list and, when count is not nil,
// through count, which must agree with list. names labels the ids in
// failure messages.
func checkList[Q, T any](h *harness, names map[uuid.UUID]string, id func(T) uuid.UUID,
	list func(Q) ([]T, error), count func(Q) (int, error), cases []listCase[Q]) {
	h.t.Helper()
	label := func(ids []uuid.UUID) string {
		out := make([]string, len(ids))
		for i, x := range ids {
			if n, ok := names[x]; ok {
				out[i] = n
			} else {
				out[i] = x.String()
			}
		}
		return "[" + strings.Join(out, " ") + "]"
	}
	for _, c := range cases {
		rows, err := list(c.q)
		if err != nil {
			h.t.Errorf("%s: list: %v", c.name, err)
			continue
		}
		got := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			got[i] = id(r)
		}
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			h.t.Errorf("%s: list gave %s, want %s", c.name, label(got), label(c.want))
		}
		if count == nil {
			continue
		}
		want := len(c.want)
		if c.total != 0 {
			want = c.total
		}
		if n, err := count(c.q); err != nil || n != want {
			h.t.Errorf("%s: count gave %d (%v), want %d", c.name, n, err, want)
		}
	}
}

// ids lists ids, for a case's want.
func ids(xs ...uuid.UUID) []uuid.UUID { return xs }

// canonJSON encodes v canonically (sorted keys, numbers exact), so values the
// engines store differently (jsonb reorders keys) compare equal.
func canonJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("!%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return fmt.Sprintf("!%v", err)
	}
	out, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprintf("!%v", err)
	}
	return string(out)
}

// clock is a base time for the times a contract sets, whole seconds in the
// past, so no scheduled time waits and every offset is exact on both
// engines.
type clock struct{ base time.Time }

func newClock() clock { return clock{time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)} }

// at returns the base plus d.
func (c clock) at(d time.Duration) model.Time { return model.At(c.base.Add(d)) }

// state proposes a state of typ.
func state(typ model.StateType) model.StateCreate { return model.StateCreate{Type: typ} }

// stateAt proposes a state of typ timestamped at ts.
func stateAt(typ model.StateType, ts model.Time) model.StateCreate {
	return model.StateCreate{Type: typ, Timestamp: &ts}
}

// scheduledFor proposes a SCHEDULED state for at, timestamped at ts.
func scheduledFor(at, ts model.Time) model.StateCreate {
	return model.StateCreate{Type: model.Scheduled, Timestamp: &ts, StateDetails: &model.StateDetails{ScheduledTime: &at}}
}

// eqTime reports whether two optional times are equal.
func eqTime(a, b *model.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(b.Time))
}

func ptr[T any](v T) *T { return &v }

// checkBulkDelete deletes mine (two objects of ws), an unknown id and
// theirs (another workspace's) in one call: del must delete and return
// exactly mine, in order, and leave theirs; exists reads an object back.
func checkBulkDelete(h *harness, what string, del store.BulkDelete, ws uuid.UUID, mine []uuid.UUID, other, theirs uuid.UUID, exists func(ws, id uuid.UUID) error) {
	h.t.Helper()
	got, err := del(h.ctx, ws, []uuid.UUID{mine[0], uuid.New(), theirs, mine[1]})
	h.must(err, "bulk delete "+what)
	if !slices.Equal(got, mine) {
		h.t.Errorf("bulk delete of %s gave %v, want %v", what, got, mine)
	}
	for _, id := range mine {
		h.wantNotFound(exists(ws, id), "a bulk-deleted "+what)
	}
	if err := exists(other, theirs); err != nil {
		h.t.Errorf("a bulk delete in one workspace removed another's %s: %v", what, err)
	}
}
