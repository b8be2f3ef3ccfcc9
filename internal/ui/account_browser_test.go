package ui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A new user registers, creates a workspace, finds it in the list and the
// switcher, edits it, reads the login commands, and creates, sees once,
// uses and deletes an API key.
func TestWorkspaceAndAPIKeyWalkthrough(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		alice := newUser("alice")
		b.register(alice)
		if h := b.text("h1"); h != "Create a workspace" {
			t.Fatalf("a new account lands on %q, want the create-workspace page", h)
		}
		b.screenshot("workspace-new")

		ws := b.createWorkspace("Data Platform", "Nightly ETL")
		if ws.AccountHandle != alice.Handle || ws.Handle != "data-platform" {
			t.Fatalf("created %s, want %s/data-platform", ws.fullHandle(), alice.Handle)
		}
		if got := b.text("details.switcher summary"); got != ws.fullHandle() {
			t.Errorf("switcher shows %q, want %q", got, ws.fullHandle())
		}
		if !b.exists(`details.switcher a[href="` + ws.path("/dashboard") + `"]`) {
			t.Errorf("the switcher does not link to the new workspace")
		}

		b.visit("/workspaces")
		if list := b.text("#workspace-list"); !strings.Contains(list, ws.fullHandle()) || !strings.Contains(list, "Nightly ETL") {
			t.Errorf("workspace list reads %q, want %s with its description", list, ws.fullHandle())
		}
		b.screenshot("workspaces")

		// Edit the description.
		b.visit(ws.path("/settings"))
		if status := b.submit("#workspace-form", map[string]string{"description": "Nightly ETL and reports"}); status != http.StatusOK {
			t.Fatalf("saving the settings answered %d", status)
		}
		if got := b.value(`#workspace-form [name="description"]`); got != "Nightly ETL and reports" {
			t.Errorf("description after saving: %q", got)
		}
		b.visit("/workspaces")
		if list := b.text("#workspace-list"); !strings.Contains(list, "Nightly ETL and reports") {
			t.Errorf("workspace list does not show the new description: %q", list)
		}

		// The commands that log a terminal in to this workspace.
		b.visit(ws.path("/settings"))
		api := ts.URL + "/api"
		wsAPI := api + "/accounts/" + ws.AccountID + "/workspaces/" + ws.ID
		want := map[string]string{
			"cmd-install": "pip install -U prefect",
			"cmd-login":   "PREFECT_CLOUD_API_URL=" + api + " prefect cloud login --key <YOUR-KEY> --workspace " + ws.fullHandle(),
			"cmd-persist": "prefect config set PREFECT_CLOUD_API_URL=" + api + "\nprefect cloud login --key <YOUR-KEY> --workspace " + ws.fullHandle(),
			"cmd-manual": `prefect config set PREFECT_CLOUD_API_URL="` + api + `"` + "\n" +
				`prefect config set PREFECT_API_URL="` + wsAPI + `"` + "\n" +
				`prefect config set PREFECT_API_KEY="<YOUR-KEY>"`,
		}
		for id, w := range want {
			if got := b.text("#" + id); got != w {
				t.Errorf("#%s reads\n%s\nwant\n%s", id, got, w)
			}
			if !b.exists(`button[data-copy="` + id + `"]`) {
				t.Errorf("#%s has no copy button", id)
			}
		}
		if got := b.text("#account-id"); got != ws.AccountID {
			t.Errorf("account id shown: %q, want %s", got, ws.AccountID)
		}
		if got := b.text("#workspace-id"); got != ws.ID {
			t.Errorf("workspace id shown: %q, want %s", got, ws.ID)
		}
		if got := b.value(`#member-list tr[data-email="` + alice.Email + `"] select`); got != "owner" {
			t.Errorf("the creator's role in the member list: %q, want owner", got)
		}
		b.screenshot("workspace-settings")

		// Create a key: shown once, with a warning.
		b.visit("/profile/api-keys")
		expiry := time.Now().UTC().AddDate(0, 0, 30).Format(time.DateOnly)
		if status := b.submit("#create-key", map[string]string{"name": "laptop", "expires": expiry}); status != http.StatusOK || b.path() != "/profile/api-keys" {
			t.Fatalf("creating a key answered %d", status)
		}
		key := b.text("#new-key")
		if !strings.HasPrefix(key, "pnu_") || len(key) < 40 {
			t.Fatalf("the new key reads %q, want a pnu_ key", key)
		}
		if card := b.text("#new-key-card"); !strings.Contains(card, "will not be shown again") {
			t.Errorf("no warning that the key is shown once: %q", card)
		}
		if !b.exists(`button[data-copy="new-key"]`) {
			t.Errorf("the new key has no copy button")
		}
		b.screenshot("api-key-created")

		// The key works with the Cloud API the Prefect CLI calls.
		c := ts.newClient(t)
		r := c.api(http.MethodGet, "/me/workspaces", key, nil)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, ws.ID) || !strings.Contains(r.Body, `"workspace_handle":"data-platform"`) {
			t.Fatalf("GET /api/me/workspaces with the new key: %d %s", r.Status, r.Body)
		}

		// From now on only its prefix is shown, in the browser and in the
		// page's HTML as the server sends it.
		b.visit("/profile/api-keys")
		if strings.Contains(b.html(), key) || b.exists("#new-key") {
			t.Fatalf("the key list shows the full key again")
		}
		row := b.text(`#key-list tbody tr`)
		for _, w := range []string{"laptop", key[:12], expiry, "ago"} {
			if !strings.Contains(row, w) {
				t.Errorf("the key's row %q lacks %q", row, w)
			}
		}
		c.signIn(alice)
		if page := c.get("/profile/api-keys"); page.Status != http.StatusOK || strings.Contains(page.Body, key) || !strings.Contains(page.Body, key[:12]) {
			t.Errorf("GET /profile/api-keys: status %d, full key present %v", page.Status, strings.Contains(page.Body, key))
		}
		b.screenshot("api-keys")

		// Delete (revoke) it, confirming.
		b.submit(`#key-list tbody tr form`, nil)
		if msg := b.dialog(); !strings.Contains(msg, "laptop") {
			t.Errorf("confirmation reads %q", msg)
		}
		if b.path() != "/profile/api-keys" || b.exists("#key-list") {
			t.Fatalf("after deleting, the browser is at %s with keys listed: %q", b.path(), b.text("main"))
		}
		if r := c.api(http.MethodGet, "/me/workspaces", key, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("the deleted key still works: %d %s", r.Status, r.Body)
		}
	})
}

// A user sees nothing of another user's workspace: every page of it is the
// not-found page, without its names or ids, and signed-out visitors are sent
// to sign in.
func TestWorkspaceIsolation(t *testing.T) {
	ts := startServer(t)
	bob := newUser("bob")
	cb := ts.newClient(t)
	cb.register(bob)
	wsB := cb.createWorkspace(bob, "Bob Secret Lab", "Quarterly numbers of bob")
	api := "/accounts/" + wsB.AccountID + "/workspaces/" + wsB.ID
	bobKey := cb.createKey("bob")
	var flow, run struct {
		ID string `json:"id"`
	}
	r := cb.api(http.MethodPost, api+"/flows/", bobKey, map[string]any{"name": "bob-secret-flow"})
	if r.Status >= 300 {
		t.Fatalf("create flow: %d %s", r.Status, r.Body)
	}
	r.decode(t, &flow)
	r = cb.api(http.MethodPost, api+"/flow_runs/", bobKey, map[string]any{"flow_id": flow.ID, "name": "bob-secret-run"})
	if r.Status >= 300 {
		t.Fatalf("create flow run: %d %s", r.Status, r.Body)
	}
	r.decode(t, &run)
	r = cb.api(http.MethodPost, api+"/events", bobKey, []any{map[string]any{"id": "5b1c0a3e-8a1d-4d57-9b0e-3f1c6f0e2a11",
		"event": "bob.secret-event", "occurred": time.Now().UTC().Format(time.RFC3339Nano), "resource": map[string]string{"prefect.resource.id": "bob.vault"}}})
	if r.Status >= 300 {
		t.Fatalf("post event: %d %s", r.Status, r.Body)
	}

	r = cb.postCSRF(wsB.path("/automations/new/json"), url.Values{"automation": {`{"name": "bob-secret-automation",
		"trigger": {"expect": ["bob.secret-event"], "posture": "Reactive"}, "actions": [{"type": "do-nothing"}]}`}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("create automation: %d %s", r.Status, r.Body)
	}
	automation := r.location()
	acct := "/account/" + wsB.AccountID
	var bot, team struct {
		ID string `json:"id"`
	}
	r = cb.api(http.MethodPost, "/accounts/"+wsB.AccountID+"/bots/", bobKey, map[string]any{"name": "bob-secret-bot"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create service account: %d %s", r.Status, r.Body)
	}
	r.decode(t, &bot)
	r = cb.api(http.MethodPost, "/accounts/"+wsB.AccountID+"/teams/", bobKey, map[string]any{"name": "bob-secret-team"})
	if r.Status != http.StatusCreated {
		t.Fatalf("create team: %d %s", r.Status, r.Body)
	}
	r.decode(t, &team)

	secrets := []string{wsB.AccountID, wsB.ID, flow.ID, run.ID, "Bob Secret Lab", wsB.Handle, "Quarterly numbers",
		bob.Handle, "bob-secret-flow", "bob-secret-run", "bob.secret-event", "bob.vault", "bob-secret-automation", "bob-secret-bot", "bob-secret-team"}
	pages := []string{wsB.path("/"), wsB.path("/dashboard"), wsB.path("/runs"), wsB.path("/runs/flow-run/" + run.ID),
		wsB.path("/flows"), wsB.path("/settings"), wsB.path("/radar"), wsB.path("/events"), wsB.path("/events?event=bob."),
		wsB.path("/automations"), wsB.path("/automations/new"), automation, wsB.path("/no-such-page"), acct + "/members",
		acct + "/service-accounts", acct + "/service-accounts/" + bot.ID, acct + "/teams", acct + "/teams/" + team.ID, acct + "/audit", acct + "/settings"}
	leaks := func(body string) []string {
		var found []string
		for _, s := range secrets {
			if strings.Contains(body, s) {
				found = append(found, s)
			}
		}
		return found
	}

	// Signed out: sent to sign in.
	anon := ts.newClient(t)
	for _, p := range pages {
		if r := anon.get(p); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/signin?next=") {
			t.Errorf("signed out, GET %s: %d to %q, want a redirect to /signin", p, r.Status, r.location())
		}
	}

	alice := newUser("alice")
	ca := ts.newClient(t)
	ca.register(alice)
	ca.createWorkspace(alice, "Alice Own", "")
	for _, p := range pages {
		r := ca.get(p)
		if r.Status != http.StatusNotFound || !strings.Contains(r.Body, "Page not found") {
			t.Errorf("as another user, GET %s: %d, want the not-found page", p, r.Status)
		}
		if l := leaks(r.Body); len(l) > 0 {
			t.Errorf("as another user, GET %s shows %q", p, l)
		}
	}
	// Nor can she change anything in it.
	forged := map[string]url.Values{
		wsB.path("/settings"):                            {"name": {"Hijacked"}, "handle": {"hijacked"}},
		wsB.path("/settings/delete"):                     {"confirm": {wsB.Handle}},
		wsB.path("/settings/members"):                    {"email": {alice.Email}, "role": {"owner"}},
		"/account/" + wsB.AccountID + "/members":         {"email": {alice.Email}, "role": {"owner"}},
		"/account/" + wsB.AccountID + "/members/x/role":  {"role": {"owner"}},
		automation + "/delete":                           nil,
		automation + "/disable":                          nil,
		automation + "/edit":                             {"automation": {`{"name": "hijacked", "trigger": {"posture": "Reactive"}, "actions": [{"type": "do-nothing"}]}`}},
		wsB.path("/automations/new/json"):                {"automation": {`{"name": "planted", "trigger": {"posture": "Reactive"}, "actions": [{"type": "do-nothing"}]}`}},
		acct + "/service-accounts":                       {"name": {"planted-bot"}},
		acct + "/service-accounts/" + bot.ID + "/delete": nil,
		acct + "/teams/" + team.ID + "/members":          {"user_id": {wsB.AccountID}},
		acct + "/teams/" + team.ID + "/delete":           nil,
	}
	for p, form := range forged {
		r := ca.postCSRF(p, form)
		if r.Status != http.StatusNotFound {
			t.Errorf("as another user, POST %s: %d, want 404", p, r.Status)
		}
		if l := leaks(r.Body); len(l) > 0 {
			t.Errorf("as another user, POST %s shows %q", p, l)
		}
	}
	if r := cb.get(acct + "/service-accounts"); r.Status != http.StatusOK || !strings.Contains(r.Body, "bob-secret-bot") || strings.Contains(r.Body, "planted-bot") {
		t.Errorf("bob's service accounts changed: %d", r.Status)
	}
	if r := cb.get(acct + "/teams/" + team.ID); r.Status != http.StatusOK || !strings.Contains(r.Body, "bob-secret-team") {
		t.Errorf("bob's team changed: %d", r.Status)
	}
	if r := cb.get(wsB.path("/settings")); r.Status != http.StatusOK || !strings.Contains(r.Body, "Bob Secret Lab") || strings.Contains(r.Body, alice.Email) {
		t.Errorf("bob's workspace changed: %d", r.Status)
	}
	// The pages alice was refused do show bob his data.
	if r := cb.get(wsB.path("/events")); r.Status != http.StatusOK || !strings.Contains(r.Body, "bob.secret-event") {
		t.Errorf("bob's event feed: %d, without his event", r.Status)
	}
	if r := cb.get(wsB.path("/automations")); r.Status != http.StatusOK || !strings.Contains(r.Body, `data-automation="bob-secret-automation"`) ||
		strings.Contains(r.Body, "hijacked") || strings.Contains(r.Body, "planted") || !strings.Contains(r.Body, `data-enabled="true"`) {
		t.Errorf("bob's automations changed: %d", r.Status)
	}

	// Nor can she see or revoke his API keys.
	created := cb.postCSRF("/profile/api-keys", url.Values{"name": {"bob-secret-key"}})
	if created.Status != http.StatusSeeOther {
		t.Fatalf("bob creating a key: %d, want a redirect", created.Status)
	}
	created = cb.get(created.location())
	key := regexp.MustCompile(`<pre id="new-key"><code>(pnu_\w+)</code>`).FindStringSubmatch(created.Body)
	keyID := regexp.MustCompile(`/profile/api-keys/([0-9a-f-]{36})/delete`).FindStringSubmatch(created.Body)
	if created.Status != http.StatusOK || key == nil || keyID == nil {
		t.Fatalf("bob creating a key: %d", created.Status)
	}
	if r := ca.get("/profile/api-keys"); strings.Contains(r.Body, "bob-secret-key") || strings.Contains(r.Body, keyID[1]) {
		t.Errorf("alice's key list shows bob's key")
	}
	if r := ca.postCSRF("/profile/api-keys/"+keyID[1]+"/delete", nil); r.Status != http.StatusNotFound {
		t.Errorf("alice revoking bob's key: %d, want 404", r.Status)
	}
	if r := cb.api(http.MethodGet, "/me/workspaces", key[1], nil); r.Status != http.StatusOK {
		t.Errorf("bob's key stopped working: %d", r.Status)
	}

	// The same in a browser: signed out, then signed in as alice.
	b := ts.newBrowser(t)
	b.visit(wsB.path("/dashboard"))
	if p := b.path(); !strings.HasPrefix(p, "/signin") {
		t.Fatalf("signed out, a workspace page shows %s, want /signin", p)
	}
	b.signIn(alice) // back to the page asked for
	if h := b.text("h1"); h != "Page not found" {
		t.Errorf("as another user the page reads %q, want Page not found", h)
	}
	if l := leaks(b.html()); len(l) > 0 {
		t.Errorf("as another user the page shows %q", l)
	}
	if b.exists("details.switcher") {
		t.Errorf("the not-found page shows a workspace switcher")
	}
	b.screenshot("not-found")
}

// Form posts without the CSRF token of the visitor's cookie are refused and
// change nothing.
func TestFormsRequireCSRFToken(t *testing.T) {
	ts := startServer(t)
	alice := newUser("alice")
	c := ts.newClient(t)
	c.register(alice)
	ws := c.createWorkspace(alice, "Keep Me", "")
	bob := newUser("bob")
	ts.newClient(t).register(bob)

	posts := []struct {
		path string
		form url.Values
	}{
		{"/workspaces/new", url.Values{"account_id": {ws.AccountID}, "name": {"Forged"}}},
		{"/profile/api-keys", url.Values{"name": {"forged key"}}},
		{ws.path("/settings"), url.Values{"name": {"Forged"}, "handle": {"forged"}, "description": {"forged"}}},
		{ws.path("/settings/delete"), url.Values{"confirm": {ws.Handle}}},
		{ws.path("/settings/members"), url.Values{"email": {bob.Email}, "role": {"owner"}}},
		{"/account/" + ws.AccountID + "/members", url.Values{"email": {bob.Email}, "role": {"owner"}}},
		{"/auth/client", url.Values{"callback": {"http://127.0.0.1:9"}, "decision": {"authorize"}}},
		{"/signout", url.Values{}},
	}
	for _, p := range posts {
		for name, token := range map[string][]string{"no token": nil, "a wrong token": {strings.Repeat("A", 43)}} {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			if token != nil {
				form["csrf_token"] = token
			}
			r := c.post(p.path, form)
			if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "did not come from Praetor") {
				t.Errorf("POST %s with %s: %d, want 403", p.path, name, r.Status)
			}
		}
	}

	// Nothing changed, and the session is intact.
	list := c.get("/workspaces")
	if list.Status != http.StatusOK || !strings.Contains(list.Body, ws.fullHandle()) || strings.Contains(list.Body, "Forged") {
		t.Errorf("workspaces after the forged posts: %d\n%s", list.Status, list.Body)
	}
	if s := c.get(ws.path("/settings")); !strings.Contains(s.Body, `value="Keep Me"`) || strings.Contains(s.Body, bob.Email) {
		t.Errorf("the workspace's settings or members changed")
	}
	if k := c.get("/profile/api-keys"); strings.Contains(k.Body, "forged key") || strings.Contains(k.Body, "prefect cli") {
		t.Errorf("a forged post created an API key")
	}
	if m := c.get("/account/" + ws.AccountID + "/members"); strings.Contains(m.Body, bob.Email) {
		t.Errorf("a forged post added an account member")
	}

	// With the token the same deletion goes through: the refusals above
	// were the token's doing.
	if r := c.postCSRF(ws.path("/settings/delete"), url.Values{"confirm": {ws.Handle}}); r.Status != http.StatusSeeOther {
		t.Fatalf("delete with the token: %d %s", r.Status, r.Body)
	}
	if r := c.get(ws.path("/settings")); r.Status != http.StatusNotFound {
		t.Errorf("the workspace survived its deletion: %d", r.Status)
	}
}

// fakeCLI is the local server `prefect cloud login` starts for the browser
// login: it accepts POST /success and /failure from any origin (CORS) and
// records them.
type fakeCLI struct {
	URL   string
	posts chan cliPost
}

type cliPost struct {
	Path string
	Body map[string]string
}

func newFakeCLI(t *testing.T) *fakeCLI {
	f := &fakeCLI{posts: make(chan cliPost, 8)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Allow-Methods", "*")
		w.Header().Set("Access-Control-Allow-Headers", "*")
		if r.Method == http.MethodOptions {
			return
		}
		if r.Method != http.MethodPost || (r.URL.Path != "/success" && r.URL.Path != "/failure") {
			http.NotFound(w, r)
			return
		}
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		f.posts <- cliPost{Path: r.URL.Path, Body: body}
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// next waits for the next post the browser sent.
func (f *fakeCLI) next(t *testing.T) cliPost {
	t.Helper()
	select {
	case p := <-f.posts:
		return p
	case <-time.After(15 * time.Second):
		t.Fatal("the browser posted nothing to the CLI's callback")
		return cliPost{}
	}
}

// `prefect cloud login` in a browser: sign in, authorize, and the CLI's
// local server receives a working key; deny, and it receives a reason.
func TestBrowserLoginForPrefectCLI(t *testing.T) {
	ts := startServer(t)
	alice := newUser("alice")
	c := ts.newClient(t)
	c.register(alice)
	ws := c.createWorkspace(alice, "CLI Home", "")
	cli := newFakeCLI(t)
	login := "/auth/client?callback=" + url.QueryEscape(cli.URL)

	b := ts.newBrowser(t)
	b.visit(login)
	if p := b.path(); !strings.HasPrefix(p, "/signin") {
		t.Fatalf("signed out, the login page shows %s, want /signin", p)
	}
	b.signIn(alice)
	if p := b.path(); p != login {
		t.Fatalf("after signing in the browser is at %s, want %s", p, login)
	}
	if h := b.text("h1"); h != "Authorize the Prefect CLI?" {
		t.Fatalf("login page reads %q", h)
	}
	b.screenshot("cli-authorize")

	b.submit("#cli-authorize", nil, `button[value="authorize"]`)
	got := cli.next(t)
	key := got.Body["api_key"]
	if got.Path != "/success" || !strings.HasPrefix(key, "pnu_") {
		t.Fatalf("the CLI received %s %v, want /success with a key", got.Path, got.Body)
	}
	b.waitVisible("#cli-sent")
	if strings.Contains(b.html(), key) {
		t.Errorf("the key stays in the page after the hand-off")
	}
	b.screenshot("cli-authorized")
	r := c.api(http.MethodGet, "/me/workspaces", key, nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, ws.ID) {
		t.Fatalf("GET /api/me/workspaces with the CLI's key: %d %s", r.Status, r.Body)
	}
	keyName := "prefect cli " + time.Now().UTC().Format(time.DateOnly)
	if page := c.get("/profile/api-keys").Body; strings.Count(page, "<td>"+keyName+"</td>") != 1 {
		t.Errorf("the key list does not show one key %q", keyName)
	}

	// Deny: the CLI hears why, and no key is made.
	b.visit(login)
	b.submit("#cli-authorize", nil, `button[value="deny"]`)
	got = cli.next(t)
	if got.Path != "/failure" || got.Body["reason"] == "" || got.Body["api_key"] != "" {
		t.Fatalf("after denying, the CLI received %s %v", got.Path, got.Body)
	}
	b.waitVisible("#cli-sent")
	if page := c.get("/profile/api-keys").Body; strings.Count(page, "<td>prefect cli ") != 1 {
		t.Errorf("denying created a key")
	}

	// The page that carries a key is never stored, and only it may reach
	// the loopback callback; other pages keep connect-src to 'self'.
	r = c.postCSRF("/auth/client", url.Values{"callback": {cli.URL}, "decision": {"authorize"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-api-key="pnu_`) {
		t.Fatalf("authorize: %d %s", r.Status, r.Body)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page with the key has Cache-Control %q, want no-store", cc)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:* http://localhost:*") {
		t.Errorf("the hand-off page's CSP: %q", csp)
	}
	if csp := c.get("/workspaces").Header.Get("Content-Security-Policy"); strings.Contains(csp, "connect-src") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("an ordinary page's CSP: %q", csp)
	}

	// A callback elsewhere than this machine's loopback is refused.
	if status := b.visit("/auth/client?callback=" + url.QueryEscape("http://example.com:8080")); status != http.StatusBadRequest {
		t.Errorf("a foreign callback answered %d, want 400", status)
	}
	if h := b.text("h1"); h != "Login refused" || b.exists("#cli-authorize") {
		t.Errorf("a foreign callback shows %q with an authorize form: %v", h, b.exists("#cli-authorize"))
	}
}

// Only the CLI's loopback callback may receive a key: every other callback
// is refused, on the page and on the post that would mint the key.
func TestBrowserLoginRefusesForeignCallbacks(t *testing.T) {
	ts := startServer(t)
	alice := newUser("alice")
	c := ts.newClient(t)
	c.register(alice)
	for _, cb := range []string{
		"", "example.com", "http://example.com:8080", "https://127.0.0.1:8080", "https://localhost:8080",
		"http://127.0.0.1.example.com:8080", "http://localhost.example.com", "http://localhost@example.com:8080",
		"http://user@127.0.0.1:8080", "http://127.0.0.1:8080/?next=http://example.com", "http://127.0.0.1:8080#x",
		"//127.0.0.1:8080", "javascript:alert(1)", "http://10.0.0.1:8080", "http://[::1]:8080", "http://127.0.0.1:0",
		"ftp://127.0.0.1:21", "http://127.0.0.1:8080\\@example.com", "http://0x7f000001:8080",
	} {
		r := c.get("/auth/client?callback=" + url.QueryEscape(cb))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "Login refused") || strings.Contains(r.Body, `id="cli-authorize"`) {
			t.Errorf("GET with callback %q: %d, want the refusal", cb, r.Status)
		}
		r = c.postCSRF("/auth/client", url.Values{"callback": {cb}, "decision": {"authorize"}})
		if r.Status != http.StatusBadRequest || strings.Contains(r.Body, "data-api-key") {
			t.Errorf("POST with callback %q: %d, want the refusal", cb, r.Status)
		}
	}
	if page := c.get("/profile/api-keys").Body; strings.Contains(page, "prefect cli") {
		t.Errorf("a refused login created a key")
	}
	for _, cb := range []string{"http://localhost:8080", "http://127.0.0.1:8080", "http://LOCALHOST:8080/"} {
		if r := c.get("/auth/client?callback=" + url.QueryEscape(cb)); r.Status != http.StatusOK || !strings.Contains(r.Body, `id="cli-authorize"`) {
			t.Errorf("GET with the CLI's callback %q: %d, want the authorize form", cb, r.Status)
		}
	}
}

// Deleting a workspace takes typing its handle and confirming.
func TestDeleteWorkspaceWithConfirmation(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	alice := newUser("alice")
	b.register(alice)
	ws := b.createWorkspace("Short Lived", "")
	keep := b.createWorkspace("Keeper", "")

	b.visit(ws.path("/settings"))
	if status := b.submit("#delete-form", map[string]string{"confirm": keep.Handle}); status != http.StatusUnprocessableEntity {
		t.Errorf("deleting with the wrong handle answered %d, want 422", status)
	}
	if msg := b.dialog(); !strings.Contains(msg, ws.fullHandle()) {
		t.Errorf("the confirmation reads %q", msg)
	}
	if e := b.text(".danger-zone .error"); !strings.Contains(e, "Type the workspace handle") {
		t.Errorf("the refusal reads %q", e)
	}
	b.visit("/workspaces")
	if !strings.Contains(b.text("#workspace-list"), ws.fullHandle()) {
		t.Fatalf("the workspace went without its handle typed")
	}

	b.visit(ws.path("/settings"))
	b.submit("#delete-form", map[string]string{"confirm": ws.Handle})
	b.dialog()
	if p := b.path(); p != "/workspaces" {
		t.Fatalf("after deleting, the browser is at %s", p)
	}
	if list := b.text("#workspace-list"); strings.Contains(list, ws.fullHandle()) || !strings.Contains(list, keep.fullHandle()) {
		t.Errorf("after deleting, the list reads %q", list)
	}
	if status := b.visit(ws.path("/settings")); status != http.StatusNotFound {
		t.Errorf("the deleted workspace's settings answered %d", status)
	}
}

// Workspace owners manage its members; everyone else reads the settings.
func TestWorkspaceMembersAndReadOnlySettings(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	bob := newUser("bob")
	b.register(bob)
	ws := b.createWorkspace("Shared", "Team space")
	alice := newUser("alice")
	ca := ts.newClient(t)
	ca.register(alice)

	// Workspace members come from the workspace's account.
	b.visit(ws.path("/settings"))
	if status := b.submit("#add-member", map[string]string{"email": alice.Email, "role": "viewer"}); status != http.StatusNotFound ||
		!strings.Contains(b.text("main"), "add them to the account first") {
		t.Errorf("adding a user of another account: %d %q", status, b.text("main"))
	}
	b.visit("/account/" + ws.AccountID + "/members")
	b.submit("#add-member", map[string]string{"email": alice.Email, "role": "member"})
	ca.accept(b.invitationPath())
	b.visit(ws.path("/settings"))
	b.submit("#add-member", map[string]string{"email": alice.Email, "role": "viewer"})
	row := `#member-list tr[data-email="` + alice.Email + `"]`
	if got := b.value(row + " select"); got != "viewer" {
		t.Fatalf("alice's role after adding her: %q", got)
	}
	b.screenshot("workspace-members")

	// A viewer reads the settings and the commands, and changes nothing.
	page := ca.get(ws.path("/settings"))
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Team space") || !strings.Contains(page.Body, `id="cmd-login"`) {
		t.Fatalf("a viewer's settings page: %d", page.Status)
	}
	for _, form := range []string{`id="workspace-form"`, `id="delete-form"`, `id="add-member"`, "/remove"} {
		if strings.Contains(page.Body, form) {
			t.Errorf("a viewer's settings page has %s", form)
		}
	}
	for p, form := range map[string]url.Values{
		ws.path("/settings"):         {"name": {"Hijacked"}, "handle": {"shared"}},
		ws.path("/settings/delete"):  {"confirm": {ws.Handle}},
		ws.path("/settings/members"): {"email": {alice.Email}, "role": {"owner"}},
	} {
		if r := ca.postCSRF(p, form); r.Status != http.StatusForbidden {
			t.Errorf("a viewer's POST %s: %d, want 403", p, r.Status)
		}
	}
	b.visit(ws.path("/settings"))
	if got := b.value(`#workspace-form [name="name"]`); got != "Shared" {
		t.Errorf("the name became %q", got)
	}
	if got := b.value(row + " select"); got != "viewer" {
		t.Errorf("alice's role became %q", got)
	}

	// The owner changes her role, then removes her.
	b.submit(row+" form.inline", map[string]string{"role": "developer"})
	if got := b.value(row + " select"); got != "developer" {
		t.Errorf("alice's role after the change: %q", got)
	}
	if page := ca.get(ws.path("/settings")); !strings.Contains(page.Body, "<dd>developer</dd>") {
		t.Errorf("alice does not see her new role")
	}
	b.submit(row+` form[action$="/remove"]`, nil)
	if msg := b.dialog(); !strings.Contains(msg, alice.Email) {
		t.Errorf("the confirmation reads %q", msg)
	}
	if b.exists(row) {
		t.Errorf("alice is still listed")
	}
	if r := ca.get(ws.path("/settings")); r.Status != http.StatusNotFound {
		t.Errorf("after her removal alice gets %d", r.Status)
	}
	// An unknown email is a message on the page, not an error page.
	if status := b.submit("#add-member", map[string]string{"email": "nobody@example.test", "role": "viewer"}); status != http.StatusNotFound ||
		!strings.Contains(b.text("main"), "add them to the account first") {
		t.Errorf("adding an unknown email: %d %q", status, b.text("main"))
	}
}

// Account owners and admins manage the account's members with the same
// rules as the API: only owners make owners.
func TestAccountMembers(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	alice, bob, carol := newUser("alice"), newUser("bob"), newUser("carol")
	b.register(alice)
	cb, cc := ts.newClient(t), ts.newClient(t)
	cb.register(bob)
	cc.register(carol)

	b.visit("/workspaces")
	b.follow(`a[href$="/members"]`)
	members := b.path()
	if !strings.HasPrefix(members, "/account/") || !strings.HasSuffix(members, "/members") {
		t.Fatalf("the members link leads to %s", members)
	}
	b.submit("#add-member", map[string]string{"email": bob.Email, "role": "admin"})
	cb.accept(b.invitationPath())
	b.visit(members)
	if got := b.value(`#member-list tr[data-email="` + bob.Email + `"] select`); got != "admin" {
		t.Fatalf("bob's role after adding him: %q", got)
	}
	acctID := strings.TrimSuffix(strings.TrimPrefix(members, "/account/"), "/members")

	// Bob, an admin, adds members but cannot make owners.
	if r := cb.get(members); r.Status != http.StatusOK || !strings.Contains(r.Body, `id="add-member"`) {
		t.Fatalf("an admin's members page: %d", r.Status)
	}
	if r := cb.postCSRF(members, url.Values{"email": {carol.Email}, "role": {"owner"}}); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "Only owners can make owners") {
		t.Errorf("an admin making an owner: %d", r.Status)
	}
	cc.join(cb, acctID, carol.Email, "member")
	// The JSON API applies the same rules (internal/tenancy holds them).
	cbKey := cb.createKey("admin")
	if r := cb.api(http.MethodPost, "/accounts/"+acctID+"/members/", cbKey, map[string]string{"email": carol.Email, "role": "owner"}); r.Status != http.StatusForbidden {
		t.Errorf("an admin making an owner through the API: %d %s", r.Status, r.Body)
	}
	var list []struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	cb.api(http.MethodGet, "/accounts/"+acctID+"/members/", cbKey, nil).decode(t, &list)
	var aliceID string
	for _, m := range list {
		if m.Email == alice.Email {
			aliceID = m.ID
		}
	}
	// An admin cannot touch an owner: no form for her row, and a forged
	// post is refused.
	if r := cb.get(members); strings.Contains(r.Body, aliceID) || strings.Contains(r.Body, `<option value="owner"`) {
		t.Errorf("an admin's page offers to change an owner, or to make owners")
	}
	if r := cb.postCSRF(members+"/"+aliceID+"/remove", nil); r.Status != http.StatusForbidden {
		t.Errorf("an admin removing the owner: %d", r.Status)
	}
	if r := cb.postCSRF(members+"/"+aliceID+"/role", url.Values{"role": {"member"}}); r.Status != http.StatusForbidden {
		t.Errorf("an admin demoting the owner: %d", r.Status)
	}

	// Carol, a member, reads only.
	if r := cc.get(members); r.Status != http.StatusOK || strings.Contains(r.Body, `id="add-member"`) || !strings.Contains(r.Body, bob.Email) {
		t.Errorf("a member's members page: %d", r.Status)
	}
	if r := cc.postCSRF(members, url.Values{"email": {carol.Email}, "role": {"admin"}}); r.Status != http.StatusForbidden {
		t.Errorf("a member adding members: %d", r.Status)
	}

	// Alice demotes bob and removes carol.
	b.visit(members)
	b.submit(`#member-list tr[data-email="`+bob.Email+`"] form.inline`, map[string]string{"role": "member"})
	if r := cb.get(members); strings.Contains(r.Body, `id="add-member"`) {
		t.Errorf("bob can still add members after his demotion")
	}
	b.submit(`#member-list tr[data-email="`+carol.Email+`"] form[action$="/remove"]`, nil)
	if msg := b.dialog(); !strings.Contains(msg, carol.Email) {
		t.Errorf("the confirmation reads %q", msg)
	}
	if r := cc.get(members); r.Status != http.StatusNotFound {
		t.Errorf("after her removal carol gets %d", r.Status)
	}
	b.screenshot("account-members")
}

// seenAndFocused waits until the element matching sel is inside the
// viewport and has the focus, so the user sees it without scrolling. (The
// browser runs autofocus at its next rendering, after the page loaded.)
func (b *browser) seenAndFocused(what, sel string) {
	b.t.Helper()
	b.eventually(what+" is in view and focused", `((sel) => {
		const el = document.querySelector(sel);
		if (!el) return false;
		const r = el.getBoundingClientRect();
		return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && document.activeElement === el;
	})(`+jsString(sel)+`)`, 5*time.Second)
}

// A refused form answers with its error inside the form, scrolled into
// view and focused: the delete confirmation sits far down the settings
// page, where a page loaded at the top hid it.
func TestFormErrorsShowWhereTheUserIs(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	alice := newUser("alice")
	b.register(alice)
	ws := b.createWorkspace("Short Lived", "")
	other := b.createWorkspace("Keeper", "")

	b.visit(ws.path("/settings"))
	if status := b.submit("#delete-form", map[string]string{"confirm": "not-" + ws.Handle}); status != http.StatusUnprocessableEntity {
		t.Fatalf("deleting with the wrong handle answered %d, want 422", status)
	}
	b.dialog()
	b.seenAndFocused("the delete refusal", "#delete-form .error")
	b.screenshot("form-error-delete")

	b.visit(ws.path("/settings"))
	if status := b.submit("#workspace-form", map[string]string{"handle": other.Handle}); status/100 != 4 {
		t.Fatalf("taking another workspace's handle answered %d", status)
	}
	b.seenAndFocused("the settings refusal", "#workspace-form .error")

	b.visit(ws.path("/settings"))
	if status := b.submit("#add-member", map[string]string{"email": "nobody@example.com"}); status/100 != 4 {
		t.Fatalf("adding a stranger answered %d", status)
	}
	b.seenAndFocused("the member refusal", "#add-member .error")
}
