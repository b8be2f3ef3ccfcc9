package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/roles"
)

// Every sidebar item links a page that exists, which is served by its own
// route (not the not-found catch-all), needs exactly the permission the
// item declares, and marks the item current.
func TestNavLinksServedPages(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Register(mux)
	needs := map[string]need{}
	for _, p := range u.registered {
		needs[p.pattern] = p.need
	}
	check := func(root string, it navItem, want func(need) bool) {
		t.Helper()
		_, pattern := mux.Handler(httptest.NewRequest(http.MethodGet, root+it.path, nil))
		n, ok := needs[pattern]
		if !ok || !strings.HasPrefix(pattern, "GET ") || strings.HasSuffix(pattern, "/") {
			t.Errorf("%s links %s, which no page of its own serves (%q)", it.label, it.path, pattern)
			return
		}
		perm := n.perm
		if n.admin {
			perm = adminAccount
		}
		if perm != it.perm || !want(n) {
			t.Errorf("%s declares %q; its page %s needs %+v", it.label, it.perm, pattern, n)
		}
		if it.path != it.under && !strings.HasPrefix(it.path, it.under+"/") {
			t.Errorf("%s's own page %s does not mark it current (under %s)", it.label, it.path, it.under)
		}
	}
	ws := "/account/" + uuid.NewString() + "/workspace/" + uuid.NewString()
	for _, g := range workspaceNav {
		for _, it := range g.items {
			check(ws, it, func(n need) bool { return n.signedIn && n.perm != "" })
		}
	}
	for _, g := range cloudNav {
		for _, it := range g.items {
			check("", it, func(n need) bool { return n.signedIn && !n.account })
		}
	}
	for _, it := range accountNav {
		check("/account/"+uuid.NewString(), it, func(n need) bool { return n.account })
	}
}

// The sidebar lists only the items the viewer's role may open, leaves out
// groups left empty, and marks the one item that covers the page most
// closely.
func TestNavShowsWhatTheRoleMayOpen(t *testing.T) {
	groups := []navGroup{
		{"Runs", []navItem{{"Runs", "/runs", "read:flow_run", "/runs"}, {"Run one", "/runs/new", "create:flow_run", "/runs/new"}}},
		{"Empty", nil},
		{"Owners", []navItem{{"Manage", "/manage", auth.ManageWorkspace, "/manage"}}},
	}
	links := func(role, path string) (out []string) {
		n := &navView{}
		n.add(groups, "/w", path, func(p auth.Permission) bool { return auth.Can(role, p) })
		n.markCurrent()
		for _, g := range n.Groups {
			for _, l := range g.Links {
				s := g.Label + ":" + l.URL
				if l.Current {
					s += "*"
				}
				out = append(out, s)
			}
		}
		return out
	}
	for _, c := range []struct {
		role, path, want string
	}{
		{roles.WorkspaceViewer, "/w/runs/flow-run/x", "Runs:/w/runs*"},
		{roles.WorkspaceDeveloper, "/w/runs", "Runs:/w/runs* Runs:/w/runs/new"},
		{roles.WorkspaceDeveloper, "/w/runs/new", "Runs:/w/runs Runs:/w/runs/new*"},
		{roles.WorkspaceOwner, "/w/manage", "Runs:/w/runs Runs:/w/runs/new Owners:/w/manage*"},
		{roles.WorkspaceOwner, "/w/runsx", "Runs:/w/runs Runs:/w/runs/new Owners:/w/manage"},
	} {
		if got := strings.Join(links(c.role, c.path), " "); got != c.want {
			t.Errorf("%s on %s: %s, want %s", c.role, c.path, got, c.want)
		}
	}
}

// Every colour is a custom property of app.css's :root blocks (one per
// theme), so the dark theme reaches all of them: no colour literal
// elsewhere in the stylesheet, and no colour or inline style in the
// templates or the Go that fills them (the SVG charts take currentColor
// and the variables).
func TestColoursAreThemeVariables(t *testing.T) {
	literal := regexp.MustCompile(`#[0-9a-fA-F]{3,8}\b|\b(rgba?|hsla?|hwb|lab|lch|oklab|oklch)\(|(^|[\s:,(])(white|black)([\s;,)]|$)`)
	css, err := fs.ReadFile(files, "static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	rest := regexp.MustCompile(`:root \{[^}]*\}`).ReplaceAllString(string(css), "")
	rest = regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(rest, "")
	for i, line := range strings.Split(rest, "\n") {
		if literal.MatchString(line) {
			t.Errorf("app.css: a colour outside the theme variables: %q (line %d of the rest)", strings.TrimSpace(line), i+1)
		}
	}
	attr := regexp.MustCompile(`\b(style|fill|stroke|color|bgcolor)="`)
	fs.WalkDir(files, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, _ := fs.ReadFile(files, p)
		if m := attr.Find(body); m != nil {
			t.Errorf("%s sets a colour or style inline: %s", p, m)
		}
		return nil
	})
	goFiles, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range goFiles {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := regexp.MustCompile(`(fill|stroke|style|color)=|#[0-9a-fA-F]{6}\b`).Find(body); m != nil {
			t.Errorf("%s writes a colour into the page: %s", p, m)
		}
	}
}
