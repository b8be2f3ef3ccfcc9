package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Slow and idle clients are disconnected: one that sends its headers
// slowly, one that sends its body slowly, one that keeps an idle
// connection. An events websocket opened before them stays open past every
// timeout.
func TestSlowClientsAreDisconnected(t *testing.T) {
	saved := timeouts
	timeouts.readHeader, timeouts.read, timeouts.write, timeouts.idle = 300*time.Millisecond, 400*time.Millisecond, 400*time.Millisecond, 300*time.Millisecond
	t.Cleanup(func() { timeouts = saved })
	longest := 400 * time.Millisecond
	srv := startTestServer(t, Config{})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ws := dialEventsIn(t, ctx, srv) // reads in the background: answers the pings below
	defer ws.CloseNow()
	wsOpened := time.Now()

	// disconnected sends first, then dribble every 50 ms, and fails the
	// test unless the server hangs up within 5 s.
	disconnected := func(what string, first string, dribble string) {
		t.Helper()
		conn, err := net.Dial("tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, first); err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		go func() {
			// The server may answer (a 400 for a cut-off body) before it
			// closes; read to the end either way.
			_, err := io.Copy(io.Discard, bufio.NewReader(conn))
			closed <- err
		}()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		give := time.After(5 * time.Second)
		for {
			select {
			case err := <-closed:
				if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
					t.Fatalf("%s: %v", what, err)
				}
				return
			case <-tick.C:
				if dribble != "" {
					conn.Write([]byte(dribble)) // fails once the server has gone
				}
			case <-give:
				t.Fatalf("%s: still connected after 5 s", what)
			}
		}
	}
	disconnected("headers sent slowly", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: 1\r\n")
	disconnected("a body sent slowly", "POST /api/logs/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n[", " ")
	disconnected("an idle kept-alive connection", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "")

	// The websocket has outlived every timeout, and still reads and writes.
	if wait := longest + 100*time.Millisecond - time.Since(wsOpened); wait > 0 {
		time.Sleep(wait)
	}
	ev := `{"id":"01a230ec-dc54-710c-b218-ab08ed21fbc4","occurred":"2026-01-01T00:00:00Z","event":"test.event","resource":{"prefect.resource.id":"test.r"},"related":[],"payload":{}}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(ev)); err != nil {
		t.Fatalf("the websocket could not send after the timeouts: %v", err)
	}
	if err := ws.Ping(ctx); err != nil {
		t.Fatalf("the websocket closed with the timeouts: %v", err)
	}
}
