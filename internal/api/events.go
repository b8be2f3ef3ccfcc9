package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// Limits of the events websockets.
const (
	// maxEventBytes is Prefect's default maximum event size; its client
	// sends one event per frame.
	maxEventBytes = 1_500_000
	// maxHandshakeBytes bounds the frames read before the caller is known
	// (the auth frame) and the subscriber's filter frame.
	maxHandshakeBytes = 8 << 10
	maxFilterBytes    = 64 << 10
	// handshakeTimeout bounds the wait for the auth and filter frames,
	// which the Prefect client sends as soon as it has connected.
	handshakeTimeout = 10 * time.Second
	// maxPendingEvents and maxPendingEventBytes bound what one events/in
	// socket holds before it is stored.
	maxPendingEvents     = 1000
	maxPendingEventBytes = 4 << 20
)

var errTooManySockets = detail(http.StatusTooManyRequests, "Too many open event streams for this caller")

func (a *API) eventRoutes() {
	a.socketRoute("/events/in", "create:event", a.eventsIn)
	a.socketRoute("/events/out", "read:event", a.eventsOut)
	a.route("POST", "/events", "create:event", a.postEvents)
	a.route("POST", "/events/filter", "read:event", a.filterEvents)
	a.route("GET", "/events/filter/next", "read:event", a.filterEventsNext)
	a.route("POST", "/events/count-by/{countable}", "read:event", a.countEvents)
}

// acceptSocket authorizes perm and upgrades the request, running Prefect's
// handshake: a client that offers the "prefect" subprotocol sends a first
// {"type":"auth","token":…} frame; one that does not (Cloud mode, 2.x)
// authenticated with its upgrade request's Authorization header. A key may
// come either way; without one, only an anonymous default workspace lets
// the socket in. What can be refused before the upgrade is: a workspace
// that does not exist, and a caller with too many sockets open. release
// ends the socket's share of its caller's limit.
func (a *API) acceptSocket(w http.ResponseWriter, r *http.Request, perm auth.Permission, opts *websocket.AcceptOptions) (conn *websocket.Conn, release func(), err error) {
	acc := accessOf(r)
	offersPrefect := slices.Contains(websocketProtocols(r), "prefect")
	if acc.err != nil && !(acc.socketAuth && offersPrefect) {
		a.writeError(w, r, acc.err)
		return nil, nil, acc.err
	}
	if acc.err == nil {
		if err := authorize(r, perm); err != nil {
			a.writeError(w, r, err)
			return nil, nil, err
		}
	} else if acc.account != uuid.Nil {
		// No one is authenticated yet, but a socket is only opened into a
		// workspace that exists under the account its path names.
		if _, err := a.Store.GetWorkspace(r.Context(), acc.account, acc.workspace); err != nil {
			if apperr.IsNotFound(err) {
				err = tenancy.ErrNoWorkspace
			}
			a.writeError(w, r, err)
			return nil, nil, err
		}
	}
	// Until the auth frame names a key, the socket counts against the
	// address it comes from.
	caller := socketCaller(r, acc.principal)
	if !a.streams.acquire(caller) {
		a.writeError(w, r, errTooManySockets)
		return nil, nil, errTooManySockets
	}
	defer func() {
		if err != nil {
			a.streams.release(caller)
			if conn != nil {
				conn.CloseNow()
			}
		}
	}()
	opts.Subprotocols = []string{"prefect"}
	conn, err = websocket.Accept(w, r, opts)
	if err != nil {
		return nil, nil, err
	}
	conn.SetReadLimit(maxHandshakeBytes)
	if conn.Subprotocol() != "prefect" {
		return conn, func() { a.streams.release(caller) }, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), handshakeTimeout)
	defer cancel()
	var msg struct {
		Type  string  `json:"type"`
		Token *string `json:"token"`
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		return conn, nil, err
	}
	if json.Unmarshal(data, &msg) != nil || msg.Type != "auth" {
		conn.Close(websocket.StatusPolicyViolation, "Expected 'auth' message")
		return conn, nil, errors.New("expected auth message")
	}
	if acc.err != nil {
		// The upgrade carried no credential: the token must be a key with
		// perm in this workspace.
		if msg.Token == nil || *msg.Token == "" {
			a.refuseSocket(ctx, conn, noKeyOnStream(r))
			return conn, nil, errors.New("no token")
		}
		p, err := a.Authn.Key(ctx, *msg.Token)
		if err != nil {
			conn.Close(websocket.StatusPolicyViolation, "Invalid token")
			return conn, nil, err
		}
		role, err := tenancy.WorkspaceRole(ctx, a.Store, p.UserID, acc.workspace)
		if err != nil || !auth.Can(role, perm) {
			conn.Close(websocket.StatusPolicyViolation, "Invalid token")
			return conn, nil, errors.New("token has no access")
		}
		keyCaller := socketCaller(r, p)
		if !a.streams.acquire(keyCaller) {
			conn.Close(websocket.StatusTryAgainLater, "Too many open event streams for this key")
			return conn, nil, errTooManySockets
		}
		a.streams.release(caller)
		caller = keyCaller
		acc.principal, acc.role, acc.err = p, role, nil
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth_success"}`)); err != nil {
		return conn, nil, err
	}
	return conn, func() { a.streams.release(caller) }, nil
}

// refuseSocket ends the handshake with a reason. The Prefect client prints
// the reason of an auth message in the user's terminal; a close frame's
// reason is cut at 123 bytes, too short to say how to fix a configuration.
func (a *API) refuseSocket(ctx context.Context, conn *websocket.Conn, reason string) {
	msg, _ := json.Marshal(map[string]string{"type": "auth_failure", "reason": reason})
	if conn.Write(ctx, websocket.MessageText, msg) == nil {
		conn.Close(websocket.StatusPolicyViolation, "Auth required but no token provided")
	}
}

// noKeyOnStream is the reason an events stream without a key is refused.
// The usual cause is a client configured with PREFECT_API_URL and
// PREFECT_API_KEY alone: outside Cloud mode, the Prefect client sends its
// key on HTTP calls but never on the events websocket, so its flows run
// while their task runs (which arrive as events) are lost.
func noKeyOnStream(r *http.Request) string {
	return "Auth required but no token provided. The Prefect client sends its API key on the events stream only in Cloud mode: " +
		"set PREFECT_CLOUD_API_URL=" + httpx.BaseURL(r) + "/api (or pass the key as PREFECT_API_AUTH_STRING=<any>:<key>), " +
		"or the task runs of your flows are not recorded"
}

// warnKeylessStream logs, once per API key and workspace, that a client
// authenticates its HTTP calls with PREFECT_API_KEY yet probes the server
// version, which the Prefect client does only outside Cloud mode; there it
// sends its key on no websocket, so its events stream will be refused and
// the task runs of its flows lost. An auth string (HTTP Basic) does reach
// the websocket, and an anonymous default workspace lets the stream in.
func (a *API) warnKeylessStream(r *http.Request) {
	acc := accessOf(r)
	p := acc.principal
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if p == nil || p.KeyID == nil || acc.err != nil || !strings.EqualFold(scheme, "bearer") || acc.root == "/api" && a.Anonymous {
		return
	}
	if !a.streams.firstWarning(p.KeyID.String() + "/" + acc.workspace.String()) {
		return
	}
	a.Logger.Warn("a Prefect client uses an API key outside Cloud mode: it sends no key on the events stream, "+
		"so Praetor refuses it and the task runs of its flows are not recorded; the client must set PREFECT_CLOUD_API_URL="+
		httpx.BaseURL(r)+"/api, or pass the key as PREFECT_API_AUTH_STRING",
		"key_id", *p.KeyID, "user_id", p.UserID, "workspace_id", acc.workspace)
}

// websocketProtocols lists the subprotocols a websocket upgrade offers.
func websocketProtocols(r *http.Request) []string {
	var out []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// eventInbox holds the events one events/in socket has read and not yet
// stored, and how far storing has come: the Prefect client checkpoints
// with a ping and forgets every event sent before the pong, so a pong is
// sent only once those events are committed.
type eventInbox struct {
	mu       sync.Mutex
	changed  chan struct{} // closed, and replaced, whenever a field below changes
	pending  []*model.Event
	bytes    int   // size of the frames in pending
	received int64 // events queued since the socket opened
	stored   int64 // how many of them are committed
	err      error // why storing failed; nothing more is stored then
}

func newEventInbox() *eventInbox { return &eventInbox{changed: make(chan struct{})} }

// until waits, holding mu when it returns true, until cond holds; false
// (and mu not held) when ctx ends first.
func (in *eventInbox) until(ctx context.Context, cond func() bool) bool {
	in.mu.Lock()
	for !cond() {
		ch := in.changed
		in.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
		in.mu.Lock()
	}
	return true
}

// changedLocked wakes the waiters; mu is held.
func (in *eventInbox) changedLocked() {
	close(in.changed)
	in.changed = make(chan struct{})
}

// put queues e, read from a frame of size bytes. A client faster than the
// database waits for room, rather than growing the queue without bound.
func (in *eventInbox) put(ctx context.Context, e *model.Event, size int) error {
	room := func() bool {
		return in.err != nil || len(in.pending) < maxPendingEvents && (len(in.pending) == 0 || in.bytes+size <= maxPendingEventBytes)
	}
	if !in.until(ctx, room) {
		return ctx.Err()
	}
	defer in.mu.Unlock()
	if in.err != nil {
		return in.err
	}
	in.pending = append(in.pending, e)
	in.bytes += size
	in.received++
	in.changedLocked()
	return nil
}

// take returns the queued events, which the caller stores and reports with
// storedBatch; nothing once storing has failed, as the client sends those
// events again.
func (in *eventInbox) take() []*model.Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	batch := in.pending
	in.pending, in.bytes = nil, 0
	in.changedLocked()
	if in.err != nil {
		return nil
	}
	return batch
}

// storedBatch records the outcome of storing a batch take returned.
func (in *eventInbox) storedBatch(n int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if err != nil {
		in.err = err
	} else {
		in.stored += int64(n)
	}
	in.changedLocked()
}

// checkpoint waits until every event queued so far is committed; false
// if storing failed or ctx ended first. The websocket library gives a
// ping 5 s: a pong not sent then is not lost, as the client's next ping's
// pong confirms the earlier ones too.
func (in *eventInbox) checkpoint(ctx context.Context) bool {
	in.mu.Lock()
	target := in.received
	in.mu.Unlock()
	if !in.until(ctx, func() bool { return in.err != nil || in.stored >= target }) {
		return false
	}
	defer in.mu.Unlock()
	return in.err == nil
}

// eventsIn ingests a stream of events. Frames are batched: a reader queues
// them and a flusher stores whatever has accumulated, so a burst becomes one
// transaction; the stream's remaining events are flushed before it closes.
// The client's checkpoints are answered only after what precedes them is
// committed, and a batch that cannot be stored closes the socket, so the
// client reconnects and sends again what it has not seen confirmed.
func (a *API) eventsIn(w http.ResponseWriter, r *http.Request, perm auth.Permission) {
	a.sockets.Add(1)
	defer a.sockets.Done()
	in := newEventInbox()
	conn, release, err := a.acceptSocket(w, r, perm, &websocket.AcceptOptions{
		// Called by the reader, which waits here: the pong is the
		// client's receipt.
		OnPingReceived: func(ctx context.Context, _ []byte) bool { return in.checkpoint(ctx) },
	})
	if err != nil {
		return
	}
	defer a.Metrics.SocketOpened("events/in")()
	defer release()
	defer conn.CloseNow()
	conn.SetReadLimit(maxEventBytes + 4096)
	ws := workspaceID(r)

	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	flush := func() {
		batch := in.take()
		if len(batch) == 0 {
			return
		}
		// Ingest outlives the connection: events already received are kept
		// even when the client hangs up.
		err := a.Ingest.Ingest(context.WithoutCancel(r.Context()), ws, batch)
		in.storedBatch(len(batch), err)
		if err != nil {
			a.Logger.Error("ingest events", "err", err, "events", len(batch))
			conn.Close(websocket.StatusInternalError, "Events could not be stored; send them again")
		}
	}
	go func() {
		defer close(done)
		for range wake {
			flush()
		}
		flush()
	}()
	defer func() { close(wake); <-done }()

	for {
		_, data, err := conn.Read(r.Context())
		if err != nil {
			return
		}
		var e model.Event
		if err := json.Unmarshal(data, &e); err != nil {
			a.Logger.Warn("unreadable event frame", "err", err)
			continue
		}
		if err := events.Validate(&e); err != nil {
			a.Logger.Warn("invalid event", "err", err)
			continue
		}
		if in.put(r.Context(), &e, len(data)) != nil {
			return
		}
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// eventsOut streams a workspace's events matching the subscriber's filter,
// after backfilling recent matches unless asked not to.
func (a *API) eventsOut(w http.ResponseWriter, r *http.Request, perm auth.Permission) {
	a.sockets.Add(1)
	defer a.sockets.Done()
	conn, release, err := a.acceptSocket(w, r, perm, &websocket.AcceptOptions{})
	if err != nil {
		return
	}
	defer a.Metrics.SocketOpened("events/out")()
	defer release()
	defer conn.CloseNow()
	conn.SetReadLimit(maxFilterBytes)
	ctx := r.Context()
	ws := workspaceID(r)
	filterCtx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	_, data, err := conn.Read(filterCtx)
	cancel()
	if err != nil {
		return
	}
	var msg struct {
		Type     string             `json:"type"`
		Filter   *store.EventFilter `json:"filter"`
		Backfill *bool              `json:"backfill"`
	}
	if json.Unmarshal(data, &msg) != nil || msg.Type != "filter" {
		conn.Close(websocket.StatusProtocolError, "Expected 'filter' message")
		return
	}
	sub := a.Ingest.Bus().Subscribe(ws, msg.Filter)
	defer a.Ingest.Bus().Unsubscribe(sub)
	send := func(e *model.Event) error {
		b, _ := json.Marshal(map[string]any{"type": "event", "event": e})
		return conn.Write(ctx, websocket.MessageText, b)
	}
	seen := map[uuid.UUID]bool{}
	if msg.Backfill == nil || *msg.Backfill {
		f := msg.Filter
		if f == nil {
			f = &store.EventFilter{}
		}
		backfill, _, err := a.Store.ListEvents(ctx, ws, store.EventQuery{Filter: f, Limit: 100})
		if err != nil {
			a.Logger.Error("backfill events", "err", err)
			return
		}
		for i := len(backfill) - 1; i >= 0; i-- {
			seen[backfill[i].ID] = true
			if send(backfill[i]) != nil {
				return
			}
		}
	}
	// Reading detects the client's close; subscribers send nothing more.
	closed := conn.CloseRead(ctx)
	for {
		select {
		case batch := <-sub.C:
			for _, e := range batch {
				if seen[e.ID] {
					continue
				}
				if send(e) != nil {
					return
				}
			}
			sub.Done(len(batch))
		case <-closed.Done():
			return
		}
	}
}

func (a *API) postEvents(w http.ResponseWriter, r *http.Request) error {
	var in []*model.Event
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	for i, e := range in {
		if e == nil {
			return invalid(body, fieldErr("model_attributes_type", "Input should be a valid dictionary or object to extract fields from", nil, i))
		}
		// The resource checks Prefect makes, with its locations; Validate
		// makes them too, and the rest.
		if e.Resource.ID() == "" {
			return invalid(body, fieldErr("value_error", "Value error, Resources must include the prefect.resource.id label", e.Resource, i, "resource"))
		}
		for j, rel := range e.Related {
			if rel.ID() == "" || rel.Role() == "" {
				return invalid(body, fieldErr("value_error", "Value error, Related resources must include the prefect.resource.id and prefect.resource.role labels", rel, i, "related", j))
			}
		}
		if err := events.Validate(e); err != nil {
			return invalid(body, fieldErr("value_error", err.Error(), nil, i))
		}
	}
	if err := a.Ingest.Ingest(r.Context(), workspaceID(r), in); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// eventPage is the events filter response.
type eventPage struct {
	Events   []*model.Event `json:"events"`
	Total    int            `json:"total"`
	NextPage *string        `json:"next_page"`
}

// pageToken carries the query of the next page.
type pageToken struct {
	Filter *store.EventFilter `json:"f"`
	Limit  int                `json:"l"`
	Offset int                `json:"o"`
}

func (a *API) filterEvents(w http.ResponseWriter, r *http.Request) error {
	var q store.EventQuery
	body, err := decode(w, r, &q, true)
	if err != nil {
		return err
	}
	// Prefect declares this limit with bounds, so unlike LimitBody's they
	// fail as validation errors.
	if q.Limit < 0 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", q.Limit, "limit"))
	}
	if q.Limit > 50 {
		return invalid(body, fieldErr("less_than_equal", "Input should be less than or equal to 50", q.Limit, "limit"))
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	return a.eventPage(w, r, q)
}

func (a *API) filterEventsNext(w http.ResponseWriter, r *http.Request) error {
	if !r.URL.Query().Has("page-token") {
		return queryMissing("page-token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("page-token"))
	var tok pageToken
	if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Limit <= 0 || tok.Limit > 50 || tok.Offset < 0 {
		return detail(http.StatusForbidden, "Invalid page token")
	}
	return a.eventPage(w, r, store.EventQuery{Filter: tok.Filter, Limit: tok.Limit, Offset: tok.Offset})
}

func (a *API) eventPage(w http.ResponseWriter, r *http.Request, q store.EventQuery) error {
	evs, total, err := a.Store.ListEvents(r.Context(), workspaceID(r), q)
	if err != nil {
		return err
	}
	page := eventPage{Events: evs, Total: total}
	if q.Offset+len(evs) < total {
		tok, _ := json.Marshal(pageToken{Filter: q.Filter, Limit: q.Limit, Offset: q.Offset + len(evs)})
		// An absolute URL, as Prefect's server answers.
		next := httpx.BaseURL(r) + accessOf(r).root + "/events/filter/next?page-token=" + base64.RawURLEncoding.EncodeToString(tok)
		page.NextPage = &next
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// countPivot is the instant Prefect counts event time buckets from.
var countPivot = time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)

// maxEventBuckets is how many time buckets one count may make.
const maxEventBuckets = 1000

// eventTimeUnits are the seconds in each of Prefect's TimeUnit values.
var eventTimeUnits = map[string]float64{"week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60, "second": 1}

// countEvents answers POST /events/count-by/{countable}: the events the
// filter selects, counted by day, time bucket, event name or resource. A
// time count has every bucket of the filter's span, empty ones included.
func (a *API) countEvents(w http.ResponseWriter, r *http.Request) error {
	countable := r.PathValue("countable")
	if !slices.Contains([]string{"day", "time", "event", "resource"}, countable) {
		return queryInvalid("enum", "Input should be 'day', 'time', 'event' or 'resource'", countable, "countable")
	}
	var in struct {
		Filter       *store.EventFilter `json:"filter"`
		TimeUnit     *string            `json:"time_unit"`
		TimeInterval *float64           `json:"time_interval"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Filter == nil {
		return required(body, "missing", "Field required", "filter")
	}
	unit, interval := "day", 1.0
	if in.TimeUnit != nil {
		unit = *in.TimeUnit
	}
	if _, ok := eventTimeUnits[unit]; !ok {
		return invalid(body, fieldErr("enum", "Input should be 'week', 'day', 'hour', 'minute' or 'second'", unit, "time_unit"))
	}
	if in.TimeInterval != nil {
		interval = *in.TimeInterval
	}
	if interval < 0.01 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0.01", interval, "time_interval"))
	}
	if countable == "day" {
		unit, interval = "day", 1
	}
	// Prefect's defaults for the window: 180 days before today, until now.
	now := a.now().UTC()
	f := *in.Filter
	occurred := struct {
		Since *model.Time `json:"since"`
		Until *model.Time `json:"until"`
	}{}
	if f.Occurred != nil {
		occurred = *f.Occurred
	}
	if occurred.Since == nil {
		occurred.Since = model.At(now.Truncate(24*time.Hour).AddDate(0, 0, -180)).Ptr()
	}
	if occurred.Until == nil {
		occurred.Until = model.At(now).Ptr()
	}
	f.Occurred = &occurred
	ws := workspaceID(r)
	if countable == "event" || countable == "resource" {
		counts, err := a.Store.CountEvents(r.Context(), ws, &f, store.EventCountBy(countable), countPivot, 0)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, counts)
		return nil
	}
	step := time.Duration(eventTimeUnits[unit] * interval * float64(time.Second))
	since, until := occurred.Since.UTC(), occurred.Until.UTC()
	if n := math.Ceil(float64(until.Sub(since)) / float64(step)); n > maxEventBuckets {
		return detail(http.StatusUnprocessableEntity, "The given interval would create %d buckets, which is too many. Please increase the interval or reduce the time range to produce %d buckets or fewer.", int(n), maxEventBuckets)
	}
	if step%time.Second != 0 {
		return detail(http.StatusUnprocessableEntity, "Praetor counts events in buckets of whole seconds; %g %s is not one.", interval, unit)
	}
	counts, err := a.Store.CountEvents(r.Context(), ws, &f, store.CountByTime, countPivot, step)
	if err != nil {
		return err
	}
	// Every bucket from the one holding since to the one holding until
	// (or the end of the current unit, for a window reaching past now).
	end := until
	if end.After(now) {
		end = now.Truncate(time.Duration(eventTimeUnits[unit]) * time.Second).Add(time.Duration(eventTimeUnits[unit]) * time.Second)
	}
	first := int64(math.Floor(float64(since.Sub(countPivot)) / float64(step)))
	out := []store.EventCount{}
	for start := countPivot.Add(time.Duration(first) * step); start.Before(end); start = start.Add(step) {
		out = append(out, store.EventCount{Value: strconv.Itoa(len(out)), Label: start.Format("2006-01-02T15:04:05Z07:00"), Start: model.At(start), End: model.At(start.Add(step - time.Microsecond))})
	}
	for _, c := range counts {
		b, err := strconv.ParseInt(c.Value, 10, 64)
		if i := b - first; err == nil && i >= 0 && i < int64(len(out)) {
			out[i].Count = c.Count
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
