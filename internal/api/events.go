package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// maxEventBytes is Prefect's default maximum event size.
const maxEventBytes = 1_500_000

// maxPendingEvents bounds the events one websocket holds before they are
// stored.
const maxPendingEvents = 1000

func (a *API) eventRoutes() {
	a.mux.HandleFunc("GET /events/in", a.eventsIn)
	a.mux.HandleFunc("GET /events/out", a.eventsOut)
	a.route("POST", "/events", "create:event", a.postEvents)
	a.route("POST", "/events/filter", "read:event", a.filterEvents)
	a.route("GET", "/events/filter/next", "read:event", a.filterEventsNext)
}

// acceptSocket authorizes perm and upgrades the request, running Prefect's
// handshake: a client that offers the "prefect" subprotocol sends a first
// {"type":"auth","token":…} frame; one that does not (Cloud mode, 2.x)
// authenticated with its upgrade request's Authorization header. A key may
// come either way; without one, only an anonymous default workspace lets
// the socket in.
func (a *API) acceptSocket(w http.ResponseWriter, r *http.Request, perm auth.Permission) (*websocket.Conn, error) {
	acc := accessOf(r)
	offersPrefect := slices.Contains(websocketProtocols(r), "prefect")
	if acc.err != nil && !(acc.socketAuth && offersPrefect) {
		a.writeError(w, r, acc.err)
		return nil, acc.err
	}
	if acc.err == nil {
		if err := authorize(r, perm); err != nil {
			a.writeError(w, r, err)
			return nil, err
		}
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"prefect"}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(maxEventBytes + 4096)
	if conn.Subprotocol() != "prefect" {
		return conn, nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	var msg struct {
		Type  string  `json:"type"`
		Token *string `json:"token"`
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if json.Unmarshal(data, &msg) != nil || msg.Type != "auth" {
		conn.Close(websocket.StatusPolicyViolation, "Expected 'auth' message")
		return nil, errors.New("expected auth message")
	}
	if acc.err != nil {
		// The upgrade carried no credential: the token must be a key with
		// perm in this workspace.
		if msg.Token == nil || *msg.Token == "" {
			conn.Close(websocket.StatusPolicyViolation, "Auth required but no token provided")
			return nil, errors.New("no token")
		}
		p, err := a.Authn.Key(ctx, *msg.Token)
		if err != nil {
			conn.Close(websocket.StatusPolicyViolation, "Invalid token")
			return nil, err
		}
		role, err := a.roleIn(ctx, p, acc.workspace)
		if err != nil || !auth.Can(role, perm) {
			conn.Close(websocket.StatusPolicyViolation, "Invalid token")
			return nil, errors.New("token has no access")
		}
		acc.principal, acc.role, acc.err = p, role, nil
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth_success"}`)); err != nil {
		return nil, err
	}
	return conn, nil
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

// eventsIn ingests a stream of events. Frames are batched: a reader queues
// them and a flusher stores whatever has accumulated, so a burst becomes one
// transaction; the stream's remaining events are flushed before it closes.
func (a *API) eventsIn(w http.ResponseWriter, r *http.Request) {
	a.sockets.Add(1)
	defer a.sockets.Done()
	conn, err := a.acceptSocket(w, r, "create:event")
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ws := workspaceID(r)

	var (
		mu      sync.Mutex
		room    = sync.NewCond(&mu) // signalled when pending is taken
		pending []*model.Event
		wake    = make(chan struct{}, 1)
		done    = make(chan struct{})
	)
	flush := func() {
		mu.Lock()
		batch := pending
		pending = nil
		room.Broadcast()
		mu.Unlock()
		// Ingest outlives the connection: events already received are kept
		// even when the client hangs up.
		if err := a.Ingest.Ingest(context.WithoutCancel(r.Context()), ws, batch); err != nil {
			a.Logger.Error("ingest events", "err", err)
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
		mu.Lock()
		// A client faster than the database waits, rather than growing
		// the queue without bound.
		for len(pending) >= maxPendingEvents {
			room.Wait()
		}
		pending = append(pending, &e)
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// eventsOut streams a workspace's events matching the subscriber's filter,
// after backfilling recent matches unless asked not to.
func (a *API) eventsOut(w http.ResponseWriter, r *http.Request) {
	a.sockets.Add(1)
	defer a.sockets.Done()
	conn, err := a.acceptSocket(w, r, "read:event")
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := r.Context()
	ws := workspaceID(r)
	_, data, err := conn.Read(ctx)
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
		case e := <-sub.C:
			if seen[e.ID] {
				continue
			}
			if send(e) != nil {
				return
			}
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
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		next := scheme + "://" + r.Host + accessOf(r).root + "/events/filter/next?page-token=" + base64.RawURLEncoding.EncodeToString(tok)
		page.NextPage = &next
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}
