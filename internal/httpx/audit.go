package httpx

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/store"
)

// MaxAuditPage is the most entries one read of the audit log returns.
const MaxAuditPage = 200

// AuditQuery reads an audit log filter from query parameters (get), as the
// API and the audit page both take them: since and until as RFC 3339 times
// or dates (until a date is until the end of that day, UTC), event as a
// comma-separated list of names, workspace_id and actor_id, limit and
// offset.
func AuditQuery(get func(string) string) (store.AuditQuery, error) {
	var q store.AuditQuery
	for _, name := range []string{"since", "until"} {
		v := strings.TrimSpace(get(name))
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, derr := time.Parse(time.DateOnly, v)
			if derr != nil {
				return q, apperr.Errorf(apperr.EInvalid, "%s must be a date (2006-01-02) or a time in RFC 3339 form (2006-01-02T15:04:05Z).", name)
			}
			if t = d; name == "until" {
				t = d.AddDate(0, 0, 1)
			}
		}
		if name == "since" {
			q.Since = &t
		} else {
			q.Until = &t
		}
	}
	if v := get("event"); v != "" {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); !slices.Contains(store.AuditEvents, e) {
				return q, apperr.Errorf(apperr.EInvalid, "Unknown audit event %q.", e)
			}
			q.Events = append(q.Events, e)
		}
	}
	for name, dst := range map[string]**uuid.UUID{"workspace_id": &q.WorkspaceID, "actor_id": &q.ActorID} {
		if v := get(name); v != "" {
			id, err := uuid.Parse(v)
			if err != nil {
				return q, apperr.Errorf(apperr.EInvalid, "%s must be a UUID.", name)
			}
			*dst = &id
		}
	}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if v := get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || name == "limit" && n > MaxAuditPage {
				return q, apperr.Errorf(apperr.EInvalid, "%s must be a whole number from 0 (limit: at most %d).", name, MaxAuditPage)
			}
			*dst = n
		}
	}
	return q, nil
}
