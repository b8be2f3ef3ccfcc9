package ui_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A sign-in or registration link whose next names another host in a form
// a browser normalises ("/\t/evil.example" loses its tab and reads
// "//evil.example"; a backslash reads as a slash) leaves the visitor on
// this server, in a real browser.
func TestNextCannotLeaveTheSite(t *testing.T) {
	ts := startServer(t)
	u := newUser("wary")
	ts.newClient(t).register(u)
	b := ts.newBrowser(t)
	onSite := func(what string) {
		t.Helper()
		loc := get(b, "read the location", chromedp.Location())
		if !strings.HasPrefix(loc, ts.URL+"/") {
			t.Fatalf("%s: the browser left for %s", what, loc)
		}
		if p := b.path(); p != "/workspaces" {
			t.Fatalf("%s: at %s, want /workspaces", what, p)
		}
	}
	for _, next := range []string{"/%09/evil.example", "/%0A/evil.example", "/%5Cevil.example", "/%5C/evil.example"} {
		b.visit("/signin?next=" + next)
		if got := b.value(`form[action="/signin"] [name="next"]`); !strings.Contains(got, "evil.example") {
			t.Fatalf("the sign-in form did not carry next %q: %q", next, got)
		}
		b.signIn(u)
		onSite("sign in with next " + next)
	}
	b.visit("/register?next=" + url.QueryEscape("/\t/evil.example"))
	r := newUser("newcomer")
	b.submit(`form[action="/register"]`, map[string]string{"email": r.Email, "handle": r.Handle, "password": r.Password})
	onSite("register with a tab in next")
}
