package server

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startTestServer serves cfg on 127.0.0.1 until the test ends.
func startTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Host, cfg.Port = "127.0.0.1", 0
	if cfg.Home == "" {
		cfg.Home = t.TempDir()
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv
}

// dialEventsIn opens an anonymous events/in websocket to srv, completes
// Prefect's auth handshake, and reads in the background (so that pongs
// arrive) until ctx ends.
func dialEventsIn(t *testing.T, ctx context.Context, srv *Server) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws://"+srv.Addr()+"/api/events/in", &websocket.DialOptions{Subprotocols: []string{"prefect"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","token":null}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := conn.Read(ctx); err != nil || !bytes.Contains(msg, []byte("auth_success")) {
		t.Fatalf("auth: %s %v", msg, err)
	}
	conn.CloseRead(ctx)
	return conn
}
