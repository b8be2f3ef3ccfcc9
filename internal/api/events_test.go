package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/testdb"
)

// wsURL is the websocket URL of path, which is below /api.
func wsURL(ts *testServer, path string) string {
	return "ws" + strings.TrimPrefix(ts.url, "http") + "/api" + path
}

// eventFrame is one event as the Prefect client sends it.
func eventFrame(t *testing.T, id uuid.UUID, payload any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "event": "test.event", "occurred": "2026-01-01T00:00:00Z",
		"resource": map[string]string{"prefect.resource.id": "test.r"}, "payload": payload})
	check(t, err)
	return b
}

// storedEvents counts the events of the default workspace.
func storedEvents(t *testing.T, ts *testServer) int {
	t.Helper()
	_, total, err := ts.store.ListEvents(t.Context(), ts.workspace.ID, store.EventQuery{Limit: 1})
	check(t, err)
	return total
}

// readUntilClosed reads conn in the background, as a client must for its
// pings to be answered, and delivers the error that ended the reading.
func readUntilClosed(conn *websocket.Conn) <-chan error {
	ended := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				ended <- err
				return
			}
		}
	}()
	return ended
}

// A socket without a credential is upgraded only into a workspace that
// exists under the account its path names; anything else is a 404 before
// any upgrade, as the HTTP routes answer.
func TestEventsSocketToNoWorkspaceIsNotUpgraded(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		for name, path := range map[string]string{
			"no such account":              "/accounts/" + uuid.NewString() + "/workspaces/" + uuid.NewString(),
			"no such workspace":            "/accounts/" + alice.accountID + "/workspaces/" + uuid.NewString(),
			"workspace of another account": "/accounts/" + uuid.NewString() + "/workspaces/" + alice.workspace,
		} {
			for _, stream := range []string{"/events/in", "/events/out"} {
				conn, resp, err := websocket.Dial(t.Context(), wsURL(ts, path+stream), &websocket.DialOptions{Subprotocols: []string{"prefect"}})
				if err == nil {
					conn.CloseNow()
					t.Fatalf("%s: %s was upgraded", name, stream)
				}
				if resp == nil || resp.StatusCode != http.StatusNotFound {
					t.Fatalf("%s: %s answered %v, want 404 without an upgrade", name, stream, err)
				}
				var body struct{ Detail string }
				if json.NewDecoder(resp.Body).Decode(&body) != nil || body.Detail == "" {
					t.Errorf("%s: %s: the 404 has no detail", name, stream)
				}
			}
		}
		// The workspace that exists is upgraded, and then needs the key.
		if _, err := dialEvents(t, ts, alice.base()+"/events/in", alice.key); err != nil {
			t.Fatalf("events/in of an existing workspace with its key: %v", err)
		}
	})
}

// Before it knows the caller, a socket reads one small frame and waits for
// it briefly: an auth frame too large is refused, and a client that sends
// none is disconnected once the handshake time is up.
func TestEventsSocketHandshakeIsBounded(t *testing.T) {
	ts := newTestServerOn(t, testdb.SQLite(t), closedServer)
	alice := newTenant(t, ts, "alice")
	dial := func() *websocket.Conn {
		conn, _, err := websocket.Dial(t.Context(), wsURL(ts, alice.base()+"/events/in"), &websocket.DialOptions{Subprotocols: []string{"prefect"}})
		check(t, err)
		t.Cleanup(func() { conn.CloseNow() })
		return conn
	}

	conn := dial()
	big, _ := json.Marshal(map[string]any{"type": "auth", "token": strings.Repeat("x", 100<<10)})
	// The server may close before the whole frame is written.
	_ = conn.Write(t.Context(), websocket.MessageText, big)
	_, _, err := conn.Read(t.Context())
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Errorf("a 100 KiB auth frame ended with %v (status %d), want status %d", err, got, websocket.StatusMessageTooBig)
	}

	conn = dial()
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), handshakeTimeout+5*time.Second)
	defer cancel()
	_, _, err = conn.Read(ctx)
	if ctx.Err() != nil {
		t.Fatalf("a socket that sent no auth frame is still open after %v", time.Since(start))
	}
	if err == nil {
		t.Fatal("a socket that sent no auth frame received a message")
	}
}

// gatedEvents is a store whose event writes wait until the gate opens, as a
// stalled disk would.
type gatedEvents struct {
	store.Events
	gate    chan struct{}
	entered atomic.Int64
}

func (g *gatedEvents) IngestEvents(ctx context.Context, ws uuid.UUID, evs []*model.Event, recs []store.TaskRunRecord) error {
	g.entered.Add(1)
	<-g.gate
	return g.Events.IngestEvents(ctx, ws, evs, recs)
}

// While the database is stalled, one socket holds a bounded number of bytes:
// the server stops reading (so the client's writes block) long before a
// count of events alone would stop it; once the database is back, every
// event written is stored.
func TestEventsInPendingBytesAreBounded(t *testing.T) {
	gated := &gatedEvents{gate: make(chan struct{})}
	ts := newTestServerOn(t, testdb.SQLite(t), func(c *Config) {
		gated.Events = c.Store
		c.Ingest = events.NewIngester(gated, c.Ingest.Bus(), c.Ingest.Bus(), c.Logger)
	})
	var openGate sync.Once
	release := func() { openGate.Do(func() { close(gated.gate) }) }
	t.Cleanup(release)
	conn, err := dialEvents(t, ts, "/events/in", "")
	check(t, err)
	defer conn.CloseNow()
	readUntilClosed(conn)

	const n, size = 400, 256 << 10 // 100 MiB: far more than the server may hold
	blob := strings.Repeat("x", size)
	var written atomic.Int64
	writes := make(chan error, 1)
	go func() {
		for range n {
			if err := conn.Write(context.Background(), websocket.MessageText, eventFrame(t, uuid.Must(uuid.NewV7()), map[string]string{"blob": blob})); err != nil {
				writes <- err
				return
			}
			written.Add(1)
		}
		writes <- nil
	}()
	// Wait until the writer stops making progress (the server no longer
	// reads) or has written everything.
	last, still := int64(-1), 0
	for still < 10 {
		select {
		case err := <-writes:
			t.Fatalf("all %d events of %d KiB were taken while the database was stalled (err %v); the server holds them all", written.Load(), size>>10, err)
		case <-time.After(100 * time.Millisecond):
		}
		if w := written.Load(); w == last {
			still++
		} else {
			last, still = w, 0
		}
	}
	// What the server holds, in its queue and the kernel's buffers, is
	// well under a fifth of what the client had to send.
	if last > n/4 {
		t.Fatalf("the server took %d events of %d KiB (%d MiB) before it stopped reading", last, size>>10, last*size>>20)
	}
	if gated.entered.Load() == 0 {
		t.Fatal("no write reached the database")
	}
	release()
	if err := <-writes; err != nil {
		t.Fatalf("writing after the database came back: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	check(t, conn.Ping(ctx))
	if got := storedEvents(t, ts); got != n {
		t.Fatalf("%d events stored after the checkpoint, want %d", got, n)
	}
	conn.Close(websocket.StatusNormalClosure, "")
}

// The Prefect client forgets the events it sent before a ping once the pong
// arrives. An ingest that fails must not be answered: the server closes the
// socket instead, and the client, which still holds those events, sends
// them again on a new socket once the database is back.
func TestEventsInCheckpointWaitsForTheCommit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		send := func(conn *websocket.Conn, ids []uuid.UUID) error {
			for _, id := range ids {
				if err := conn.Write(ctx, websocket.MessageText, eventFrame(t, id, map[string]any{})); err != nil {
					return err
				}
			}
			return nil
		}
		ids := func(n int) []uuid.UUID {
			var out []uuid.UUID
			for range n {
				out = append(out, uuid.Must(uuid.NewV7()))
			}
			return out
		}

		conn, err := dialEvents(t, ts, "/events/in", "")
		check(t, err)
		defer conn.CloseNow()
		ended := readUntilClosed(conn)
		first := ids(3)
		check(t, send(conn, first))
		check(t, conn.Ping(ctx))
		if got := storedEvents(t, ts); got != len(first) {
			t.Fatalf("%d events stored when the first checkpoint was answered, want %d", got, len(first))
		}

		repair := testdb.FailInserts(t, ts.dsn, "events")
		unconfirmed := ids(4)
		// The server may close the socket before every event is written:
		// a failed write is as good as an unanswered ping to the client.
		if err := send(conn, unconfirmed); err == nil && conn.Ping(ctx) == nil {
			t.Fatal("a checkpoint was answered although its events could not be stored")
		}
		select {
		case err := <-ended:
			if got := websocket.CloseStatus(err); got != websocket.StatusInternalError {
				t.Errorf("the socket ended with %v, want close status %d", err, websocket.StatusInternalError)
			}
		case <-ctx.Done():
			t.Fatal("the server did not close the socket whose events it could not store")
		}
		if got := storedEvents(t, ts); got != len(first) {
			t.Fatalf("%d events stored, want %d", got, len(first))
		}

		// The database is back: the client reconnects and replays.
		repair()
		conn, err = dialEvents(t, ts, "/events/in", "")
		check(t, err)
		defer conn.CloseNow()
		readUntilClosed(conn)
		check(t, send(conn, unconfirmed))
		check(t, conn.Ping(ctx))
		if got := storedEvents(t, ts); got != len(first)+len(unconfirmed) {
			t.Fatalf("%d events stored after the replay was confirmed, want %d", got, len(first)+len(unconfirmed))
		}
		conn.Close(websocket.StatusNormalClosure, "")
	})
}

// One key, or one address without a key, holds a bounded number of event
// sockets; a socket that closes makes room for another.
func TestEventsSocketsPerCallerAreBounded(t *testing.T) {
	ts := newTestServerOn(t, testdb.SQLite(t), nil)
	alice := newTenant(t, ts, "alice")
	ctx := t.Context()

	// Keys presented in the auth frame, as the Prefect client does outside
	// Cloud mode.
	var open []*websocket.Conn
	defer func() {
		for _, c := range open {
			c.CloseNow()
		}
	}()
	for i := range maxSocketsPerCaller {
		conn, err := dialEvents(t, ts, alice.base()+"/events/in", alice.key)
		if err != nil {
			t.Fatalf("socket %d of the key: %v", i+1, err)
		}
		open = append(open, conn)
	}
	_, err := dialEvents(t, ts, alice.base()+"/events/in", alice.key)
	if got := websocket.CloseStatus(err); got != websocket.StatusTryAgainLater {
		t.Fatalf("socket %d of the key ended with %v, want close status %d", maxSocketsPerCaller+1, err, websocket.StatusTryAgainLater)
	}
	// In Cloud mode the key is on the upgrade: refused before it.
	h := http.Header{"Authorization": {"Bearer " + alice.key}}
	if c, resp, err := websocket.Dial(ctx, wsURL(ts, alice.base()+"/events/out"), &websocket.DialOptions{HTTPHeader: h}); err == nil {
		c.CloseNow()
		t.Fatal("a Cloud-mode socket over the key's limit was upgraded")
	} else if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a Cloud-mode socket over the key's limit: %v, want 429", err)
	}
	// The anonymous default workspace is unaffected by the key's sockets.
	anon, err := dialEvents(t, ts, "/events/in", "")
	check(t, err)
	anon.CloseNow()

	open[0].Close(websocket.StatusNormalClosure, "")
	open = open[1:]
	eventually(t, "a socket of the key after one closed", func() bool {
		conn, err := dialEvents(t, ts, alice.base()+"/events/in", alice.key)
		if err != nil {
			return false
		}
		open = append(open, conn)
		return true
	})

	// Without a key, the sockets count against the client's address.
	for _, c := range open {
		c.CloseNow()
	}
	open = nil
	for i := range maxSocketsPerCaller {
		conn, err := dialEvents(t, ts, "/events/in", "")
		if err != nil {
			if i > 0 {
				// Sockets of the key may still be closing on the server.
				eventually(t, "room for anonymous sockets", func() bool {
					conn, err = dialEvents(t, ts, "/events/in", "")
					return err == nil
				})
			} else {
				t.Fatalf("anonymous socket %d: %v", i+1, err)
			}
		}
		open = append(open, conn)
	}
	c, resp, err := websocket.Dial(ctx, wsURL(ts, "/events/in"), &websocket.DialOptions{Subprotocols: []string{"prefect"}})
	if err == nil {
		c.CloseNow()
		t.Fatal("an anonymous socket over the address's limit was upgraded")
	}
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("an anonymous socket over the address's limit: %v, want 429", err)
	}
}

// The table of open sockets and of warnings stays bounded however many
// callers there are.
func TestStreamGuardIsBounded(t *testing.T) {
	var g streamGuard
	for i := range maxSocketCallers {
		if !g.acquire(fmt.Sprint("addr:", i)) {
			t.Fatalf("caller %d refused", i)
		}
	}
	if g.acquire("addr:one too many") {
		t.Fatal("a caller beyond the table's bound was counted")
	}
	if !g.acquire("addr:0") {
		t.Fatal("a known caller under its limit was refused")
	}
	g.release("addr:0")
	g.release("addr:0")
	if !g.acquire("addr:new") {
		t.Fatal("a caller was refused after another released its last socket")
	}
	for i := range 3 * maxWarned {
		g.firstWarning(fmt.Sprint("key/", i))
	}
	if len(g.warned) > maxWarned {
		t.Fatalf("%d warnings remembered, bound %d", len(g.warned), maxWarned)
	}
	if !g.firstWarning("w") || g.firstWarning("w") {
		t.Fatal("a warning is not reported exactly once")
	}
}

// With PREFECT_API_URL and PREFECT_API_KEY alone, the Prefect client
// authenticates its HTTP calls but sends no key on the events stream. The
// refusal's reason, which the client prints, says what to set with this
// server's URL; the server logs a warning once per key and workspace when
// such a client shows itself by probing the server version.
func TestKeylessEventsStreamSaysHowToFixIt(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		fix := "PREFECT_CLOUD_API_URL=" + ts.url + "/api"
		_, err := dialEvents(t, ts, alice.base()+"/events/in", "")
		if err == nil {
			t.Fatal("events/in without a token was accepted")
		}
		var failure struct{ Type, Reason string }
		if _, msg, ok := strings.Cut(err.Error(), "handshake answered "); !ok || json.Unmarshal([]byte(msg), &failure) != nil {
			t.Fatalf("the refusal carries no reason: %v", err)
		}
		if failure.Type == "auth_success" || !strings.Contains(failure.Reason, fix) || !strings.Contains(failure.Reason, "PREFECT_API_AUTH_STRING") {
			t.Fatalf("the refusal reads %+v, want the fix %q and PREFECT_API_AUTH_STRING", failure, fix)
		}

		warning := "outside Cloud mode"
		probe := func(authorization string) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.url+"/api"+alice.base()+"/admin/version", nil)
			req.Header.Set("Authorization", authorization)
			resp, err := http.DefaultClient.Do(req)
			check(t, err)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /admin/version: %d", resp.StatusCode)
			}
		}
		// An auth string reaches the websocket: nothing to warn about.
		probe("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+alice.key)))
		if strings.Contains(ts.logs.String(), warning) {
			t.Fatal("a client with an auth string was warned about")
		}
		probe("Bearer " + alice.key)
		probe("Bearer " + alice.key)
		logs := ts.logs.String()
		if n := strings.Count(logs, warning); n != 1 {
			t.Fatalf("%d warnings for one key and workspace, want 1:\n%s", n, logs)
		}
		line := logs[strings.Index(logs, warning):]
		line, _, _ = strings.Cut(line, "\n")
		if !strings.Contains(line, fix) || !strings.Contains(line, alice.workspace) {
			t.Fatalf("the warning reads %q, want the fix %q and the workspace", line, fix)
		}
		other := newTenant(t, ts, "bob")
		probe("Bearer " + other.key) // bob cannot use alice's workspace: no warning
		ts.as(other.key).do("GET", other.base()+"/admin/version", nil).expect(http.StatusOK)
		if n := strings.Count(ts.logs.String(), warning); n != 2 {
			t.Fatalf("%d warnings after another key in its own workspace, want 2", n)
		}
	})
}

// count-by counts the filter's events by name, resource (labelled with its
// name) and time bucket, empty buckets included.
func TestCountEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		base := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
		post := func(name, resource, label string, at time.Time) {
			ts.do("POST", "/events", []map[string]any{{"event": name, "occurred": at.Format(time.RFC3339Nano), "id": uuid.NewString(),
				"resource": map[string]string{"prefect.resource.id": resource, "prefect.resource.name": label}}}).expect(http.StatusNoContent)
		}
		post("a.done", "r.1", "one", base.Add(10*time.Minute))
		post("a.done", "r.1", "one", base.Add(70*time.Minute))
		post("b.done", "r.2", "two", base.Add(80*time.Minute))
		post("c.old", "r.3", "three", base.Add(-48*time.Hour)) // outside the window
		window := map[string]any{"occurred": map[string]any{"since": base.Format(time.RFC3339), "until": base.Add(3 * time.Hour).Format(time.RFC3339)}}
		count := func(by string, extra map[string]any) []map[string]any {
			body := map[string]any{"filter": window}
			for k, v := range extra {
				body[k] = v
			}
			return ts.do("POST", "/events/count-by/"+by, body).expect(http.StatusOK).list()
		}
		summary := func(l []map[string]any) string {
			var out []string
			for _, c := range l {
				out = append(out, fmt.Sprint(c["value"], "/", c["label"], "=", c["count"]))
			}
			return strings.Join(out, " ")
		}
		if got := summary(count("event", nil)); got != "a.done/a.done=2 b.done/b.done=1" {
			t.Errorf("by event: %s", got)
		}
		if got := summary(count("resource", nil)); got != "r.1/one=2 r.2/two=1" {
			t.Errorf("by resource: %s", got)
		}
		hours := count("time", map[string]any{"time_unit": "hour", "time_interval": 1})
		want := fmt.Sprintf("0/%s=1 1/%s=2 2/%s=0", base.Format(time.RFC3339), base.Add(time.Hour).Format(time.RFC3339), base.Add(2*time.Hour).Format(time.RFC3339))
		if got := summary(hours); !strings.HasPrefix(got, want) {
			t.Errorf("by hour: %s, want it to start %s", got, want)
		}
		ts.do("POST", "/events/count-by/colour", map[string]any{"filter": window}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/events/count-by/time", map[string]any{"filter": window, "time_unit": "second", "time_interval": 1}).expect(http.StatusUnprocessableEntity) // 10800 buckets
		ts.do("POST", "/events/count-by/time", map[string]any{"filter": window, "time_interval": 0.001}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/events/count-by/event", map[string]any{}).expect(http.StatusUnprocessableEntity)
	})
}
