package api

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/praetorhq/praetor/internal/testdb"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/secretbox"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
)

// testServer is the real API handler served over HTTP on a fresh database.
// It belongs to the test that created it: its helpers fail that test.
type testServer struct {
	t         testing.TB
	url       string // the server root; the API is under url+"/api"
	store     store.Store
	workspace model.Workspace // the default workspace, served at /api
	// key, when set, is sent as "Authorization: Bearer <key>".
	key string
	// logs collects the server's log output.
	logs *syncBuffer
	// dsn names the test's database.
	dsn string
}

// as returns a client of the same server that authenticates with key.
func (ts *testServer) as(key string) *testServer {
	c := *ts
	c.key = key
	return &c
}

// in returns a client of the same server that reports to t, for subtests
// and fuzz targets.
func (ts *testServer) in(t testing.TB) *testServer {
	c := *ts
	c.t = t
	return &c
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// forEachEngine runs fn as one subtest per storage engine, each against its
// own fresh server: SQLite always, PostgreSQL when PRAETOR_TEST_POSTGRES_URL
// names a server to create a throwaway database in.
func forEachEngine(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	forEachEngineWith(t, nil, fn)
}

// forEachEngineWith is forEachEngine with the API's configuration adjusted
// by configure (anonymous access is on unless it turns it off).
func forEachEngineWith(t *testing.T, configure func(*Config), fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	testdb.Engines(t, func(t *testing.T, dsn string) { fn(t, newTestServerOn(t, dsn, configure)) })
}

// newTestServer serves the API on a new SQLite database in t.TempDir().
func newTestServer(t *testing.T) *testServer {
	t.Helper()
	return newTestServerOn(t, testdb.SQLite(t), nil)
}

// newTestServerOn serves the API on the database dsn names; the server and
// store are closed when the test ends.
func newTestServerOn(t testing.TB, dsn string, configure func(*Config)) *testServer {
	t.Helper()
	ctx := t.Context()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	key := make([]byte, secretbox.KeySize)
	rand.Read(key)
	keyring, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, dsn, logger, sqlstore.Secrets(keyring))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatalf("default workspace: %v", err)
	}
	cfg := Wire(db, Config{Default: ws, Anonymous: true, SignUp: true, Logger: logger})
	if configure != nil {
		configure(&cfg)
	}
	a := New(cfg)
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{t: t, url: srv.URL, store: db, workspace: ws, logs: logs, dsn: dsn}
}

// testResponse is an API answer.
type testResponse struct {
	t      testing.TB
	req    string // "METHOD path", for failure messages
	Status int
	Body   []byte
}

// do sends a request to path, which is below /api. A string or []byte body
// is sent verbatim (to test malformed input), nil sends none, and anything
// else is encoded as JSON.
func (ts *testServer) do(method, path string, body any) *testResponse {
	ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewReader([]byte(b))
	case []byte:
		r = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatalf("encode request body: %v", err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ts.t.Context(), method, ts.url+"/api"+path, r)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ts.key != "" {
		req.Header.Set("Authorization", "Bearer "+ts.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &testResponse{t: ts.t, req: method + " " + path, Status: resp.StatusCode, Body: got}
}

// expect fails the test unless the response has status.
func (r *testResponse) expect(status int) *testResponse {
	r.t.Helper()
	if r.Status != status {
		r.t.Fatalf("%s: status %d, want %d; body: %s", r.req, r.Status, status, r.Body)
	}
	return r
}

// decode decodes the body into v, keeping numbers exact.
func (r *testResponse) decode(v any) {
	r.t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		r.t.Fatalf("%s: decode %s: %v", r.req, r.Body, err)
	}
}

// object decodes the body as a JSON object.
func (r *testResponse) object() map[string]any {
	r.t.Helper()
	var m map[string]any
	r.decode(&m)
	return m
}

// list decodes the body as a JSON array of objects.
func (r *testResponse) list() []map[string]any {
	r.t.Helper()
	var l []map[string]any
	r.decode(&l)
	return l
}

// detail returns Prefect's HTTPException detail, or for a 422 the type of
// its first validation error.
func (r *testResponse) detail() string {
	r.t.Helper()
	var body struct {
		Detail          string `json:"detail"`
		ExceptionDetail []struct {
			Type string `json:"type"`
		} `json:"exception_detail"`
	}
	r.decode(&body)
	if body.Detail == "" && len(body.ExceptionDetail) > 0 {
		return body.ExceptionDetail[0].Type
	}
	return body.Detail
}

// normJSON re-encodes a JSON value canonically (sorted keys, exact numbers),
// so values that the engines store differently compare equal.
func normJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	out, err := json.Marshal(x)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return string(out)
}

// refused is a request the API must turn down.
type refused struct {
	method, path, body string
	status             int
	detail             string // the detail, or a 422's first error type; "" skips the check
}

// expectRefused sends each request (a body only with POST and PATCH) and
// checks its status, its detail, that the error body has one of Prefect's
// shapes ({"detail"} from HTTPExceptions, {"exception_detail", …} from
// validation, {"exception_message"} from ObjectNotFoundError) and that
// snapshot, what the database holds, did not change.
func expectRefused(t *testing.T, ts *testServer, snapshot func() string, cases []refused) {
	t.Helper()
	before := snapshot()
	for _, c := range cases {
		var body any
		if c.method == "POST" || c.method == "PATCH" {
			body = c.body
		}
		resp := ts.do(c.method, c.path, body)
		if resp.Status != c.status {
			t.Errorf("%s %s %.80s: status %d, want %d; body %.300s", c.method, c.path, c.body, resp.Status, c.status, resp.Body)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(resp.Body, &m); err != nil || (m["detail"] == nil && m["exception_detail"] == nil && m["exception_message"] == nil) {
			t.Errorf("%s %s: error body is not Prefect's shape: %s", c.method, c.path, resp.Body)
		}
		if c.detail != "" {
			if got := resp.detail(); got != c.detail {
				t.Errorf("%s %s %.80s: detail %q, want %q", c.method, c.path, c.body, got, c.detail)
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("%s %s %.80s changed the database:\nbefore %s\nafter  %s", c.method, c.path, c.body, before, after)
		}
	}
}
