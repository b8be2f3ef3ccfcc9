package httpx

import (
	"net/url"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/apperr"
)

// The audit log's filter reads dates and times, known event names, UUIDs
// and bounded pages, and refuses anything else as invalid input.
func TestAuditQuery(t *testing.T) {
	q, err := AuditQuery(url.Values{"since": {"2026-11-01"}, "until": {"2026-11-30"}, "event": {"user.logged-in, api-key.created"},
		"workspace_id": {"01a23390-570c-7d29-88ad-ae6814d3992f"}, "limit": {"200"}, "offset": {"50"}}.Get)
	if err != nil {
		t.Fatal(err)
	}
	if !q.Since.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || !q.Until.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("since %v until %v: a date's until is the end of that day", q.Since, q.Until)
	}
	if len(q.Events) != 2 || q.Events[1] != "api-key.created" || q.WorkspaceID == nil || q.ActorID != nil || q.Limit != 200 || q.Offset != 50 {
		t.Errorf("query %+v", q)
	}
	if q, err := AuditQuery(url.Values{"since": {"2026-11-01T10:00:00+01:00"}}.Get); err != nil || !q.Since.Equal(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("an RFC 3339 since: %v %v", q.Since, err)
	}
	for _, bad := range []url.Values{
		{"since": {"yesterday"}}, {"until": {"2026-13-01"}}, {"event": {"user.logged-in,user.exploded"}}, {"event": {","}},
		{"workspace_id": {"42"}}, {"actor_id": {"x"}}, {"limit": {"201"}}, {"limit": {"-1"}}, {"offset": {"many"}},
	} {
		if _, err := AuditQuery(bad.Get); apperr.ErrorCode(err) != apperr.EInvalid {
			t.Errorf("%v: error %v, want invalid input", bad, err)
		}
	}
}

func FuzzAuditQuery(f *testing.F) {
	f.Add("2026-11-01", "2026-11-02T00:00:00Z", "user.logged-in", "10", "0")
	f.Fuzz(func(t *testing.T, since, until, event, limit, offset string) {
		q, err := AuditQuery(url.Values{"since": {since}, "until": {until}, "event": {event}, "limit": {limit}, "offset": {offset}}.Get)
		if err != nil {
			if apperr.ErrorCode(err) != apperr.EInvalid {
				t.Fatalf("error %v is not invalid input", err)
			}
			return
		}
		if q.Limit < 0 || q.Limit > MaxAuditPage || q.Offset < 0 {
			t.Fatalf("page %d/%d out of bounds", q.Limit, q.Offset)
		}
	})
}
