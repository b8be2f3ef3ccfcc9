package ui_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
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
