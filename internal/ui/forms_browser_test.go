package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The flows list counts each flow's failed and crashed runs, and links to
// them only when there are some: a flow that never failed reads 0, not a
// "Failed runs" link.
func TestFlowsListCountsFailures(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		dan := newUser("dan")
		b.register(dan)
		ws := b.createWorkspace("Flows", "")
		key := b.createAPIKey("flows")
		api := apiPoster(t, ts, ws, key)
		clean := api("/flows/", map[string]any{"name": "always-fine"})
		flaky := api("/flows/", map[string]any{"name": "often-broken"})
		api("/flow_runs/", map[string]any{"flow_id": clean, "name": "fine-1", "state": map[string]any{"type": "COMPLETED"}})
		api("/flow_runs/", map[string]any{"flow_id": flaky, "name": "broken-1", "state": map[string]any{"type": "FAILED"}})
		api("/flow_runs/", map[string]any{"flow_id": flaky, "name": "broken-2", "state": map[string]any{"type": "CRASHED"}})
		api("/flow_runs/", map[string]any{"flow_id": flaky, "name": "fine-2", "state": map[string]any{"type": "COMPLETED"}})

		b.visit(ws.path("/flows"))
		row := func(name string) string { return `table.flows tr:has(a[href$="/flows/flow/` + name + `"])` }
		if got := b.text(row(clean) + " td:nth-child(3)"); got != "0" {
			t.Errorf("the failures of a flow that never failed read %q", got)
		}
		if b.exists(row(clean) + " td:nth-child(3) a") {
			t.Errorf("a flow that never failed links to its failed runs")
		}
		if got := b.text(row(flaky) + " td:nth-child(3) a"); got != "2" {
			t.Errorf("the failures of the flow with a failed and a crashed run read %q", got)
		}
		if status := b.follow(row(flaky) + " td:nth-child(3) a"); status != http.StatusOK {
			t.Fatalf("the failed runs link answered %d", status)
		}
		list := b.text("main")
		if !strings.Contains(list, "broken-1") || !strings.Contains(list, "broken-2") || strings.Contains(list, "fine-2") {
			t.Errorf("the failed runs link lists: %s", list)
		}
	})
}

// The Settings page tells how to finish the Prefect CLI's browser login on a
// machine without a browser, and the page it names works: opened with the
// port the CLI listens on, it hands the CLI a key.
func TestHeadlessCLILogin(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	erin := newUser("erin")
	b.register(erin)
	ws := b.createWorkspace("Headless", "")
	b.visit(ws.path("/settings"))

	if got, want := b.text("#cmd-browser-url"), "BROWSER=echo PREFECT_CLOUD_API_URL="+ts.URL+"/api prefect cloud login"; got != want {
		t.Errorf("the command that prints the login URL reads %q, want %q", got, want)
	}
	steps := b.text("#no-browser-steps")
	page := ts.URL + "/auth/client?callback=http://localhost:<PORT>"
	if !strings.Contains(steps, page) || !strings.Contains(steps, "ssh -L <PORT>:127.0.0.1:<PORT>") {
		t.Fatalf("the steps read %q, want the page %s and the port forward", steps, page)
	}

	cli := newFakeCLI(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(cli.URL, "http://"), ":")
	b.visit(strings.Replace(page, "<PORT>", port, 1))
	b.submit("#cli-authorize", nil, `button[value="authorize"]`)
	got := cli.next(t)
	if got.Path != "/success" || !strings.HasPrefix(got.Body["api_key"], "pnu_") {
		t.Fatalf("the CLI received %s %v, want /success with a key", got.Path, got.Body)
	}
}

// Settings shows the `prefect cloud workspace set` command the seed says it
// shows, with this workspace's handle.
func TestWorkspaceSetCommand(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	b.register(newUser("fay"))
	ws := b.createWorkspace("Switch Here", "")
	b.visit(ws.path("/settings"))
	if got, want := b.text("#cmd-workspace-set"), `prefect cloud workspace set --workspace "`+ws.fullHandle()+`"`; got != want {
		t.Errorf("the workspace set command reads %q, want %q", got, want)
	}
	if !b.exists(`button[data-copy="cmd-workspace-set"]`) {
		t.Errorf("the workspace set command has no copy button")
	}
}

// Creating an API key answers with a redirect (post/redirect/get): the key
// shows once, from a server-side flash that is in neither the URL nor a
// cookie, and reloading the page creates no second key and shows the key no
// more.
func TestAPIKeyCreationRedirects(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		b.register(newUser("gil"))
		b.visit("/profile/api-keys")
		if status := b.submit("#create-key", map[string]string{"name": "laptop"}); status != http.StatusOK || b.path() != "/profile/api-keys" {
			t.Fatalf("creating a key answered %d at %s, want the keys page after a redirect", status, b.path())
		}
		key := b.text("#new-key")
		if !strings.HasPrefix(key, "pnu_") {
			t.Fatalf("the new key reads %q", key)
		}
		if got := b.text("#flashes"); !strings.Contains(got, "Created the API key “laptop”") {
			t.Errorf("the confirmation reads %q", got)
		}
		cookies := get(b, "read the cookies", chromedp.Evaluate[string](`document.cookie`))
		if strings.Contains(cookies, key) || strings.Contains(b.path(), key) {
			t.Errorf("the key travels in the URL or a cookie")
		}

		if status := b.navigated("reload the page", chromedp.Reload()); status != http.StatusOK {
			t.Fatalf("reloading answered %d", status)
		}
		if b.exists("#new-key") || strings.Contains(b.html(), key) || b.exists("#flashes") {
			t.Errorf("the reloaded page shows the key or the confirmation again")
		}
		if n := get(b, "count the keys", chromedp.Evaluate[int](`document.querySelectorAll("#key-list tbody tr").length`)); n != 1 {
			t.Errorf("after a reload the list has %d keys, want 1", n)
		}
	})
}

// The redirect that follows a key's creation carries nothing of the key,
// and the one page that shows it is not cached.
func TestAPIKeyFlashStaysOnTheServer(t *testing.T) {
	ts := startServer(t)
	c := ts.newClient(t)
	c.register(newUser("hal"))
	r := c.postCSRF("/profile/api-keys", url.Values{"name": {"ci"}})
	if r.Status != http.StatusSeeOther || r.location() != "/profile/api-keys" {
		t.Fatalf("creating a key: %d to %q, want 303 to the keys page", r.Status, r.location())
	}
	if strings.Contains(r.Body, "pnu_") || strings.Contains(r.location(), "pnu_") || strings.Contains(strings.Join(r.Header.Values("Set-Cookie"), ";"), "pnu_") {
		t.Errorf("the redirect carries the key: %v %q", r.Header, r.Body)
	}
	page := c.get("/profile/api-keys")
	if !strings.Contains(page.Body, `<pre id="new-key"><code>pnu_`) || page.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page after the redirect: key shown %v, Cache-Control %q", strings.Contains(page.Body, "new-key"), page.Header.Get("Cache-Control"))
	}
	if again := c.get("/profile/api-keys"); strings.Contains(again.Body, `id="new-key"`) {
		t.Errorf("the key shows a second time")
	}
}

// Every successful form post says what it did, once: saving and deleting a
// workspace, deleting a key, changing members.
func TestFormPostsConfirm(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		ivy, jon := newUser("ivy"), newUser("jon")
		cj := ts.newClient(t)
		cj.register(jon)
		b.register(ivy)
		ws := b.createWorkspace("Confirm", "")
		flashed := func(what, want string) {
			t.Helper()
			if got := b.text("#flashes"); !strings.Contains(got, want) {
				t.Errorf("after %s the confirmation reads %q, want %q", what, got, want)
			}
		}

		b.visit(ws.path("/settings"))
		b.submit("#workspace-form", map[string]string{"description": "changed"})
		flashed("saving the settings", "Saved the workspace's settings.")
		b.visit(ws.path("/settings"))
		if b.exists("#flashes") {
			t.Errorf("the confirmation shows again on the next visit")
		}

		acct := "/account/" + ws.AccountID + "/members"
		b.visit(acct)
		b.submit(`form[action="`+acct+`"]`, map[string]string{"email": jon.Email})
		flashed("inviting an account member", "Invited "+jon.Email)
		cj.accept(b.invitationPath())
		b.visit(ws.path("/settings"))
		b.submit("#add-member", map[string]string{"email": jon.Email, "role": "viewer"})
		flashed("adding a workspace member", "Set the role of "+jon.Email+" to viewer.")
		b.submit(`#member-list tr[data-email="`+jon.Email+`"] form[data-confirm]`, nil)
		b.dialog()
		flashed("removing a workspace member", "Removed "+jon.Email)

		b.createAPIKey("doomed")
		b.submit(`#key-list form[data-confirm]`, nil)
		b.dialog()
		flashed("deleting a key", "Deleted the API key")

		b.visit(ws.path("/settings"))
		b.submit("#delete-form", map[string]string{"confirm": ws.Handle})
		b.dialog()
		if b.path() != "/workspaces" {
			t.Fatalf("after deleting the workspace the browser is at %s", b.path())
		}
		flashed("deleting the workspace", "Deleted the workspace "+ws.fullHandle()+".")
	})
}

// Creating a workspace lands on its dashboard, as in Prefect Cloud, with
// the login commands one click away; the workspaces list has an options
// menu per workspace with Edit and Delete.
func TestWorkspaceCreateAndOptions(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	kim := newUser("kim")
	b.register(kim)
	b.submit(`form[action="/workspaces/new"]`, map[string]string{"name": "Landing"})
	ws := parseWorkspace(t, b.path(), kim.Handle)
	ws.Handle = "landing"
	if b.path() != ws.path("/dashboard") {
		t.Fatalf("after creating a workspace the browser is at %s, want its dashboard", b.path())
	}
	if got := b.text("#flashes"); !strings.Contains(got, "Created the workspace "+ws.fullHandle()) {
		t.Errorf("the confirmation reads %q", got)
	}
	b.follow("#flashes a")
	if b.path() != ws.path("/settings") || !strings.Contains(b.text("#cmd-login"), ws.fullHandle()) {
		t.Errorf("the confirmation's link leads to %s", b.path())
	}

	b.visit("/workspaces")
	menu := `#workspace-list details.wsmenu:has(summary[aria-label="Options of ` + ws.fullHandle() + `"])`
	b.do("open the options menu", chromedp.Click(chromedp.CSS(menu+" summary")))
	b.waitVisible(menu + ` a[href="` + ws.path("/settings#details") + `"]`)
	if got := b.text(menu + ` a[href$="#details"]`); got != "Edit" {
		t.Errorf("the edit item reads %q", got)
	}
	if got := b.text(menu + ` a[href$="#delete"]`); got != "Delete" {
		t.Errorf("the delete item reads %q", got)
	}
	b.follow(menu + ` a[href$="#delete"]`)
	if !b.exists("#delete-form") {
		t.Errorf("the delete item does not lead to the delete form")
	}
}
