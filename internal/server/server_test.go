package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
)

// Shutdown while clients are writing loses no write the server accepted:
// every log batch answered 201 and every event received on the websocket
// is in the database afterwards.
func TestShutdownKeepsAcceptedWrites(t *testing.T) {
	home := t.TempDir()
	srv, err := Open(t.Context(), Config{Host: "127.0.0.1", Port: 0, Home: home, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()

	// A websocket client streams events until the server goes away.
	ctx := context.Background()
	// The client reads in the background so that it sees the pong below.
	conn := dialEventsIn(t, ctx, srv)
	var sentEvents []uuid.UUID
	for range 200 {
		id := uuid.Must(uuid.NewV7())
		ev := fmt.Sprintf(`{"id":%q,"occurred":"2026-01-01T00:00:00Z","event":"test.event","resource":{"prefect.resource.id":"test.r"},"related":[],"payload":{}}`, id)
		if err := conn.Write(ctx, websocket.MessageText, []byte(ev)); err != nil {
			t.Fatal(err)
		}
		sentEvents = append(sentEvents, id)
	}
	// A websocket write returns once the frame is on the wire; a ping's pong
	// proves the server has read every frame before it.
	if err := conn.Ping(ctx); err != nil {
		t.Fatal(err)
	}

	var accepted atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := json.Marshal([]map[string]any{{"name": "t", "level": 20, "message": fmt.Sprintf("w%d-%d", w, i), "timestamp": "2026-01-01T00:00:00Z"}})
				resp, err := http.Post(srv.URL()+"/api/logs/", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the server has stopped listening
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated {
					accepted.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	shutdownCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if accepted.Load() == 0 {
		t.Fatal("no log batch was accepted before shutdown")
	}

	db, err := sqlstore.Open(ctx, filepath.Join(home, "praetor.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logs int
	for offset := 0; ; offset += 200 {
		page, err := db.ListLogs(ctx, ws.ID, store.LogQuery{Limit: 200, Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		logs += len(page)
		if len(page) < 200 {
			break
		}
	}
	if int64(logs) != accepted.Load() {
		t.Fatalf("%d logs stored, %d accepted", logs, accepted.Load())
	}
	_, total, err := db.ListEvents(ctx, ws.ID, store.EventQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if total != len(sentEvents) {
		t.Fatalf("%d events stored, %d sent before shutdown", total, len(sentEvents))
	}
}

// Anonymous access defaults to on only for loopback addresses; an explicit
// setting wins either way.
func TestAnonymousDefault(t *testing.T) {
	on, off := true, false
	for _, c := range []struct {
		cfg  Config
		want bool
	}{
		{Config{Host: "127.0.0.1"}, true},
		{Config{Host: "::1"}, true},
		{Config{Host: "localhost"}, true},
		{Config{Host: "0.0.0.0"}, false},
		{Config{Host: "192.0.2.10"}, false},
		{Config{Host: ""}, false}, // every interface
		{Config{Host: "0.0.0.0", Anonymous: &on}, true},
		{Config{Host: "127.0.0.1", Anonymous: &off}, false},
	} {
		if got := c.cfg.anonymous(); got != c.want {
			t.Errorf("host %q anonymous %v: got %v, want %v", c.cfg.Host, c.cfg.Anonymous, got, c.want)
		}
	}
}

// The SQLite synchronous setting reaches the store: a mode it does not know
// stops the server from opening.
func TestSQLiteSynchronousSetting(t *testing.T) {
	for _, mode := range []string{"", "FULL", "NORMAL"} {
		srv, err := Open(t.Context(), Config{Host: "127.0.0.1", Home: t.TempDir(), SQLiteSynchronous: mode, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("mode %q: %v", mode, err)
		}
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(t.Context(), Config{Host: "127.0.0.1", Home: t.TempDir(), SQLiteSynchronous: "OFF", Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Fatal("opened with synchronous=OFF")
	}
}
