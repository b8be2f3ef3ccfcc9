package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/praetorhq/praetor/internal/model"
)

// cancellingEvent is the event the server emits when a flow run enters
// CANCELLING.
const cancellingEvent = "prefect.flow-run.Cancelling"

// Bounds of the reconnect backoff of the events stream.
const (
	minStreamBackoff = time.Second
	maxStreamBackoff = 30 * time.Second
)

// Subscribe streams the workspace's events/out with Prefect's handshake:
// the "prefect" subprotocol, an auth frame with the key, then a filter
// frame. It calls connected once subscribed, then each for every event,
// until the socket or ctx ends.
func (c *Client) Subscribe(ctx context.Context, filter map[string]any, connected func(), each func(model.Event)) error {
	u := c.api.Base() + "/events/out"
	opts := &websocket.DialOptions{Subprotocols: []string{"prefect"}, HTTPHeader: http.Header{}}
	if c.key != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+c.key)
	}
	conn, resp, err := websocket.Dial(ctx, u, opts)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", u, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(2 << 20) // Prefect's events are at most 1.5 MB
	var token any
	if c.key != "" {
		token = c.key
	}
	if err := writeJSON(ctx, conn, map[string]any{"type": "auth", "token": token}); err != nil {
		return err
	}
	var answer struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if err := readJSON(ctx, conn, &answer); err != nil {
		return fmt.Errorf("authenticating to the events stream: %w", err)
	}
	if answer.Type != "auth_success" {
		return fmt.Errorf("the events stream refused the worker: %s %s", answer.Type, answer.Reason)
	}
	if err := writeJSON(ctx, conn, map[string]any{"type": "filter", "filter": filter}); err != nil {
		return err
	}
	connected()
	for {
		var msg struct {
			Type  string      `json:"type"`
			Event model.Event `json:"event"`
		}
		if err := readJSON(ctx, conn, &msg); err != nil {
			return fmt.Errorf("reading the events stream: %w", err)
		}
		if msg.Type == "event" {
			each(msg.Event)
		}
	}
}

func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding an events stream frame: %w", err)
	}
	if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
		return fmt.Errorf("writing to the events stream: %w", err)
	}
	return nil
}

func readJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	_, data, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding an events stream frame: %w", err)
	}
	return nil
}

// watchCancelling keeps a subscription to the pool's
// prefect.flow-run.Cancelling events open until ctx ends, as Prefect's
// worker does, and sends the run of each event to found. While the stream
// is down (refused, or dropped and reconnecting with backoff) w.streamUp
// is false, so the Run loop polls the runs in flight instead; each
// (re)connect asks for one poll too, for what the gap may have hidden.
func (w *Worker) watchCancelling(ctx context.Context, poolID uuid.UUID, found chan<- uuid.UUID, resync chan<- struct{}) {
	filter := map[string]any{
		"event":        map[string]any{"name": []string{cancellingEvent}},
		"any_resource": map[string]any{"id": []string{"prefect.work-pool." + poolID.String()}},
		// A minute back, as Prefect's subscriber asks, for a cancellation
		// stamped by a clock a little behind this one.
		"occurred": map[string]any{"since": model.Time{Time: w.clock.Now().Add(-time.Minute)}},
	}
	backoff := minStreamBackoff
	for {
		connectedAt := time.Time{}
		err := w.client.Subscribe(ctx, filter, func() {
			connectedAt = time.Now()
			w.streamUp.Store(true)
			w.log.Debug("watching the events stream for cancellations")
			select {
			case resync <- struct{}{}:
			default:
			}
		}, func(e model.Event) {
			id, err := uuid.Parse(strings.TrimPrefix(e.Resource.ID(), model.FlowRunResource))
			if e.Event != cancellingEvent || err != nil {
				return
			}
			select {
			case found <- id:
			case <-ctx.Done():
			}
		})
		w.streamUp.Store(false)
		if ctx.Err() != nil {
			return
		}
		if !connectedAt.IsZero() && time.Since(connectedAt) > maxStreamBackoff {
			backoff = minStreamBackoff // it was up a while: a fresh failure
		}
		w.log.Warn("the events stream is unavailable: polling the runs in flight for cancellation until it is back",
			"err", err, "retry_in", backoff, "poll", w.s.CancelInterval)
		// The next connect replays from a minute before the stream went
		// down; the resync poll after it covers the rest.
		filter["occurred"] = map[string]any{"since": model.Time{Time: w.clock.Now().Add(-time.Minute)}}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxStreamBackoff)
	}
}

// Emit posts events to the server's events/in over HTTP (POST /events).
func (c *Client) Emit(ctx context.Context, events []map[string]any) error {
	return c.do(ctx, "POST", "/events", events, nil)
}

// lifecycleEvent is prefect.worker.started or .stopped as Prefect's worker
// emits them: the worker (prefect.worker.<type>.<slug of its name>) as
// resource, its pool as related resource; stopped follows started.
func (w *Worker) lifecycleEvent(name string, pool model.WorkPool, follows *uuid.UUID) map[string]any {
	e := map[string]any{
		"id": uuid.Must(uuid.NewV7()), "occurred": model.Time{Time: w.clock.Now()}, "event": name, "payload": map[string]any{},
		"resource": map[string]string{
			"prefect.resource.id":   "prefect.worker." + w.s.Type + "." + slugify(w.s.Name),
			"prefect.resource.name": w.s.Name,
			"prefect.version":       workerVersion(),
			"prefect.worker-type":   w.s.Type,
		},
		"related": []map[string]string{{"prefect.resource.id": "prefect.work-pool." + pool.ID.String(),
			"prefect.resource.role": "work-pool", "prefect.resource.name": pool.Name}},
	}
	if follows != nil {
		e["follows"] = *follows
	}
	return e
}

// emitLifecycle sends a lifecycle event and returns its id, nil if it
// could not be sent: losing it is logged, not fatal, as in Prefect.
func (w *Worker) emitLifecycle(ctx context.Context, name string, follows *uuid.UUID) *uuid.UUID {
	w.mu.Lock()
	pool := w.pool
	w.mu.Unlock()
	e := w.lifecycleEvent(name, pool, follows)
	if err := w.client.Emit(ctx, []map[string]any{e}); err != nil {
		w.log.Warn("emitting "+name, "err", err)
		return nil
	}
	id := e["id"].(uuid.UUID)
	return &id
}

// slugify is the worker name's slug as Prefect's worker makes it (with
// python-slugify) for ASCII names: lower case, each run of other
// characters one hyphen, none at the ends.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// workerVersion is the prefect.version label of the worker's events: the
// version of the praetor binary, as Prefect's worker gives its own.
func workerVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "unknown"
}
