package ui_test

import (
	"net/http"
	"net/url"
	"strings"
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
