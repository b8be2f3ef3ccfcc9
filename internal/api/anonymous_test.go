package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// send sends a request below /api exactly as given: body verbatim, with
// only the headers in header (a "Host" entry sets the request's Host).
func (ts *testServer) send(method, path, body string, header map[string]string) *testResponse {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ts.t.Context(), method, ts.url+"/api"+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return &testResponse{t: ts.t, req: method + " " + path, Status: resp.StatusCode, Body: got}
}

// A page on another site can post to a loopback server without the
// browser asking first when the body is text/plain, a form, multipart, or
// typeless: such writes are refused, anonymous or not, and change nothing.
// Prefect's client always declares its JSON.
func TestBlindCrossSiteWritesRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		body := `{"name":"planted","value":"by another site","tags":[]}`
		snapshot := func() string { return variableSnapshot(t, ts) }
		before := snapshot()
		for _, ct := range []string{"text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
			h := map[string]string{}
			if ct != "" {
				h["Content-Type"] = ct
			}
			r := ts.send("POST", "/variables/", body, h)
			if r.Status != http.StatusUnsupportedMediaType || !strings.Contains(r.detail(), "application/json") {
				t.Errorf("Content-Type %q: %d %s, want 415 in Prefect's shape", ct, r.Status, r.Body)
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("a refused write changed the variables: %s", after)
		}
		// The client's own forms of a request still work: declared JSON
		// (with parameters), and bodyless POSTs.
		ts.send("POST", "/variables/", body, map[string]string{"Content-Type": "application/json; charset=utf-8"}).expect(http.StatusCreated)
		ts.send("POST", "/variables/filter", "", nil).expect(http.StatusOK)
		// Sign-up takes no key: the same rule holds there.
		r := ts.send("POST", "/users/", `{"email":"blind@example.com","password":"long enough password"}`, map[string]string{"Content-Type": "text/plain"})
		if r.Status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain sign-up: %d %s", r.Status, r.Body)
		}
		if _, _, err := ts.store.GetUserByEmail(t.Context(), "blind@example.com"); err == nil {
			t.Error("a text/plain sign-up created a user")
		}
	})
}

// Anonymous access is for clients on this machine only: a request naming
// another host (DNS rebinding) or relayed by a proxy needs a key, and a key
// still works from there.
func TestAnonymousOnlyForLocalClients(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		port := ts.url[strings.LastIndex(ts.url, ":")+1:]
		with := func(k, v string) map[string]string {
			return map[string]string{"Content-Type": "application/json", k: v}
		}
		for _, host := range []string{"127.0.0.1:" + port, "localhost:" + port, "LocalHost", "127.0.0.2:" + port, "[::1]:" + port, "[::1]"} {
			ts.send("POST", "/flows/filter", "{}", with("Host", host)).expect(http.StatusOK)
		}
		refused := []map[string]string{
			with("Host", "evil.example"),
			with("Host", "evil.example:"+port),
			with("Host", "127.0.0.1.evil.example:"+port),
			with("Host", "localhost.:"+port),
			with("Forwarded", "for=203.0.113.7"),
			with("X-Forwarded-For", "203.0.113.7"),
			with("X-Forwarded-Host", "praetor.example"),
			with("X-Forwarded-Proto", "https"),
			with("X-Real-IP", "203.0.113.7"),
			with("Via", "1.1 proxy"),
		}
		before := variableSnapshot(t, ts)
		for _, h := range refused {
			r := ts.send("POST", "/variables/", `{"name":"via_proxy","value":1}`, h)
			if r.Status != http.StatusUnauthorized || r.detail() != "Not authenticated" {
				t.Errorf("%v: %d %s, want 401", h, r.Status, r.Body)
			}
			if r := ts.send("POST", "/flows/filter", "{}", h); r.Status != http.StatusUnauthorized {
				t.Errorf("%v: read answered %d, want 401", h, r.Status)
			}
		}
		if after := variableSnapshot(t, ts); after != before {
			t.Fatalf("a refused request changed the variables: %s", after)
		}

		// A key works through a proxy: it is the key, not the address,
		// that grants access.
		alice := newTenant(t, ts, "alice")
		check(t, ts.store.SetWorkspaceMember(t.Context(), ts.workspace.ID, alice.userID, "developer"))
		h := with("X-Forwarded-For", "203.0.113.7")
		h["Authorization"] = "Bearer " + alice.key
		ts.send("POST", "/flows/filter", "{}", h).expect(http.StatusOK)

		// The events socket: from a rebound name it needs a token too.
		ws := "ws" + strings.TrimPrefix(ts.url, "http") + "/api/events/in"
		for host, wantOK := range map[string]bool{"127.0.0.1:" + port: true, "evil.example:" + port: false} {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			conn, _, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"prefect"}, Host: host})
			if err != nil {
				cancel()
				t.Fatalf("dial with Host %s: %v", host, err)
			}
			check(t, conn.Write(ctx, websocket.MessageText, []byte(`{"type":"auth","token":null}`)))
			_, msg, err := conn.Read(ctx)
			if got := err == nil && strings.Contains(string(msg), "auth_success"); got != wantOK {
				t.Errorf("events/in with Host %s and no token: %s %v, want accepted=%v", host, msg, err, wantOK)
			}
			conn.CloseNow()
			cancel()
		}
	})
}

// Anonymous callers do a developer's work but never see or change who is a
// member of the workspace.
func TestAnonymousCannotManageMembers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		u, _, err := tenancy.RegisterUser(t.Context(), ts.store, tenancy.SignUp{Email: "mallory@example.com", Password: testPassword})
		check(t, err)
		members := func() string {
			m, err := ts.store.ListWorkspaceMembers(t.Context(), ts.workspace.ID)
			check(t, err)
			b, _ := json.Marshal(m)
			return string(b)
		}
		before := members()
		expectRefused(t, ts, members, []refused{
			{"GET", "/members/", "", http.StatusForbidden, ""},
			{"DELETE", "/members/" + u.ID.String(), "", http.StatusForbidden, ""},
		})
		r := ts.do("PUT", "/members/"+u.ID.String(), map[string]any{"role": "owner"})
		if r.Status != http.StatusForbidden {
			t.Errorf("anonymous PUT /members/{user}: %d %s, want 403", r.Status, r.Body)
		}
		if after := members(); after != before {
			t.Fatalf("an anonymous call changed the members: %s", after)
		}
		if id := uuid.MustParse(ts.do("POST", "/flows/", map[string]any{"name": "still-works"}).expect(http.StatusCreated).object()["id"].(string)); id == uuid.Nil {
			t.Fatal("no flow id")
		}
	})
}

// Sign-ups are limited per address, since each costs a password hash, and
// their bodies are small: a refused one creates nothing.
func TestSignUpLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		signUp := func(i int) *testResponse {
			return ts.do("POST", "/users/", map[string]any{"email": fmt.Sprintf("bulk%d@example.com", i), "password": testPassword})
		}
		huge := ts.do("POST", "/users/", map[string]any{"email": "huge@example.com", "password": strings.Repeat("p", 1<<20)})
		if huge.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("a 1 MB sign-up: %d %s, want 413", huge.Status, huge.Body)
		}
		long := ts.do("POST", "/users/", map[string]any{"email": "long@example.com", "password": strings.Repeat("p", 1025)})
		if long.Status != http.StatusUnprocessableEntity {
			t.Errorf("a 1025-byte password: %d %s, want 422", long.Status, long.Body)
		}
		// The two refused above used two of the address's 20 sign-ups.
		n := 2
		for ; n < 20; n++ {
			signUp(n).expect(http.StatusCreated)
		}
		r := signUp(n)
		if r.Status != http.StatusTooManyRequests || !strings.Contains(r.detail(), "Too many sign-ups") {
			t.Fatalf("sign-up %d from one address: %d %s, want 429", n+1, r.Status, r.Body)
		}
		if _, _, err := ts.store.GetUserByEmail(t.Context(), fmt.Sprintf("bulk%d@example.com", n)); err == nil {
			t.Fatal("a refused sign-up created its user")
		}
	})
}
