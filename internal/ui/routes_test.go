package ui

import (
	"net/http"
	"strings"
	"testing"
)

// Pages are parsed on first use, so a template that does not parse would
// only show on its page: every one must parse, with the layout around it.
func TestEveryPageTemplateParses(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.pages) < 30 {
		t.Fatalf("only %d page templates", len(u.pages))
	}
	for name := range u.pages {
		tmpl, err := u.pageTemplate(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if tmpl.Lookup("layout.html") == nil || tmpl.Lookup(name) == nil {
			t.Errorf("%s: the parsed page lacks the layout or itself", name)
		}
	}
}

// Every page declares at registration what it requires: a workspace page a
// permission, an account page membership of the account, and every other
// page but the signed-out ones a signed-in user.
func TestEveryPageDeclaresItsAccess(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	u.Register(http.NewServeMux())
	signedOut := map[string]bool{"GET /{$}": true, "GET /signin": true, "POST /signin": true,
		"GET /register": true, "POST /register": true, "POST /signout": true,
		"GET /auth/sso/{provider}": true, "GET /auth/sso/{provider}/callback": true,
		// An invitation's page tells a signed-out invitee to sign in or
		// register; accepting it needs them signed in.
		"GET /invitations/{token}": true}
	if len(u.registered) < 30 {
		t.Fatalf("only %d pages registered through handle", len(u.registered))
	}
	for _, p := range u.registered {
		switch {
		case strings.Contains(p.pattern, "{workspace_id}"):
			if p.need.perm == "" || !p.need.signedIn {
				t.Errorf("%s: a workspace page without a permission", p.pattern)
			}
		case strings.Contains(p.pattern, "{account_id}"):
			if !p.need.account || !p.need.signedIn {
				t.Errorf("%s: an account page without account membership", p.pattern)
			}
		case signedOut[p.pattern]:
			if p.need != anyone {
				t.Errorf("%s: a signed-out page requires %+v", p.pattern, p.need)
			}
		case !p.need.signedIn:
			t.Errorf("%s: a page open to visitors who are not signed in", p.pattern)
		}
	}
}

// The deployment pages need what the API's deployment routes need: read to
// see, run:deployment to run, update:deployment to pause and resume; the
// forms are refused (403) rather than not found to those who can see the
// deployment.
func TestDeploymentPagesNeedTheAPIsPermissions(t *testing.T) {
	const base = "/account/{account_id}/workspace/{workspace_id}/deployments"
	pagesNeed(t, map[string]pageNeed{
		"GET " + base:                              {"read:deployment", false},
		"GET " + base + "/deployment/{id}":         {"read:deployment", false},
		"GET " + base + "/deployment/{id}/run":     {"run:deployment", false},
		"POST " + base + "/deployment/{id}/run":    {"run:deployment", true},
		"POST " + base + "/deployment/{id}/pause":  {"update:deployment", true},
		"POST " + base + "/deployment/{id}/resume": {"update:deployment", true},
	})
}

// The work pool pages need what the API's work pool routes need: read to
// see, update:work_pool to pause and resume a pool, update:work_queue a
// queue; the forms are refused (403) to those who can see the pool.
func TestWorkPoolPagesNeedTheAPIsPermissions(t *testing.T) {
	const base = "/account/{account_id}/workspace/{workspace_id}/work-pools"
	pagesNeed(t, map[string]pageNeed{
		"GET " + base:                                          {"read:work_pool", false},
		"GET " + base + "/work-pool/{name}":                    {"read:work_pool", false},
		"POST " + base + "/work-pool/{name}/pause":             {"update:work_pool", true},
		"POST " + base + "/work-pool/{name}/resume":            {"update:work_pool", true},
		"POST " + base + "/work-pool/{name}/queue/{id}/pause":  {"update:work_queue", true},
		"POST " + base + "/work-pool/{name}/queue/{id}/resume": {"update:work_queue", true},
	})
}

// The event feed needs what the API's event routes need, read:event.
func TestEventPagesNeedTheAPIsPermissions(t *testing.T) {
	pagesNeed(t, map[string]pageNeed{
		"GET /account/{account_id}/workspace/{workspace_id}/events": {"read:event", false},
	})
}

// The automations pages need what Prefect's automation routes need: read
// to see, create, update and delete to change; the forms are refused
// (403) to those who can see the automations.
func TestAutomationPagesNeedTheAPIsPermissions(t *testing.T) {
	const base = "/account/{account_id}/workspace/{workspace_id}/automations"
	const one = base + "/automation/{id}"
	pagesNeed(t, map[string]pageNeed{
		"GET " + base:                {"read:automation", false},
		"GET " + base + "/new":       {"create:automation", false},
		"POST " + base + "/new":      {"create:automation", true},
		"POST " + base + "/new/json": {"create:automation", true},
		"GET " + one:                 {"read:automation", false},
		"POST " + one + "/edit":      {"update:automation", true},
		"POST " + one + "/enable":    {"update:automation", true},
		"POST " + one + "/disable":   {"update:automation", true},
		"POST " + one + "/delete":    {"delete:automation", true},
	})
}

// pageNeed is what a page's route must declare: the permission, and
// whether a caller without it is refused with a message (403) rather than
// not found.
type pageNeed struct {
	perm   string
	denied bool
}

// pagesNeed checks that each pattern is registered with what want says.
func pagesNeed(t *testing.T, want map[string]pageNeed) {
	t.Helper()
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	u.Register(http.NewServeMux())
	for _, p := range u.registered {
		w, ok := want[p.pattern]
		if !ok {
			continue
		}
		delete(want, p.pattern)
		if string(p.need.perm) != w.perm || (p.need.denied != "") != w.denied {
			t.Errorf("%s needs %+v, want %s (refused with a message: %v)", p.pattern, p.need, w.perm, w.denied)
		}
	}
	for p := range want {
		t.Errorf("%s is not registered", p)
	}
}

// The Resume form needs what the API's resume route needs, update:flow_run;
// the form is refused (403) to those who can see the run.
func TestResumePageNeedsTheAPIsPermission(t *testing.T) {
	const base = "/account/{account_id}/workspace/{workspace_id}/runs/flow-run/{id}"
	pagesNeed(t, map[string]pageNeed{
		"GET " + base + "/resume":  {"update:flow_run", false},
		"POST " + base + "/resume": {"update:flow_run", true},
	})
}
