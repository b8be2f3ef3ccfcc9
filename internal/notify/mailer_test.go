package notify

import (
	"strconv"
	"strings"
	"testing"
)

// The server's own mail goes through the SMTP server its URL names, with
// the URL's credentials and security, to one recipient.
func TestMailerSendsThroughTheSMTPURL(t *testing.T) {
	cert, pool := testCert(t)
	for scheme, security := range smtpSchemes {
		t.Run(scheme, func(t *testing.T) {
			box, port := startSMTP(t, security, cert)
			m, err := NewMailer(&Sender{RootCAs: pool}, scheme+"://praetor:s3cret@127.0.0.1:"+strconv.Itoa(port), "Praetor <invites@example.com>")
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Mail(t.Context(), "carol@example.com", "You are invited", "Accept at http://praetor/invitations/abc"); err != nil {
				t.Fatal(err)
			}
			got := box.got()
			if len(got) != 1 {
				t.Fatalf("the server accepted %d mails", len(got))
			}
			if g := got[0]; g.user != "praetor" || g.password != "s3cret" || g.from != "invites@example.com" ||
				strings.Join(g.to, ",") != "carol@example.com" || g.tls != (security != SMTPInsecure) ||
				!strings.Contains(string(g.data), "http://praetor/invitations/abc") {
				t.Errorf("accepted %+v", g)
			}
		})
	}
	for _, bad := range []string{"http://mail.example.com", "smtp://", "smtp://host:99999", "::"} {
		if _, err := NewMailer(&Sender{}, bad, "a@example.com"); err == nil {
			t.Errorf("NewMailer(%q) accepted it", bad)
		}
	}
}
