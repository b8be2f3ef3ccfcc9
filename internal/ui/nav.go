package ui

import (
	"fmt"
	"strings"

	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// The sidebar is built per request from the tables below: a workspace's
// pages show workspaceNav, the signed-in user's other pages cloudNav and
// accountNav. Adding a page to the sidebar is one line in a table; only
// pages that exist are listed (TestNavLinksServedPages checks).

// navItem is one link of the sidebar.
type navItem struct {
	label string
	path  string          // below the group's root: the workspace's, an account's, or the site's
	perm  auth.Permission // the workspace permission its page needs; "" outside workspaces
	// under marks the item current on the page at this path and on every
	// page below it (a flow run's page marks Runs).
	under string
}

// navGroup is a labelled list of items; a group none of whose items the
// viewer may open is left out.
type navGroup struct {
	label string
	items []navItem
}

// workspaceNav is the sidebar of a workspace's pages; paths are below its
// root and perms are those its routes declare (workspace_pages.go).
var workspaceNav = []navGroup{
	{"Runs", []navItem{
		{"Dashboard", "/dashboard", "read:flow_run", "/dashboard"},
		{"Runs", "/runs", "read:flow_run", "/runs"},
		{"Flows", "/flows", "read:flow", "/flows"},
	}},
	// Blocks, variables, artifacts, automations, concurrency limits and
	// events go here as their pages arrive.
	{"Orchestrate", []navItem{
		{"Deployments", "/deployments", "read:deployment", "/deployments"},
		{"Work pools", "/work-pools", "read:work_pool", "/work-pools"},
		{"Automations", "/automations", "read:automation", "/automations"},
		{"Events", "/events", "read:event", "/events"},
	}},
	{"Workspace", []navItem{
		{"Settings", "/settings", "read:workspace", "/settings"},
	}},
}

// cloudNav is the sidebar of the signed-in user's pages outside a
// workspace; accountNav's group for each of the user's accounts (below
// /account/{id}, labelled with its handle) comes between its groups.
var (
	cloudNav = []navGroup{
		{"Workspaces", []navItem{{"All workspaces", "/workspaces", "", "/workspaces"}}},
		{"You", []navItem{{"API keys", "/profile/api-keys", "", "/profile"}}},
	}
	accountNav = []navItem{{"Members", "/members", "", "/members"}, {"Service accounts", "/service-accounts", "", "/service-accounts"},
		{"Teams", "/teams", "", "/teams"}, {"Settings", "/settings", "", "/settings"}, {"Audit log", "/audit", adminAccount, "/audit"}}
)

// adminAccount marks the account items only its owners and admins see.
const adminAccount auth.Permission = "admin:account"

// navView is the sidebar as the layout renders it.
type navView struct {
	Label  string // the navigation's accessible name
	Groups []navGroupView
	// Switcher shows the workspace switcher (not on error pages).
	Switcher bool
}

type navGroupView struct {
	ID, Label string
	Links     []navLink
}

type navLink struct {
	Label, URL string
	Current    bool
	match      int // the length of the item's under when it covers the page's path
}

// frame builds the sidebar of a page (nil when signed out) and, outside a
// workspace, loads the switcher's workspaces. An error page gets only the
// user's own links, so it shows nothing of the workspace it refused.
func (u *UI) frame(q *request, page string) (*navView, error) {
	if q.User == nil {
		return nil, nil
	}
	path := q.r.URL.Path
	if q.Workspace != nil {
		nav := &navView{Label: "Workspace", Switcher: true}
		nav.add(workspaceNav, WorkspaceURL(q.Workspace), path, func(p auth.Permission) bool { return auth.Can(q.Role, p) })
		nav.markCurrent()
		return nav, nil
	}
	nav := &navView{Label: "Account"}
	all := func(auth.Permission) bool { return true }
	nav.add(cloudNav[:1], "", path, all)
	if page != "error.html" {
		nav.Switcher = true
		var err error
		if q.Workspaces, err = u.Store.ListWorkspaces(q.ctx(), q.User.ID); err != nil {
			return nil, fmt.Errorf("list workspaces: %w", err)
		}
		accounts, err := u.Store.ListAccounts(q.ctx(), q.User.ID)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, a := range accounts {
			admin := tenancy.CanAdminAccount(a.Role)
			nav.add([]navGroup{{"Account " + a.Handle, accountNav}}, "/account/"+a.ID.String(), path, func(p auth.Permission) bool { return p != adminAccount || admin })
		}
	}
	nav.add(cloudNav[1:], "", path, all)
	nav.markCurrent()
	return nav, nil
}

// markCurrent marks the one link that covers the page most closely.
func (n *navView) markCurrent() {
	var best *navLink
	for i := range n.Groups {
		for j := range n.Groups[i].Links {
			if l := &n.Groups[i].Links[j]; l.match > 0 && (best == nil || l.match > best.match) {
				best = l
			}
		}
	}
	if best != nil {
		best.Current = true
	}
}

// add appends the groups below root with the items can allows, noting
// which cover path.
func (n *navView) add(groups []navGroup, root, path string, can func(auth.Permission) bool) {
	for _, g := range groups {
		v := navGroupView{ID: fmt.Sprintf("nav-group-%d", len(n.Groups)+1), Label: g.label}
		for _, it := range g.items {
			if it.perm != "" && !can(it.perm) {
				continue
			}
			l := navLink{Label: it.label, URL: root + it.path}
			if under := root + it.under; path == under || strings.HasPrefix(path, under+"/") {
				l.match = len(under)
			}
			v.Links = append(v.Links, l)
		}
		if len(v.Links) > 0 {
			n.Groups = append(n.Groups, v)
		}
	}
}
