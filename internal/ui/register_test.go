package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// On a loopback server the API serves the default workspace without a key;
// a user who registers there sees those runs, through the run links the
// Prefect client prints ("View at …/runs/flow-run/<id>").
func TestAnonymousRunsVisibleAfterRegistering(t *testing.T) {
	ts := startServer(t)
	c := ts.newClient(t)
	var flow, run struct {
		ID string `json:"id"`
	}
	c.api(http.MethodPost, "/flows/", "", map[string]any{"name": "local-etl"}).decode(t, &flow)
	c.api(http.MethodPost, "/flow_runs/", "", map[string]any{"flow_id": flow.ID, "name": "anonymous-otter"}).decode(t, &run)
	if run.ID == "" {
		t.Fatal("the anonymous API created no run")
	}
	u := newUser("local")
	c.register(u)
	page := c.get("/runs/flow-run/" + run.ID)
	if page.Status != http.StatusSeeOther {
		t.Fatalf("run link: %d, want a redirect to the default workspace", page.Status)
	}
	target := page.Header.Get("Location")
	if got := c.get(target); got.Status != http.StatusOK || !strings.Contains(got.Body, "anonymous-otter") || !strings.Contains(got.Body, "local-etl") {
		t.Fatalf("%s: %d, the anonymous run is not shown", target, got.Status)
	}
}

// Registering from a page that sent the visitor to sign in (such as the
// CLI's browser login) returns there; an off-site target is ignored.
func TestRegisterReturnsToNext(t *testing.T) {
	ts := startServer(t)
	for next, want := range map[string]string{
		"/auth/client?callback=http%3A%2F%2F127.0.0.1%3A9%2F": "/auth/client?callback=http%3A%2F%2F127.0.0.1%3A9%2F",
		"//evil.example/steal":                                "/workspaces",
		"":                                                    "/workspaces/new",
	} {
		c := ts.newClient(t)
		u := newUser("nomad")
		if form := c.get("/register?next=" + url.QueryEscape(next)); next != "" && !strings.Contains(form.Body, `name="next" value="`) {
			t.Fatalf("the registration form drops next")
		}
		r := c.postCSRF("/register", url.Values{"email": {u.Email}, "handle": {u.Handle}, "password": {u.Password}, "next": {next}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("next %q: %d to %q, want %q", next, r.Status, r.Header.Get("Location"), want)
		}
	}
}

// seesDefaultRun reports whether the client's user can open the run page of
// a run in the default workspace, through the client's printed run link.
func (c *client) seesDefaultRun(runID string) bool {
	c.t.Helper()
	link := c.get("/runs/flow-run/" + runID)
	if link.Status != http.StatusSeeOther || !strings.HasPrefix(link.location(), "/account/") {
		c.t.Fatalf("run link: %d to %q, want a redirect to the default workspace", link.Status, link.location())
	}
	switch page := c.get(link.location()); page.Status {
	case http.StatusOK:
		return true
	case http.StatusNotFound:
		return false
	default:
		c.t.Fatalf("%s: %d", link.location(), page.Status)
		return false
	}
}

// anonymousRun creates a run through the anonymous API and returns its id.
func anonymousRun(t *testing.T, c *client) string {
	t.Helper()
	var flow, run struct {
		ID string `json:"id"`
	}
	c.api(http.MethodPost, "/flows/", "", map[string]any{"name": "local-etl"}).decode(t, &flow)
	c.api(http.MethodPost, "/flow_runs/", "", map[string]any{"flow_id": flow.ID}).decode(t, &run)
	if run.ID == "" {
		t.Fatal("the anonymous API created no run")
	}
	return run.ID
}

// In anonymous mode only the first user to register owns the default
// workspace (through its account), even when many register at the same
// moment; the others see only their own account until an owner adds them.
func TestOnlyFirstRegistrantOwnsDefaultWorkspace(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		runID := anonymousRun(t, ts.newClient(t))
		clients := make([]*client, 8)
		var wg sync.WaitGroup
		for i := range clients {
			clients[i] = ts.newClient(t)
			clients[i].csrf() // the first visit, outside the race
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := newUser("racer")
				r := clients[i].postCSRF("/register", url.Values{"email": {u.Email}, "handle": {u.Handle}, "password": {u.Password}})
				if r.Status != http.StatusSeeOther {
					t.Errorf("register %s: %d %s", u.Email, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		owners := 0
		for _, c := range clients {
			if c.seesDefaultRun(runID) {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("%d of %d concurrent registrants can open the default workspace, want exactly 1", owners, len(clients))
		}
		late := ts.newClient(t)
		late.register(newUser("late"))
		if late.seesDefaultRun(runID) {
			t.Fatal("a later registrant can open the default workspace")
		}
	})
}

// A registration that did not come straight from this machine (through a
// proxy, or naming another host) claims nothing, so the default workspace
// waits for its local owner.
func TestRemoteRegistrantClaimsNothing(t *testing.T) {
	ts := startServer(t)
	runID := anonymousRun(t, ts.newClient(t))
	for _, h := range []http.Header{{"X-Forwarded-For": {"203.0.113.7"}}, {"Host": {"praetor.example"}}} {
		c := ts.newClient(t)
		u := newUser("remote")
		form := url.Values{"email": {u.Email}, "handle": {u.Handle}, "password": {u.Password}, "csrf_token": {c.csrf()}}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/register", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range h {
			if k == "Host" {
				// The client's cookie jar goes by the Host: send this
				// server's cookies by hand.
				req.Host = v[0]
				u, _ := url.Parse(ts.URL)
				for _, ck := range c.hc.Jar.Cookies(u) {
					req.AddCookie(ck)
				}
			} else {
				req.Header[k] = v
			}
		}
		if r := c.do(req); r.Status != http.StatusSeeOther {
			t.Fatalf("register with %v: %d %s", h, r.Status, r.Body)
		}
		// Signing in locally later claims nothing either.
		c.signIn(u)
		if c.seesDefaultRun(runID) {
			t.Fatalf("a registrant with %v owns the default workspace", h)
		}
	}
	local := ts.newClient(t)
	local.register(newUser("local"))
	if !local.seesDefaultRun(runID) {
		t.Fatal("the first local registrant does not own the default workspace")
	}
}
