package ui_test

import (
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/praetorhq/praetor/internal/server"
)

// inbox is a local SMTP server's record of the mails it accepted: their
// recipients and plain text bodies.
type inbox struct {
	mu    sync.Mutex
	mails []struct{ to, body string }
}

type inboxSession struct {
	box *inbox
	to  string
}

func (s *inboxSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *inboxSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *inboxSession) Reset()                                    {}
func (s *inboxSession) Logout() error                             { return nil }
func (s *inboxSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	s.box.mails = append(s.box.mails, struct{ to, body string }{s.to, string(body)})
	return nil
}

// startInbox serves SMTP without TLS on loopback and returns its URL.
func startInbox(t *testing.T) (*inbox, string) {
	box := &inbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &inboxSession{box: box}, nil }))
	srv.Domain, srv.ReadTimeout, srv.WriteTimeout = "localhost", 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return box, "smtp+insecure://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

var mailedLink = regexp.MustCompile(`http://[^\s]+/invitations/[A-Za-z0-9_-]+`)

// An invitation in real Chromium: the owner invites an email with a
// workspace role, the server mails the link, the invitee opens it signed
// out, registers with that email from it, accepts, and finds the
// workspace; the owner's audit page shows it all.
func TestInvitationAcceptedInTheBrowser(t *testing.T) {
	box, smtpURL := startInbox(t)
	ts := startServerWith(t, server.Config{SMTPURL: smtpURL, SMTPFrom: "Praetor <praetor@example.test>"})
	owner, invitee := newUser("olga"), newUser("ines")
	b := ts.newBrowser(t)
	b.register(owner)
	ws := b.createWorkspace("Team Space", "")

	b.visit("/account/" + ws.AccountID + "/members")
	b.submit("#add-member", map[string]string{"email": invitee.Email, "role": "member", "workspace:" + ws.ID: "runner"})
	if got := b.text("#flashes"); !strings.Contains(got, "mailed them the link") {
		t.Errorf("the flash after inviting reads %q", got)
	}
	shown := strings.TrimSpace(b.text("#invitation-link"))
	if !b.exists(`#invitation-list tr[data-email="` + invitee.Email + `"]`) {
		t.Errorf("the open invitations do not list %s", invitee.Email)
	}
	b.screenshot("account-invitation")
	box.mu.Lock()
	mails := box.mails
	box.mu.Unlock()
	if len(mails) != 1 || mails[0].to != invitee.Email || mailedLink.FindString(mails[0].body) != shown {
		t.Fatalf("mailed %+v, want one mail to %s with the link %s", mails, invitee.Email, shown)
	}

	// The invitee, in a browser of their own, follows the mailed link.
	ib := ts.newBrowser(t)
	link := shown[strings.Index(shown, "/invitations/"):]
	ib.visit(link)
	if got := ib.text("#invitation"); !strings.Contains(got, owner.Handle) || !strings.Contains(got, invitee.Email) {
		t.Errorf("the invitation page reads %q", got)
	}
	ib.follow(`#invitation a[href^="/register"]`)
	if got := ib.value(`form[action="/register"] [name="email"]`); got != invitee.Email {
		t.Errorf("the registration form has the email %q, want the invited one", got)
	}
	ib.submit(`form[action="/register"]`, map[string]string{"display_name": invitee.Name, "handle": invitee.Handle, "password": invitee.Password})
	if p := ib.path(); p != link {
		t.Fatalf("after registering the invitee is at %s, want back at the invitation", p)
	}
	ib.screenshot("invitation")
	ib.submit("#accept-invitation", nil)
	if p := ib.path(); p != "/workspaces" || !strings.Contains(ib.text("#flashes"), "You joined the account "+owner.Handle) {
		t.Fatalf("after accepting the invitee is at %s: %q", p, ib.text("main"))
	}
	if !ib.exists(`a[href^="` + ws.path("") + `"]`) {
		t.Errorf("the invitee's workspaces do not list %s", ws.fullHandle())
	}
	if r := ib.visit(ws.path("/settings")); r != 200 || !strings.Contains(ib.text("main"), "runner") {
		t.Errorf("the invitee's settings page of the workspace: %d %q", r, ib.text("main"))
	}
	// The link worked once.
	ib.visit(link)
	if got := ib.text("#invitation"); !strings.Contains(got, "not valid") {
		t.Errorf("the used link's page reads %q", got)
	}

	b.visit("/account/" + ws.AccountID + "/audit")
	for _, event := range []string{"invitation.created", "invitation.accepted", "account-member.added", "workspace-member.role-changed"} {
		if !b.exists(`#audit-log tr[data-event="` + event + `"]`) {
			t.Errorf("the audit page has no %s", event)
		}
	}
	b.screenshot("account-audit-log")
	b.submit("#audit-filter", map[string]string{"event": "invitation.accepted"})
	if rows := b.text("#audit-log tbody"); strings.Contains(rows, "invitation.created") || !strings.Contains(rows, invitee.Email) {
		t.Errorf("the audit page filtered to acceptances shows %q", rows)
	}
}
