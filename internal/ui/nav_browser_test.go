package ui_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Real-browser tests of the frame every page shares: the sidebar, the phone
// menu, the dark theme, and pages that fit a 375px screen.

// frameFixture is a signed-in browser with a workspace whose runs are in
// every state, one of them with task runs, logs and an artifact.
type frameFixture struct {
	b                      *browser
	user                   user
	ws                     workspace
	flow, run, task, other string
	deployment             string
	pool                   string
	automation             string // its page's path
}

// seedFrame registers a user with a workspace and fills it through the API.
func seedFrame(t *testing.T, ts *testServer) *frameFixture {
	t.Helper()
	b := ts.newBrowser(t)
	u := newUser("nora")
	b.register(u)
	ws := b.createWorkspace("Frame", "Navigation and themes")
	c := ts.newClient(t)
	c.signIn(u)
	api := &wsAPI{t: t, c: c, ws: ws, key: c.createKey("frame")}
	f := &frameFixture{b: b, user: u, ws: ws, flow: api.flow("nightly-warehouse-load-with-a-long-name")}
	now := time.Now()
	for i, s := range []string{"SCHEDULED", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED", "PAUSED"} {
		at := now.Add(-time.Duration(8-i) * time.Minute)
		id := api.flowRun(f.flow, "run-"+strings.ToLower(s)+"-of-the-nightly-load", state(s, "", at, map[string]any{"scheduled_time": at.UTC().Format(time.RFC3339Nano)}),
			map[string]any{"tags": []string{"nightly", "warehouse"}})
		if s == "RUNNING" {
			f.run = id
		}
	}
	f.other = api.flow("hourly")
	f.deployment = api.deployment(f.flow, "nightly-warehouse-load-deployment", map[string]any{
		"description": "Loads the warehouse every night", "tags": []string{"nightly"}, "parameters": map[string]any{"tables": []string{"orders"}},
		"parameter_openapi_schema": map[string]any{"type": "object", "required": []string{"day"}, "properties": map[string]any{
			"day":    map[string]any{"type": "string", "title": "day", "position": 0},
			"tables": map[string]any{"type": "array", "title": "tables", "position": 1, "items": map[string]any{"type": "string"}},
		}},
		"schedules": []map[string]any{{"schedule": map[string]any{"interval": 86400, "anchor_date": "2026-01-01T02:00:00+01:00", "timezone": "Europe/Berlin"}, "active": true}},
	})
	// A work pool with a second queue, an online worker and a run waiting.
	f.pool = "build-box-pool-with-a-long-name"
	api.pool(f.pool, "process", map[string]any{"description": "Runs on the build box", "concurrency_limit": 4})
	api.call("POST", "/work_pools/"+f.pool+"/queues", map[string]any{"name": "critical-with-a-long-name", "priority": 1, "concurrency_limit": 2}, nil)
	api.heartbeat(f.pool, "build-box-worker-with-a-very-long-name-1234567890")
	api.deploymentRun(api.deployment(f.other, "hourly-on-the-build-box", map[string]any{"work_pool_name": f.pool}))
	f.task = api.taskRun(f.run, "extract-the-very-long-table-name", "0", nil, state("COMPLETED", "", time.Time{}, nil))
	api.taskRun(f.run, "load", "0", map[string][]string{"rows": {f.task}}, state("RUNNING", "", time.Time{}, nil))
	api.log(f.run, "", 40, strings.Repeat("an error line without spaces_", 12))
	api.log(f.run, f.task, 20, "extracted 30 rows")
	api.call("POST", "/artifacts/", map[string]any{"key": "report", "type": "markdown", "data": "# Rows: 30", "flow_run_id": f.run}, nil)
	r := c.postCSRF(ws.path("/automations/new/json"), url.Values{"automation": {`{"name": "crashed-runs-of-the-nightly-warehouse-load",
		"trigger": {"expect": ["prefect.flow-run.Crashed"], "match": {"prefect.resource.id": "prefect.flow-run.*"}, "posture": "Reactive"},
		"actions": [{"type": "do-nothing"}]}`}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create an automation: %d\n%s", r.Status, r.Body)
	}
	f.automation = r.location()
	return f
}

// sidebarLinks are the sidebar's links as [href, text] pairs.
func (b *browser) sidebarLinks() [][2]string {
	b.t.Helper()
	return get(b, "read the sidebar", chromedp.Evaluate[[][2]string](`[...document.querySelectorAll("nav.sidenav a")].map(a => [a.getAttribute("href"), a.textContent.trim()])`))
}

// current is the href of every element of the page marked
// aria-current="page" in the sidebar, and how many the page has elsewhere.
func (b *browser) current() []string {
	b.t.Helper()
	return get(b, "read aria-current", chromedp.Evaluate[[]string](`[...document.querySelectorAll('nav.sidenav [aria-current="page"]')].map(a => a.getAttribute("href"))`))
}

// wantCurrent fails unless exactly the sidebar link to href is current.
func (b *browser) wantCurrent(page, href string) {
	b.t.Helper()
	if got := b.current(); len(got) != 1 || got[0] != href {
		b.t.Errorf("on %s the current sidebar items are %q, want exactly %q", page, got, href)
	}
}

// workspaceSidebar is what a workspace's sidebar links to, in order.
func workspaceSidebar(ws workspace) [][2]string {
	return [][2]string{{ws.path("/dashboard"), "Dashboard"}, {ws.path("/runs"), "Runs"}, {ws.path("/flows"), "Flows"},
		{ws.path("/deployments"), "Deployments"}, {ws.path("/work-pools"), "Work pools"},
		{ws.path("/automations"), "Automations"}, {ws.path("/events"), "Events"}, {ws.path("/settings"), "Settings"}}
}

// From the dashboard, every item of the sidebar opens its page, which marks
// exactly that item current; the pages below one (a flow run's, a flow's)
// mark it too. The account pages have a sidebar of their own, with the
// workspace switcher and the user menu.
func TestSidebarReachesEveryPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		f := seedFrame(t, ts)
		b, ws := f.b, f.ws
		b.visit(ws.path("/dashboard"))
		links := b.sidebarLinks()
		want := workspaceSidebar(ws)
		if len(links) != len(want) {
			t.Fatalf("the workspace sidebar has %q, want %q", links, want)
		}
		for i, w := range want {
			if links[i] != w {
				t.Errorf("sidebar item %d is %q, want %q", i, links[i], w)
			}
		}
		b.wantCurrent("the dashboard", ws.path("/dashboard"))
		for _, l := range links {
			if status := b.follow(`nav.sidenav a[href="` + l[0] + `"]`); status != http.StatusOK {
				t.Errorf("%s answered %d", l[1], status)
			}
			if p := b.path(); p != l[0] {
				t.Errorf("%s led to %s", l[1], p)
			}
			b.wantCurrent(l[1], l[0])
		}
		for page, item := range map[string]string{
			"/runs/flow-run/" + f.run:                          "/runs",
			"/runs/task-run/" + f.task:                         "/runs",
			"/runs?state=FAILED":                               "/runs",
			"/flows/flow/" + f.flow:                            "/flows",
			"/dashboard?window=7d":                             "/dashboard",
			"/deployments/deployment/" + f.deployment:          "/deployments",
			"/deployments/deployment/" + f.deployment + "/run": "/deployments",
			"/work-pools/work-pool/" + f.pool:                  "/work-pools",
			"/events?event=prefect.flow-run.":                  "/events",
			"/automations/new":                                 "/automations",
			strings.TrimPrefix(f.automation, ws.path("")):      "/automations",
		} {
			if status := b.visit(ws.path(page)); status != http.StatusOK {
				t.Errorf("%s answered %d", page, status)
			}
			b.wantCurrent(page, ws.path(item))
		}

		// The account pages: workspaces, the account's members, API keys.
		b.do("open the switcher", chromedp.Click(chromedp.CSS("details.switcher > summary")))
		b.follow(`details.switcher a[href="/workspaces"]`)
		// The first user to register also owns the server's default account:
		// one Members item per account.
		links = b.sidebarLinks()
		members := [2]string{"/account/" + ws.AccountID + "/members", "Members"}
		if len(links) < 3 || links[0] != [2]string{"/workspaces", "All workspaces"} || links[len(links)-1] != [2]string{"/profile/api-keys", "API keys"} ||
			!slices.Contains(links, members) {
			t.Fatalf("the account sidebar has %q, want All workspaces, %q and API keys", links, members)
		}
		for _, l := range links {
			if status := b.follow(`nav.sidenav a[href="` + l[0] + `"]`); status != http.StatusOK {
				t.Errorf("%s answered %d", l[1], status)
			}
			b.wantCurrent(l[1], l[0])
			if !b.exists(`details.switcher a[href="` + ws.path("/dashboard") + `"]`) {
				t.Errorf("%s has no workspace switcher", l[1])
			}
			if !b.exists(`details.usermenu form[action="/signout"]`) {
				t.Errorf("%s has no sign-out", l[1])
			}
		}
		b.visit("/workspaces/new")
		b.wantCurrent("/workspaces/new", "/workspaces")
		b.visit("/auth/client?callback=" + url.QueryEscape("http://127.0.0.1:4242"))
		if got := b.current(); len(got) != 0 {
			t.Errorf("the CLI login page marks %q current", got)
		}
	})
}

// On a 375px phone the sidebar hides behind a Menu button that opens with
// the keyboard and closes with Escape; every item opens its page, which
// marks it current and starts with the menu closed.
func TestSidebarOnAPhone(t *testing.T) {
	ts := startServer(t)
	f := seedFrame(t, ts)
	b, ws := f.b, f.ws
	b.phone()
	b.visit(ws.path("/dashboard"))
	visible := func(sel string) bool {
		return get(b, "measure "+sel, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+jsString(sel)+`); return !!e && e.getClientRects().length > 0 && e.getBoundingClientRect().height > 0; })()`))
	}
	const menu = "details.sidebar > summary"
	if !visible(menu) || visible("nav.sidenav a") {
		t.Fatalf("on a phone the menu button shows: %v, the sidebar's links: %v; want only the button", visible(menu), visible("nav.sidenav a"))
	}
	links := b.sidebarLinks()
	if len(links) != len(workspaceSidebar(ws)) {
		t.Fatalf("the sidebar has %q, want %q", links, workspaceSidebar(ws))
	}
	b.do("open the menu with the keyboard", chromedp.Focus(chromedp.CSS(menu)), chromedp.KeyEvent("\r"))
	if !visible("nav.sidenav a") {
		t.Fatalf("Enter on the menu button did not show the sidebar")
	}
	b.do("close it with Escape", chromedp.Focus(chromedp.CSS("nav.sidenav a")), chromedp.KeyEvent("\x1b"))
	if visible("nav.sidenav a") {
		t.Errorf("Escape left the menu open")
	}
	if !get(b, "read the focus", chromedp.Evaluate[bool](`document.activeElement === document.querySelector(`+jsString(menu)+`)`)) {
		t.Errorf("closing the menu did not return the focus to its button")
	}
	for i, l := range links {
		b.do("open the menu", chromedp.Click(chromedp.CSS(menu)))
		if i == 0 {
			b.screenshot("frame-phone-menu-light")
			b.colorScheme("dark")
			b.screenshot("frame-phone-menu-dark")
			b.colorScheme("light")
		}
		if status := b.follow(`nav.sidenav a[href="` + l[0] + `"]`); status != http.StatusOK {
			t.Errorf("%s answered %d", l[1], status)
		}
		if p := b.path(); p != l[0] {
			t.Errorf("%s led to %s", l[1], p)
		}
		b.wantCurrent(l[1], l[0])
		if visible("nav.sidenav a") {
			t.Errorf("%s opens with the menu open", l[1])
		}
	}
}

// phonePages are the pages of a seeded workspace and its account, signed in.
func (f *frameFixture) phonePages() []string {
	ws := f.ws
	return []string{
		"/workspaces", "/workspaces/new", "/profile/api-keys", "/account/" + ws.AccountID + "/members",
		"/auth/client?callback=" + url.QueryEscape("http://127.0.0.1:4242"),
		ws.path("/dashboard"), ws.path("/dashboard?window=7d"), ws.path("/runs"), ws.path("/runs?state=FAILED&sort=NAME_ASC"),
		ws.path("/runs/flow-run/" + f.run), ws.path("/runs/task-run/" + f.task), ws.path("/flows"),
		ws.path("/flows/flow/" + f.flow), ws.path("/flows/flow/" + f.other), ws.path("/settings"),
		ws.path("/deployments"), ws.path("/deployments?name=no-such"), ws.path("/deployments/deployment/" + f.deployment),
		ws.path("/deployments/deployment/" + f.deployment + "/run"), ws.path("/runs?deployment=" + f.deployment),
		ws.path("/work-pools"), ws.path("/work-pools/work-pool/" + f.pool), ws.path("/events"),
		ws.path("/automations"), ws.path("/automations/new"), f.automation,
		ws.path("/no-such-page"),
	}
}

// tooSmall lists the visible controls of the page (buttons, disclosure
// buttons, fields, the sidebar's and segmented links) shorter than 44px,
// the least a finger hits reliably.
const tooSmall = `[...document.querySelectorAll("button, summary, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .button, nav.sidenav a, .segmented a, .topbar > a")]
	.filter(e => e.getClientRects().length > 0 && e.getBoundingClientRect().height > 0 && e.getBoundingClientRect().height < 44)
	.map(e => e.outerHTML.slice(0, 80) + " " + Math.round(e.getBoundingClientRect().height) + "px")`

// Every page, with data, fits a 375px screen: the document never scrolls
// sideways (wide tables scroll in their own box), and the controls are
// big enough to tap.
func TestEveryPageFitsAPhone(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		f := seedFrame(t, ts)
		b := f.b
		b.phone()
		check := func(p string) {
			t.Helper()
			b.visit(p)
			sizes := get(b, "measure "+p, chromedp.Evaluate[[2]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
			if sizes[0] > sizes[1] {
				wide := get(b, "find what is wide", chromedp.Evaluate[[]string](`[...document.body.querySelectorAll("*")].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !e.parentElement.closest(".table-wrap, pre, .radar-wrap, details:not([open])")).slice(0, 12).map(e => e.outerHTML.slice(0, 100))`))
				t.Errorf("%s is %dpx wide on a %dpx screen; wide: %q", p, sizes[0], sizes[1], wide)
			}
			if small := get(b, "measure the controls of "+p, chromedp.Evaluate[[]string](tooSmall)); len(small) > 0 {
				t.Errorf("%s has controls under 44px high: %q", p, small)
			}
		}
		for _, p := range f.phonePages() {
			check(p)
		}
		b.visit(f.ws.path("/runs/flow-run/" + f.run))
		b.screenshot("frame-run-phone")
		b.do("sign out", chromedp.Click(chromedp.CSS("details.usermenu > summary")))
		b.follow(`form[action="/signout"] button`)
		for _, p := range []string{"/signin", "/register", "/signin?next=" + url.QueryEscape(f.ws.path("/dashboard"))} {
			check(p)
		}
	})
}

// contrastReport measures the page's colours: the luminance of the body's
// background, the contrast of the body's text on it, and every visible
// text (its colour, or an SVG text's fill) or chart bar and Radar node
// (fill or stroke) whose contrast with the background it is drawn on is
// below 4.5:1 for text and 3:1 for graphics; and the luminance of the
// sidebar's background.
const contrastReport = `(() => {
  const rgb = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const v = m[1].split(/[ ,\/]+/).map(Number); return v.length > 3 && v[3] < 0.5 ? null : v.slice(0, 3); };
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = ([r, g, b]) => 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const under = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c) return c; } return [255, 255, 255]; };
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
  const body = getComputedStyle(document.body);
  const bg = rgb(body.backgroundColor), fg = rgb(body.color);
  const low = [];
  const name = (e) => e.tagName.toLowerCase() + (e.className && typeof e.className === "string" ? "." + e.className.trim().replace(/\s+/g, ".") : "") + " " + JSON.stringify((e.textContent || "").trim().slice(0, 30));
  for (const e of document.body.querySelectorAll("*")) {
    if (!shown(e) || e.closest("svg") && e.tagName.toLowerCase() !== "text") continue;
    if (![...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(e);
    const c = rgb(e.closest("svg") ? st.fill : st.color);
    if (!c) continue;
    const r = ratio(c, under(e.closest("svg") || e));
    if (r < 4.5) low.push(name(e) + " " + r.toFixed(2));
  }
  for (const e of document.querySelectorAll("svg.chart rect, svg.radar .radar-node rect")) {
    const st = getComputedStyle(e);
    const c = rgb(e.closest(".radar-node") ? st.stroke : st.fill);
    if (!c) continue;
    const r = ratio(c, under(e.closest("svg")));
    if (r < 3) low.push("svg " + (e.getAttribute("class") || e.parentElement.getAttribute("aria-label")) + " " + r.toFixed(2));
  }
  const nav = document.querySelector("nav.sidenav");
  return { bg: lum(bg), text: ratio(fg, bg), nav: nav ? lum(under(nav)) : -1, low: low };
})()`

type contrast struct {
	BG   float64  `json:"bg"`
	Text float64  `json:"text"`
	Nav  float64  `json:"nav"` // the sidebar's background; -1 without one
	Low  []string `json:"low"`
}

// The theme follows the system setting: with prefers-color-scheme dark
// every page's background is dark and its text light, and in both themes
// every text, state badge, chart bar and Radar node is readable on what it
// is drawn on.
func TestThemesFollowTheSystemAndStayReadable(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		f := seedFrame(t, ts)
		b, ws := f.b, f.ws
		pages := f.phonePages()
		for _, scheme := range []string{"light", "dark"} {
			b.colorScheme(scheme)
			for _, p := range pages {
				b.visit(p)
				c := get(b, "measure the colours of "+p, chromedp.Evaluate[contrast](contrastReport))
				if scheme == "dark" && (c.BG > 0.05 || c.Nav > 0.05) {
					t.Errorf("%s in the dark theme: the luminance of the background is %.3f, of the sidebar %.3f; want dark ones", p, c.BG, c.Nav)
				}
				if c.Nav < 0 {
					t.Errorf("%s has no sidebar", p)
				}
				if scheme == "light" && c.BG < 0.8 {
					t.Errorf("%s in the light theme: the background's luminance is %.3f, want a light one", p, c.BG)
				}
				if c.Text < 7 {
					t.Errorf("%s in the %s theme: body text contrast %.2f, want 7 or more", p, scheme, c.Text)
				}
				if len(c.Low) > 0 {
					t.Errorf("%s in the %s theme: low contrast: %q", p, scheme, c.Low)
				}
			}
			if ts.Engine != "sqlite" {
				continue
			}
			b.visit(ws.path("/dashboard"))
			b.screenshot("frame-dashboard-" + scheme)
			b.visit(ws.path("/runs"))
			b.screenshot("frame-runs-" + scheme)
			b.visit(ws.path("/runs/flow-run/" + f.run))
			b.screenshot("frame-run-" + scheme)
		}
		b.colorScheme("dark")
		b.do("open the user menu", chromedp.Click(chromedp.CSS("details.usermenu > summary")))
		b.follow(`form[action="/signout"] button`)
		for _, p := range []string{"/signin", "/register"} {
			b.visit(p)
			if c := get(b, "measure the colours of "+p, chromedp.Evaluate[contrast](contrastReport)); c.BG > 0.05 || c.Text < 7 || len(c.Low) > 0 {
				t.Errorf("%s in the dark theme: %+v", p, c)
			}
		}
	})
}
