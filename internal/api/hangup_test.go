package api

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/httpx"
)

// A client that hangs up while its big log batch is being written costs
// nobody else anything: the small batches that share its transaction (on
// SQLite) are answered exactly as they are stored, and the big batch is
// stored whole or not at all.
func TestHangUpMidBatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		db := openDirect(t, ts.dsn)
		const bigLines, small = 20_000, 8
		for round := range 3 {
			tag := fmt.Sprintf("r%d-", round)
			// Hold the database's write lock so that the pilot batch waits
			// in the writer and the others queue up behind it, to share the
			// next transaction.
			unlock := db.lockLogs(t)
			pilot := make(chan int, 1)
			go func() { pilot <- postLogs(context.Background(), ts, logLines(tag+"pilot", 1)) }()
			time.Sleep(200 * time.Millisecond) // let the pilot reach the writer first
			bigCtx, hangUp := context.WithCancel(context.Background())
			bigDone := make(chan struct{})
			go func() {
				defer close(bigDone)
				postLogs(bigCtx, ts, logLines(tag+"big", bigLines))
			}()
			time.Sleep(300 * time.Millisecond) // let the big batch queue up next
			answers := make([]int, small)
			var wg sync.WaitGroup
			for i := range small {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = postLogs(context.Background(), ts, logLines(fmt.Sprintf("%ssmall-%d", tag, i), 1))
				}()
			}
			time.Sleep(200 * time.Millisecond)
			unlock()
			// The pilot's answer means its commit is done and the shared
			// transaction has begun with the big batch: hang up now.
			if status := <-pilot; status != http.StatusCreated {
				t.Fatalf("pilot batch: %d", status)
			}
			hangUp()
			wg.Wait()
			<-bigDone

			for i, status := range answers {
				n := db.countLogs(t, fmt.Sprintf("%ssmall-%d", tag, i))
				if (status == http.StatusCreated && n != 1) || (status != http.StatusCreated && n != 0) {
					t.Errorf("round %d: small batch %d answered %d, stored %d times", round, i, status, n)
				}
			}
			if n := db.countLogs(t, tag+"big"); n != 0 && n != bigLines {
				t.Errorf("round %d: %d of the big batch's %d lines stored", round, n, bigLines)
			}
		}
	})
}

// logLines is a log batch of n lines with message text.
func logLines(text string, n int) []map[string]any {
	lines := make([]map[string]any, n)
	for i := range lines {
		lines[i] = map[string]any{"name": "hangup", "level": 20, "message": text, "timestamp": "2026-01-01T00:00:00Z"}
	}
	return lines
}

// postLogs sends a log batch and returns the status, or 0 if no answer came.
func postLogs(ctx context.Context, ts *testServer, lines []map[string]any) int {
	body, err := json.Marshal(lines)
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", ts.url+"/api/logs/", bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// directDB is the test's database opened directly, beside the server's store.
type directDB struct {
	*sql.DB
	postgres bool
}

func openDirect(t *testing.T, dsn string) *directDB {
	t.Helper()
	d := &directDB{postgres: strings.HasPrefix(dsn, "postgres")}
	driver := "pgx"
	if !d.postgres {
		driver, dsn = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d.DB = db
	return d
}

// lockLogs blocks every write to the logs table until unlock is called.
func (d *directDB) lockLogs(t *testing.T) (unlock func()) {
	t.Helper()
	conn, err := d.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{"BEGIN IMMEDIATE"}
	if d.postgres {
		stmts = []string{"BEGIN", "LOCK TABLE logs IN EXCLUSIVE MODE"}
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return func() {
		if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			t.Errorf("unlock: %v", err)
		}
		conn.Close()
	}
}

// countLogs counts the stored log lines with message text.
func (d *directDB) countLogs(t *testing.T, text string) int {
	t.Helper()
	q := "SELECT COUNT(*) FROM logs WHERE message = ?"
	if d.postgres {
		q = "SELECT COUNT(*) FROM logs WHERE message = $1"
	}
	var n int
	if err := d.QueryRowContext(t.Context(), q, text).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A request whose client hung up ends in 499, logged at debug: not a 500
// and an error in the log, which would send an operator after a fault that
// is not there.
func TestHangUpIsNotAServerError(t *testing.T) {
	logs := &syncBuffer{}
	a := &API{Config: Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"hung up", ctx, fmt.Errorf("write run: %w", context.Canceled), httpx.StatusClientClosed},
		{"a canceled context while the client waits is ours", t.Context(), context.Canceled, http.StatusInternalServerError},
	} {
		w := httptest.NewRecorder()
		a.writeError(w, httptest.NewRequestWithContext(c.ctx, "POST", "/flow_runs/", nil), c.err)
		if w.Code != c.want {
			t.Errorf("%s: %d, want %d", c.name, w.Code, c.want)
		}
	}
	if n := strings.Count(logs.String(), "request failed"); n != 1 {
		t.Errorf("%d errors logged, want 1 (the second case's):\n%s", n, logs)
	}
}
