package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// testCert is a certificate for 127.0.0.1 and the pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "praetor test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// mailbox is a local SMTP server's record of what it accepted.
type mailbox struct {
	mu    sync.Mutex
	mails []accepted
	// rcptCode, when set, is the reply to every RCPT TO.
	rcptCode int
}

type accepted struct {
	user, password, from string
	to                   []string
	tls                  bool
	data                 []byte
}

type session struct {
	box  *mailbox
	conn *smtp.Conn
	cur  accepted
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != "s3cret" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.cur.user, s.cur.password = user, pass
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.box.rcptCode != 0 {
		return &smtp.SMTPError{Code: s.box.rcptCode, EnhancedCode: smtp.EnhancedCode{s.box.rcptCode / 100, 1, 1}, Message: "no such user"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, s.cur)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = accepted{} }
func (s *session) Logout() error { return nil }

func (b *mailbox) got() []accepted {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]accepted(nil), b.mails...)
}

// startSMTP serves SMTP on loopback with security as the block names it,
// requiring authentication over TLS unless it is INSECURE; it answers the
// port.
func startSMTP(t *testing.T, security string, cert tls.Certificate) (*mailbox, int) {
	t.Helper()
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{box: box, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(t.Output(), "smtp server: ", 0)
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch security {
	case SMTPStartTLS:
		srv.TLSConfig = tlsConfig
	case SMTPSSL:
		l = tls.NewListener(l, tlsConfig)
	case SMTPInsecure:
		srv.AllowInsecureAuth = true
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return box, l.Addr().(*net.TCPAddr).Port
}

func smtpBlock(security string, port int) map[string]any {
	return map[string]any{
		// The store decodes numbers as json.Number.
		"smtp_server": "127.0.0.1", "smtp_port": json.Number(strconv.Itoa(port)), "smtp_type": security,
		"username": "praetor", "password": "s3cret", "from_email": "Praetor <alerts@example.com>",
		"email_to": []any{"ops@example.com", "Night Shift <night@example.com>"},
	}
}

// TestEmailThroughSMTP sends a mail through a local SMTP server over each
// kind of connection, logging in, and reads it as received.
func TestEmailThroughSMTP(t *testing.T) {
	cert, pool := testCert(t)
	s := &Sender{RootCAs: pool}
	for _, security := range []string{SMTPInsecure, SMTPStartTLS, SMTPSSL} {
		t.Run(security, func(t *testing.T) {
			box, port := startSMTP(t, security, cert)
			subject := "Flow run nightly-etl Failed ✗\r\nBcc: evil@example.com"
			body := "Flow run nightly-etl observed in state `Failed`.\nFlow run URL: http://praetor/runs/1?a=b"
			if err := s.Notify(t.Context(), "smtp-email", smtpBlock(security, port), subject, body); err != nil {
				t.Fatal(err)
			}
			got := box.got()
			if len(got) != 1 {
				t.Fatalf("the server accepted %d mails", len(got))
			}
			m := got[0]
			if m.user != "praetor" || m.password != "s3cret" || m.from != "alerts@example.com" ||
				strings.Join(m.to, ",") != "ops@example.com,night@example.com" || m.tls != (security != SMTPInsecure) {
				t.Errorf("envelope %+v", m)
			}
			msg, err := mail.ReadMessage(strings.NewReader(string(m.data)))
			if err != nil {
				t.Fatal(err)
			}
			dec := new(mime.WordDecoder)
			gotSubject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
			if err != nil {
				t.Fatal(err)
			}
			if gotSubject != "Flow run nightly-etl Failed ✗ Bcc: evil@example.com" || msg.Header.Get("Bcc") != "" {
				t.Errorf("Subject %q, Bcc %q: a rendered subject must not add headers", gotSubject, msg.Header.Get("Bcc"))
			}
			if from := msg.Header.Get("From"); from != `"Praetor" <alerts@example.com>` {
				t.Errorf("From %q", from)
			}
			if to := msg.Header.Get("To"); to != `<ops@example.com>, "Night Shift" <night@example.com>` {
				t.Errorf("To %q", to)
			}
			text, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			// DATA ends the message with a line break.
			if want := strings.ReplaceAll(body, "\n", "\r\n") + "\r\n"; string(text) != want {
				t.Errorf("body %q, want %q", text, want)
			}
		})
	}
}

// TestEmailFailures: a certificate that does not verify, a refused
// recipient or bad credentials are permanent; a server's 4xx and a
// closed port are not.
func TestEmailFailures(t *testing.T) {
	cert, pool := testCert(t)
	for _, security := range []string{SMTPStartTLS, SMTPSSL} {
		box, port := startSMTP(t, security, cert)
		err := (&Sender{}).Notify(t.Context(), "smtp-email", smtpBlock(security, port), "s", "b")
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) || !Permanent(err) {
			t.Errorf("%s to an untrusted certificate: %v, want a permanent verification error", security, err)
		}
		if n := len(box.got()); n != 0 {
			t.Errorf("%s: the server accepted %d mails over an unverified connection", security, n)
		}
		block := smtpBlock(security, port)
		block["verify"] = false
		if err := (&Sender{}).Notify(t.Context(), "smtp-email", block, "s", "b"); err != nil {
			t.Errorf("%s with verify false: %v", security, err)
		}
	}

	s := &Sender{RootCAs: pool}
	box, port := startSMTP(t, SMTPStartTLS, cert)
	for _, c := range []struct {
		name      string
		rcptCode  int
		password  string
		permanent bool
	}{
		{"recipient refused", 550, "s3cret", true},
		{"mailbox busy", 451, "s3cret", false},
		{"bad password", 0, "wrong", true},
	} {
		box.rcptCode = c.rcptCode
		block := smtpBlock(SMTPStartTLS, port)
		block["password"] = c.password
		err := s.Notify(t.Context(), "smtp-email", block, "s", "b")
		if err == nil || Permanent(err) != c.permanent {
			t.Errorf("%s: %v, want permanent %v", c.name, err, c.permanent)
		}
	}
	box.rcptCode = 0

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := s.Notify(t.Context(), "smtp-email", smtpBlock(SMTPStartTLS, closedPort), "s", "b"); err == nil || Permanent(err) {
		t.Errorf("closed port: %v, want a retryable error", err)
	}

	// A plain server offers no STARTTLS: the block's STARTTLS must not
	// fall back to sending the password in clear.
	_, plainPort := startSMTP(t, SMTPInsecure, cert)
	if err := s.Notify(t.Context(), "smtp-email", smtpBlock(SMTPStartTLS, plainPort), "s", "b"); err == nil || !Permanent(err) {
		t.Errorf("STARTTLS to a server without it: %v, want permanent", err)
	}

	for name, change := range map[string]func(map[string]any){
		"no server":     func(b map[string]any) { delete(b, "smtp_server") },
		"no recipients": func(b map[string]any) { b["email_to"] = []any{} },
		"bad recipient": func(b map[string]any) { b["email_to"] = []any{"not an address"} },
		"bad type":      func(b map[string]any) { b["smtp_type"] = "TLS13" },
		"bad port":      func(b map[string]any) { b["smtp_port"] = json.Number("70000") },
	} {
		block := smtpBlock(SMTPStartTLS, port)
		change(block)
		if err := s.Notify(t.Context(), "smtp-email", block, "s", "b"); err == nil || !Permanent(err) {
			t.Errorf("%s: %v, want permanent", name, err)
		}
	}
	if n := len(box.got()); n != 0 {
		t.Errorf("the server accepted %d mails", n)
	}
}
