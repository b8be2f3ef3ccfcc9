package api

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// Prefect's bounds on a lease's duration, in seconds.
const (
	defaultLeaseSeconds = 300
	minLeaseSeconds     = 60
	maxLeaseSeconds     = 24 * 60 * 60
)

// v1LeaseDuration is how long a v1 (tag) slot is leased: v1 clients never
// renew, so, as in Prefect, for about a century.
const v1LeaseDuration = 100 * 365 * 24 * time.Hour

const (
	limitNotFound   = "Concurrency Limit not found"
	v1LimitNotFound = "Concurrency limit not found"
)

// Permissions of the concurrency routes. Taking and giving back slots is a
// permission of its own (not Prefect's UI vocabulary, which has no such
// verb), so that a worker, whose flows take slots, cannot resize limits.
const (
	readLimit   = "read:concurrency_limit"
	createLimit = "create:concurrency_limit"
	updateLimit = "update:concurrency_limit"
	deleteLimit = "delete:concurrency_limit"
	useLimit    = "use:concurrency_limit"
)

func (a *API) concurrencyRoutes() {
	a.route("POST", "/v2/concurrency_limits/", createLimit, a.createLimit)
	a.route("GET", "/v2/concurrency_limits/{id_or_name}", readLimit, a.readLimit)
	a.route("PATCH", "/v2/concurrency_limits/{id_or_name}", updateLimit, a.updateLimit)
	a.route("DELETE", "/v2/concurrency_limits/{id_or_name}", deleteLimit, a.deleteLimit)
	a.route("POST", "/v2/concurrency_limits/filter", readLimit, a.filterLimits)
	a.route("POST", "/v2/concurrency_limits/increment", useLimit, a.incrementSlots(false))
	a.route("POST", "/v2/concurrency_limits/increment-with-lease", useLimit, a.incrementSlots(true))
	a.route("POST", "/v2/concurrency_limits/decrement", useLimit, a.decrementSlots)
	a.route("POST", "/v2/concurrency_limits/decrement-with-lease", useLimit, a.decrementLease)
	a.route("POST", "/v2/concurrency_limits/leases/{lease_id}/renew", useLimit, a.renewLease)

	a.route("POST", "/concurrency_limits/", createLimit, a.createTagLimit)
	a.route("GET", "/concurrency_limits/{id}", readLimit, a.readTagLimit)
	a.route("GET", "/concurrency_limits/tag/{tag}", readLimit, a.readTagLimitByTag)
	a.route("POST", "/concurrency_limits/filter", readLimit, a.filterTagLimits)
	a.route("DELETE", "/concurrency_limits/{id}", deleteLimit, a.deleteTagLimit)
	a.route("DELETE", "/concurrency_limits/tag/{tag}", deleteLimit, a.deleteTagLimitByTag)
	a.route("POST", "/concurrency_limits/tag/{tag}/reset", updateLimit, a.resetTagLimit)
	a.route("POST", "/concurrency_limits/increment", useLimit, a.incrementTagSlots)
	a.route("POST", "/concurrency_limits/decrement", useLimit, a.decrementTagSlots)
}

// minimalLimit is Prefect's MinimalConcurrencyLimitResponse.
type minimalLimit struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Limit int       `json:"limit"`
}

func minimalLimits(limits []*model.ConcurrencyLimit, name func(*model.ConcurrencyLimit) string) []minimalLimit {
	out := make([]minimalLimit, len(limits))
	for i, l := range limits {
		out[i] = minimalLimit{ID: l.ID, Name: name(l), Limit: l.Limit}
	}
	return out
}

func limitName(l *model.ConcurrencyLimit) string { return l.Name }

// limitBody is Prefect's ConcurrencyLimitV2Create and ConcurrencyLimitV2Update.
type limitBody struct {
	Active             *bool    `json:"active"`
	Name               *string  `json:"name"`
	Limit              *int     `json:"limit"`
	ActiveSlots        *int     `json:"active_slots"`
	DeniedSlots        *int     `json:"denied_slots"`
	SlotDecayPerSecond *float64 `json:"slot_decay_per_second"`
}

// check applies Prefect's field rules: a Name has none of / % & > <, and
// counts and the decay are not negative.
func (in *limitBody) check(body []byte) error {
	var errs []fieldError
	if in.Name != nil && strings.ContainsAny(*in.Name, "/%&><") {
		errs = append(errs, fieldErr("string_pattern_mismatch", "String should match pattern '^[^/%&><]+$'", *in.Name, "name"))
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"limit", in.Limit}, {"active_slots", in.ActiveSlots}, {"denied_slots", in.DeniedSlots}} {
		if f.v != nil && *f.v < 0 {
			errs = append(errs, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", *f.v, f.name))
		}
	}
	if in.SlotDecayPerSecond != nil && *in.SlotDecayPerSecond < 0 {
		errs = append(errs, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", *in.SlotDecayPerSecond, "slot_decay_per_second"))
	}
	if len(errs) > 0 {
		return invalid(body, errs...)
	}
	return nil
}

func (in *limitBody) apply(l *model.ConcurrencyLimit) {
	if in.Active != nil {
		l.Active = *in.Active
	}
	if in.Name != nil {
		l.Name = *in.Name
	}
	if in.Limit != nil {
		l.Limit = *in.Limit
	}
	if in.ActiveSlots != nil {
		l.ActiveSlots = *in.ActiveSlots
	}
	if in.DeniedSlots != nil {
		l.DeniedSlots = *in.DeniedSlots
	}
	if in.SlotDecayPerSecond != nil {
		l.SlotDecayPerSecond = *in.SlotDecayPerSecond
	}
}

// newLimit is a limit as Prefect creates one: active, 2 s of average
// occupancy.
func newLimit() *model.ConcurrencyLimit {
	return &model.ConcurrencyLimit{Active: true, AvgSlotOccupancySeconds: 2}
}

func (a *API) createLimit(w http.ResponseWriter, r *http.Request) error {
	var in limitBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := requireFields(body, sentField{"name", in.Name != nil}, sentField{"limit", in.Limit != nil}); err != nil {
		return err
	}
	if err := in.check(body); err != nil {
		return err
	}
	l := newLimit()
	in.apply(l)
	if err := a.Store.CreateConcurrencyLimit(r.Context(), workspaceID(r), l); err != nil {
		return integrity(err)
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

// integrity answers a conflict in Prefect's integrity-error form.
func integrity(err error) error {
	if apperr.ErrorCode(err) == apperr.EConflict {
		return detail(http.StatusConflict, integrityConflict)
	}
	return err
}

// limitByIDOrName reads the limit a v2 path names: by id when it parses as
// one, else by name, as Prefect does.
func (a *API) limitByIDOrName(r *http.Request) (*model.ConcurrencyLimit, error) {
	key := r.PathValue("id_or_name")
	var (
		l   *model.ConcurrencyLimit
		err error
	)
	if id, perr := uuid.Parse(key); perr == nil {
		l, err = a.Store.GetConcurrencyLimit(r.Context(), workspaceID(r), id, a.now())
	} else {
		l, err = a.Store.GetConcurrencyLimitByName(r.Context(), workspaceID(r), key, a.now())
	}
	return l, notFound(err, limitNotFound)
}

func (a *API) readLimit(w http.ResponseWriter, r *http.Request) error {
	l, err := a.limitByIDOrName(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l.Global())
	return nil
}

func (a *API) updateLimit(w http.ResponseWriter, r *http.Request) error {
	var in limitBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := in.check(body); err != nil {
		return err
	}
	l, err := a.limitByIDOrName(r)
	if err != nil {
		return err
	}
	err = a.Store.UpdateConcurrencyLimit(r.Context(), workspaceID(r), l.ID, a.now(), func(l *model.ConcurrencyLimit) error {
		in.apply(l)
		return nil
	})
	if err != nil {
		return notFound(integrity(err), limitNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteLimit(w http.ResponseWriter, r *http.Request) error {
	l, err := a.limitByIDOrName(r)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteConcurrencyLimit(r.Context(), workspaceID(r), l.ID, a.now()); err != nil {
		return notFound(err, limitNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pageBody is a limit and offset of Prefect's LimitBody.
type pageBody struct {
	Limit  *int `json:"limit"`
	Offset int  `json:"offset"`
}

func decodePage(w http.ResponseWriter, r *http.Request) (store.ConcurrencyLimitQuery, error) {
	var in pageBody
	body, err := decode(w, r, &in, true)
	if err != nil {
		return store.ConcurrencyLimitQuery{}, err
	}
	limit := 200
	if in.Limit != nil {
		limit = *in.Limit
	}
	if err := checkPage(body, limit, in.Offset); err != nil {
		return store.ConcurrencyLimitQuery{}, err
	}
	return store.ConcurrencyLimitQuery{Limit: limit, Offset: in.Offset}, nil
}

func (a *API) filterLimits(w http.ResponseWriter, r *http.Request) error {
	q, err := decodePage(w, r)
	if err != nil {
		return err
	}
	q.Now = a.now()
	limits, err := a.Store.ListConcurrencyLimits(r.Context(), workspaceID(r), q)
	if err != nil {
		return err
	}
	out := make([]*model.GlobalConcurrencyLimit, len(limits))
	for i, l := range limits {
		out[i] = l.Global()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// slotsBody is the body of the increment and decrement routes.
type slotsBody struct {
	Names            []string           `json:"names"`
	Slots            *int               `json:"slots"`
	Mode             *string            `json:"mode"`
	LeaseDuration    *float64           `json:"lease_duration"`
	Holder           *model.LeaseHolder `json:"holder"`
	OccupancySeconds *float64           `json:"occupancy_seconds"`
}

// check applies Prefect's rules to the fields every slots route has.
func (in *slotsBody) check(body []byte) error {
	var errs []fieldError
	switch {
	case in.Slots == nil:
		errs = append(errs, fieldErr("missing", "Field required", nil, "slots"))
	case *in.Slots <= 0:
		errs = append(errs, fieldErr("greater_than", "Input should be greater than 0", *in.Slots, "slots"))
	}
	// Prefect declares at least one name, but its FastAPI ignores that
	// bound: no names take no slots.
	if in.Names == nil {
		errs = append(errs, fieldErr("missing", "Field required", nil, "names"))
	}
	if in.Mode != nil && *in.Mode != "concurrency" && *in.Mode != "rate_limit" {
		errs = append(errs, fieldErr("literal_error", "Input should be 'concurrency' or 'rate_limit'", *in.Mode, "mode"))
	}
	if in.OccupancySeconds != nil && *in.OccupancySeconds <= 0 {
		errs = append(errs, fieldErr("greater_than", "Input should be greater than 0", *in.OccupancySeconds, "occupancy_seconds"))
	}
	if h := in.Holder; h != nil && h.Type != "flow_run" && h.Type != "task_run" && h.Type != "deployment" {
		errs = append(errs, fieldErr("literal_error", "Input should be 'flow_run', 'task_run' or 'deployment'", h.Type, "holder", "type"))
	}
	if len(errs) > 0 {
		return invalid(body, errs...)
	}
	return nil
}

// leaseDuration is a lease_duration within Prefect's bounds (the lower one
// the server's MinLeaseDuration, Prefect's minute by default), 300 s when
// not given.
func (a *API) leaseDuration(body []byte, seconds *float64, loc ...any) (time.Duration, error) {
	if seconds == nil {
		return defaultLeaseSeconds * time.Second, nil
	}
	d := time.Duration(*seconds * float64(time.Second))
	lowest := a.MinLeaseDuration
	if lowest <= 0 {
		lowest = minLeaseSeconds * time.Second
	}
	if d < lowest {
		return 0, invalid(body, fieldErr("greater_than_equal", fmt.Sprintf("Input should be greater than or equal to %g", lowest.Seconds()), *seconds, loc...))
	}
	if *seconds > maxLeaseSeconds {
		return 0, invalid(body, fieldErr("less_than_equal", fmt.Sprintf("Input should be less than or equal to %d", maxLeaseSeconds), *seconds, loc...))
	}
	return d, nil
}

// incrementSlots answers increment (withLease: increment-with-lease):
// the slots, or 423 with how long to wait in Retry-After, which Prefect's
// client sleeps before it asks again.
func (a *API) incrementSlots(withLease bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in slotsBody
		body, err := decode(w, r, &in, false)
		if err != nil {
			return err
		}
		if err := in.check(body); err != nil {
			return err
		}
		acq := store.SlotAcquisition{Names: in.Names, Slots: *in.Slots, RateLimit: in.Mode != nil && *in.Mode == "rate_limit", Now: a.now()}
		if withLease {
			d, err := a.leaseDuration(body, in.LeaseDuration, "lease_duration")
			if err != nil {
				return err
			}
			acq.Lease = &store.LeaseRequest{Duration: d, Holder: in.Holder}
		}
		g, err := a.Store.AcquireConcurrencySlots(r.Context(), workspaceID(r), acq)
		if err != nil {
			return err
		}
		if !g.Acquired {
			return locked(w, g, *in.Slots)
		}
		// Prefect answers with every limit named that exists, inactive
		// ones too.
		limits := minimalLimits(g.Limits, limitName)
		if !withLease {
			writeJSON(w, http.StatusOK, limits)
			return nil
		}
		lease := uuid.Must(uuid.NewV7())
		if g.Lease != nil {
			lease = g.Lease.ID
		}
		writeJSON(w, http.StatusOK, map[string]any{"lease_id": lease, "limits": limits})
		return nil
	}
}

// activeLimits keeps the active limits: a grant names the limits found, but
// Prefect answers with those it took slots of.
func activeLimits(limits []*model.ConcurrencyLimit) []*model.ConcurrencyLimit {
	var out []*model.ConcurrencyLimit
	for _, l := range limits {
		if l.Active {
			out = append(out, l)
		}
	}
	return out
}

// locked answers a denied acquisition with 423 and a jittered wait, from
// the limits as they were before the denial was counted.
func locked(w http.ResponseWriter, g *store.SlotGrant, slots int) error {
	var before []*model.ConcurrencyLimit
	for _, l := range activeLimits(g.Limits) {
		cp := *l
		cp.DeniedSlots = max(0, cp.DeniedSlots-slots)
		before = append(before, &cp)
	}
	wait := orchestration.Jitter(orchestration.SlotWait(before, slots), rand.Float64())
	w.Header().Set("Retry-After", strconv.FormatFloat(wait, 'f', -1, 64))
	return detail(http.StatusLocked, "Locked")
}

func (a *API) decrementSlots(w http.ResponseWriter, r *http.Request) error {
	var in slotsBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := in.check(body); err != nil {
		return err
	}
	var occupancy float64
	if in.OccupancySeconds != nil {
		occupancy = *in.OccupancySeconds
	}
	limits, err := a.Store.ReleaseConcurrencySlots(r.Context(), workspaceID(r), in.Names, *in.Slots, occupancy, a.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, minimalLimits(limits, limitName))
	return nil
}

// decrementLease releases a lease; an unknown one is not an error, since
// the lease reaper may have released it first.
func (a *API) decrementLease(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		LeaseID *uuid.UUID `json:"lease_id"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.LeaseID == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "lease_id"))
	}
	if err := a.Store.ReleaseConcurrencyLease(r.Context(), workspaceID(r), *in.LeaseID, a.now()); err != nil && !apperr.IsNotFound(err) {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) renewLease(w http.ResponseWriter, r *http.Request) error {
	id, err := uuid.Parse(r.PathValue("lease_id"))
	if err != nil {
		return invalid(nil, fieldError{Type: "uuid_parsing", Loc: []any{"path", "lease_id"}, Msg: "Input should be a valid UUID", Input: r.PathValue("lease_id")})
	}
	var in struct {
		LeaseDuration *float64 `json:"lease_duration"`
	}
	body, err := decode(w, r, &in, true)
	if err != nil {
		return err
	}
	d, err := a.leaseDuration(body, in.LeaseDuration, "lease_duration")
	if err != nil {
		return err
	}
	if err := a.Store.RenewConcurrencyLease(r.Context(), workspaceID(r), id, a.now().Add(d)); err != nil {
		if apperr.IsNotFound(err) {
			return detail(http.StatusGone, "Lease not found - it may have expired or been revoked")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tagLimit is Prefect's v1 ConcurrencyLimit: a tag's limit, with the task
// runs holding its slots.
type tagLimit struct {
	ID               uuid.UUID   `json:"id"`
	Created          model.Time  `json:"created"`
	Updated          model.Time  `json:"updated"`
	Tag              string      `json:"tag"`
	ConcurrencyLimit int         `json:"concurrency_limit"`
	ActiveSlots      []uuid.UUID `json:"active_slots"`
}

// asTagLimit answers a tag limit in v1's shape; its active slots are the
// task runs holding its unexpired leases.
func (a *API) asTagLimit(r *http.Request, l *model.ConcurrencyLimit) (tagLimit, error) {
	leases, err := a.Store.ListConcurrencyLeases(r.Context(), workspaceID(r), l.ID, a.now())
	if err != nil {
		return tagLimit{}, err
	}
	holders := []uuid.UUID{}
	for _, lease := range leases {
		if lease.Holder != nil && lease.Holder.Type == "task_run" {
			holders = append(holders, lease.Holder.ID)
		}
	}
	return tagLimit{ID: l.ID, Created: l.Created, Updated: l.Updated, Tag: strings.TrimPrefix(l.Name, model.ConcurrencyLimitTagPrefix),
		ConcurrencyLimit: l.Limit, ActiveSlots: holders}, nil
}

// writeTagLimit answers with l in v1's shape.
func (a *API) writeTagLimit(w http.ResponseWriter, r *http.Request, status int, l *model.ConcurrencyLimit) error {
	out, err := a.asTagLimit(r, l)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	return nil
}

// createTagLimit creates a tag's limit, or sets an existing one's (200).
func (a *API) createTagLimit(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Tag              *string `json:"tag"`
		ConcurrencyLimit *int    `json:"concurrency_limit"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := requireFields(body, sentField{"tag", in.Tag != nil}, sentField{"concurrency_limit", in.ConcurrencyLimit != nil}); err != nil {
		return err
	}
	ws, name := workspaceID(r), model.ConcurrencyLimitTagPrefix+*in.Tag
	for {
		existing, err := a.Store.GetConcurrencyLimitByName(r.Context(), ws, name, a.now())
		if err == nil {
			err = a.Store.UpdateConcurrencyLimit(r.Context(), ws, existing.ID, a.now(), func(l *model.ConcurrencyLimit) error {
				l.Limit = *in.ConcurrencyLimit
				return nil
			})
			if apperr.IsNotFound(err) {
				continue // deleted meanwhile: create it
			}
			if err != nil {
				return err
			}
			l, err := a.Store.GetConcurrencyLimit(r.Context(), ws, existing.ID, a.now())
			if err != nil {
				return err
			}
			return a.writeTagLimit(w, r, http.StatusOK, l)
		}
		if !apperr.IsNotFound(err) {
			return err
		}
		l := newLimit()
		l.Name, l.Limit = name, *in.ConcurrencyLimit
		err = a.Store.CreateConcurrencyLimit(r.Context(), ws, l)
		if apperr.ErrorCode(err) == apperr.EConflict {
			continue // created meanwhile: set it
		}
		if err != nil {
			return err
		}
		return a.writeTagLimit(w, r, http.StatusCreated, l)
	}
}

// tagLimitByID reads a v1 limit by id: only tag limits are v1 limits.
func (a *API) tagLimitByID(r *http.Request) (*model.ConcurrencyLimit, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	l, err := a.Store.GetConcurrencyLimit(r.Context(), workspaceID(r), id, a.now())
	if err == nil && !strings.HasPrefix(l.Name, model.ConcurrencyLimitTagPrefix) {
		err = apperr.Errorf(apperr.ENotFound, "not a tag limit")
	}
	return l, notFound(err, v1LimitNotFound)
}

func (a *API) tagLimitByTag(r *http.Request) (*model.ConcurrencyLimit, error) {
	l, err := a.Store.GetConcurrencyLimitByName(r.Context(), workspaceID(r), model.ConcurrencyLimitTagPrefix+r.PathValue("tag"), a.now())
	return l, notFound(err, v1LimitNotFound)
}

func (a *API) readTagLimit(w http.ResponseWriter, r *http.Request) error {
	l, err := a.tagLimitByID(r)
	if err != nil {
		return err
	}
	return a.writeTagLimit(w, r, http.StatusOK, l)
}

func (a *API) readTagLimitByTag(w http.ResponseWriter, r *http.Request) error {
	l, err := a.tagLimitByTag(r)
	if err != nil {
		return err
	}
	return a.writeTagLimit(w, r, http.StatusOK, l)
}

func (a *API) filterTagLimits(w http.ResponseWriter, r *http.Request) error {
	q, err := decodePage(w, r)
	if err != nil {
		return err
	}
	q.NamePrefix, q.Now = model.ConcurrencyLimitTagPrefix, a.now()
	limits, err := a.Store.ListConcurrencyLimits(r.Context(), workspaceID(r), q)
	if err != nil {
		return err
	}
	out := make([]tagLimit, len(limits))
	for i, l := range limits {
		if out[i], err = a.asTagLimit(r, l); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteTag deletes a v1 limit (and its leases); Prefect answers 200 null.
func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, l *model.ConcurrencyLimit) error {
	if err := a.Store.DeleteConcurrencyLimit(r.Context(), workspaceID(r), l.ID, a.now()); err != nil {
		return notFound(err, v1LimitNotFound)
	}
	writeJSON(w, http.StatusOK, nil)
	return nil
}

func (a *API) deleteTagLimit(w http.ResponseWriter, r *http.Request) error {
	l, err := a.tagLimitByID(r)
	if err != nil {
		return err
	}
	return a.deleteTag(w, r, l)
}

func (a *API) deleteTagLimitByTag(w http.ResponseWriter, r *http.Request) error {
	l, err := a.tagLimitByTag(r)
	if err != nil {
		return err
	}
	return a.deleteTag(w, r, l)
}

// resetTagLimit frees a tag's slots, or gives them to slot_override's task
// runs.
func (a *API) resetTagLimit(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		SlotOverride []uuid.UUID `json:"slot_override"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	l, err := a.tagLimitByTag(r)
	if err != nil {
		return err
	}
	holders := make([]model.LeaseHolder, len(in.SlotOverride))
	for i, id := range in.SlotOverride {
		holders[i] = model.LeaseHolder{Type: "task_run", ID: id}
	}
	now := a.now()
	if err := a.Store.ResetConcurrencyLimit(r.Context(), workspaceID(r), l.ID, holders, now.Add(v1LeaseDuration), now); err != nil {
		return notFound(err, v1LimitNotFound)
	}
	writeJSON(w, http.StatusOK, nil)
	return nil
}

// tagSlotsBody is the body of v1's increment and decrement.
type tagSlotsBody struct {
	Names     []string   `json:"names"`
	TaskRunID *uuid.UUID `json:"task_run_id"`
}

func (in *tagSlotsBody) check(body []byte) error {
	var errs []fieldError
	if in.Names == nil {
		errs = append(errs, fieldErr("missing", "Field required", nil, "names"))
	}
	if in.TaskRunID == nil {
		errs = append(errs, fieldErr("missing", "Field required", nil, "task_run_id"))
	}
	if len(errs) > 0 {
		return invalid(body, errs...)
	}
	return nil
}

func tagNames(tags []string) []string {
	names := make([]string, len(tags))
	for i, t := range tags {
		names[i] = model.ConcurrencyLimitTagPrefix + t
	}
	return names
}

// incrementTagSlots takes a slot of each tag's limit for a task run, held
// by a lease that v1 clients never renew. A limit of 0 would deadlock the
// task and is refused; a full one answers 423 with Prefect's fixed wait
// for tags.
func (a *API) incrementTagSlots(w http.ResponseWriter, r *http.Request) error {
	var in tagSlotsBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := in.check(body); err != nil {
		return err
	}
	ws, now := workspaceID(r), a.now()
	for _, tag := range in.Names {
		l, err := a.Store.GetConcurrencyLimitByName(r.Context(), ws, model.ConcurrencyLimitTagPrefix+tag, now)
		if err == nil && l.Active && l.Limit == 0 {
			return detail(http.StatusLocked, "The concurrency limit on tag %q is 0 and will deadlock if the task tries to run again.", tag)
		}
		if err != nil && !apperr.IsNotFound(err) {
			return err
		}
	}
	g, err := a.Store.AcquireConcurrencySlots(r.Context(), ws, store.SlotAcquisition{Names: tagNames(in.Names), Slots: 1, Now: now,
		Lease: &store.LeaseRequest{Duration: v1LeaseDuration, Holder: &model.LeaseHolder{Type: "task_run", ID: *in.TaskRunID}}})
	if err != nil {
		return err
	}
	active := activeLimits(g.Limits)
	if !g.Acquired {
		// Python's spelling of the float, as Prefect sends it.
		w.Header().Set("Retry-After", strconv.FormatFloat(orchestration.TagSlotWaitSeconds, 'f', 1, 64))
		return detail(http.StatusLocked, "Concurrency limit for the %s tag has been reached", fullTag(active))
	}
	writeJSON(w, http.StatusOK, minimalLimits(active, func(l *model.ConcurrencyLimit) string {
		return strings.TrimPrefix(l.Name, model.ConcurrencyLimitTagPrefix)
	}))
	return nil
}

// fullTag names a full limit among active.
func fullTag(active []*model.ConcurrencyLimit) string {
	for _, l := range active {
		if l.ActiveSlots >= l.Limit {
			return strings.TrimPrefix(l.Name, model.ConcurrencyLimitTagPrefix)
		}
	}
	return ""
}

// decrementTagSlots releases the task run's leases on the tags' limits.
func (a *API) decrementTagSlots(w http.ResponseWriter, r *http.Request) error {
	var in tagSlotsBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := in.check(body); err != nil {
		return err
	}
	ws, now := workspaceID(r), a.now()
	var found []*model.ConcurrencyLimit
	released := map[uuid.UUID]bool{}
	for _, name := range tagNames(in.Names) {
		l, err := a.Store.GetConcurrencyLimitByName(r.Context(), ws, name, now)
		if apperr.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		found = append(found, l)
		leases, err := a.Store.ListConcurrencyLeases(r.Context(), ws, l.ID, now)
		if err != nil {
			return err
		}
		for _, lease := range leases {
			if lease.Holder == nil || lease.Holder.ID != *in.TaskRunID || released[lease.ID] {
				continue
			}
			released[lease.ID] = true
			if err := a.Store.ReleaseConcurrencyLease(r.Context(), ws, lease.ID, now); err != nil && !apperr.IsNotFound(err) {
				return err
			}
		}
	}
	// Prefect names them by their v2 names here.
	writeJSON(w, http.StatusOK, minimalLimits(found, limitName))
	return nil
}
