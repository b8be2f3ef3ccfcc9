package ui_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var invitationLink = regexp.MustCompile(`<pre id="invitation-link"><code>([^<]+)</code>`)

// invite invites email to the account acctID as role through the members
// form, and returns the path of the invitation's link, read from the flash
// that shows it once.
func (c *client) invite(acctID, email, role string) string {
	c.t.Helper()
	r := c.postCSRF("/account/"+acctID+"/members", url.Values{"email": {email}, "role": {role}})
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("invite %s as %s: %d %s", email, role, r.Status, r.alert())
	}
	m := invitationLink.FindStringSubmatch(c.get(r.location()).Body)
	if m == nil {
		c.t.Fatalf("the members page shows no link for the invitation of %s", email)
	}
	link, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		c.t.Fatal(err)
	}
	return link.Path
}

// join has inviter invite email, this client's user, to the account acctID
// as role, and accepts the invitation: the way anyone joins an account.
func (c *client) join(inviter *client, acctID, email, role string) {
	c.t.Helper()
	c.accept(inviter.invite(acctID, email, role))
}

// invitationPath is the path of the invitation link the browser's members
// page shows after an invitation.
func (b *browser) invitationPath() string {
	b.t.Helper()
	link, err := url.Parse(strings.TrimSpace(b.text("#invitation-link")))
	if err != nil || link.Path == "" {
		b.t.Fatalf("the members page shows no invitation link: %v", err)
	}
	return link.Path
}

// accept accepts the invitation at path as this client's user.
func (c *client) accept(path string) {
	c.t.Helper()
	if r := c.postCSRF(path, nil); r.Status != http.StatusSeeOther {
		c.t.Fatalf("accept the invitation: %d %s", r.Status, r.alert())
	}
}

// The invitation page, over HTTP: another signed-in user is told whose it
// is and cannot accept it; a revoked link is not valid; the page tells no
// cache or other site its address.
func TestInvitationPageRefusesOthers(t *testing.T) {
	ts := startServer(t)
	owner, invitee, other := newUser("owen"), newUser("ivan"), newUser("oscar")
	co, cx := ts.newClient(t), ts.newClient(t)
	co.register(owner)
	cx.register(other)
	acct := co.ownAccountID(owner)
	link := co.invite(acct, invitee.Email, "member")

	page := cx.get(link)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Only "+invitee.Email+" can accept") || strings.Contains(page.Body, `id="accept-invitation"`) {
		t.Errorf("another user's view of the invitation: %d", page.Status)
	}
	if page.Header.Get("Cache-Control") != "no-store" || page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("the invitation page's headers: %v", page.Header)
	}
	if r := cx.postCSRF(link, nil); r.Status != http.StatusForbidden || !strings.Contains(r.alert(), "another email") {
		t.Errorf("another user accepts: %d %q", r.Status, r.alert())
	}
	if strings.Contains(co.get("/account/"+acct+"/members").Body, other.Email) {
		t.Errorf("the other user joined the account")
	}
	// Revoked from the members page, the link no longer works.
	members := co.get("/account/" + acct + "/members").Body
	revoke := regexp.MustCompile(`action="(/account/[^"]+/invitations/[^"]+/revoke)"`).FindStringSubmatch(members)
	if revoke == nil {
		t.Fatal("the members page offers no revoke")
	}
	if r := co.postCSRF(revoke[1], nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.Status, r.alert())
	}
	ci := ts.newClient(t)
	ci.register(invitee)
	if r := ci.get(link); r.Status != http.StatusNotFound || !strings.Contains(r.Body, "not valid") {
		t.Errorf("a revoked invitation's page: %d", r.Status)
	}
	if r := ci.postCSRF(link, nil); r.Status != http.StatusNotFound {
		t.Errorf("accepting a revoked invitation: %d", r.Status)
	}
}
