package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// SMTP connection security, named as prefect-email's SMTPType names them.
const (
	SMTPSSL      = "SSL"      // implicit TLS from the first byte (port 465)
	SMTPStartTLS = "STARTTLS" // plain connection upgraded with STARTTLS (port 587)
	SMTPInsecure = "INSECURE" // no TLS (port 25)
)

var defaultSMTPPorts = map[string]int{SMTPSSL: 465, SMTPStartTLS: 587, SMTPInsecure: 25}

// email sends subject and body as a plain text mail through the block's
// SMTP server.
func (s *Sender) email(ctx context.Context, data map[string]any, subject, body string) error {
	b := blockData(data)
	host := b.str("smtp_server", "")
	if host == "" {
		return permanentf("smtp email: the block has no smtp_server")
	}
	security := strings.ToUpper(b.str("smtp_type", SMTPSSL))
	port, ok := defaultSMTPPorts[security]
	if !ok {
		return permanentf("smtp email: smtp_type %q is not one of SSL, STARTTLS, INSECURE", security)
	}
	if p, ok := b["smtp_port"].(float64); ok && p > 0 {
		if p != float64(int(p)) || p > 65535 {
			return permanentf("smtp email: smtp_port %v is not a port", p)
		}
		port = int(p)
	}
	username, password := b.str("username", ""), b.str("password", "")
	from, err := mail.ParseAddress(b.str("from_email", username))
	if err != nil {
		return permanentf("smtp email: from_email is not an address")
	}
	var to []*mail.Address
	list, _ := b["email_to"].([]any)
	for _, v := range list {
		raw, _ := v.(string)
		a, err := mail.ParseAddress(raw)
		if err != nil {
			return permanentf("smtp email: email_to %q is not an address", raw)
		}
		to = append(to, a)
	}
	if len(to) == 0 {
		return permanentf("smtp email: the block has no email_to")
	}
	msg, err := message(from, to, subject, body)
	if err != nil {
		return err
	}

	timeout := s.timeout()
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	tlsConfig := &tls.Config{ServerName: host, RootCAs: s.RootCAs, InsecureSkipVerify: !b.boolean("verify", true)}
	dialer := &net.Dialer{Deadline: deadline}
	var conn net.Conn
	if security == SMTPSSL {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp email: connect to %s: %w", addr, err)
	}
	defer conn.Close()
	// One deadline for the whole conversation: net/smtp has no timeouts of
	// its own, and a server that stops answering must not hold a worker.
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("smtp email: %w", err)
	}
	// Closing the connection when ctx ends unblocks any read or write.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpError("greeting", err)
	}
	defer c.Close()
	if security == SMTPStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanentf("smtp email: %s does not offer STARTTLS", addr)
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return smtpError("STARTTLS", err)
		}
	}
	if username != "" {
		// net/smtp's PLAIN refuses to send the password over a connection
		// that is neither TLS nor to localhost.
		if err := c.Auth(smtp.PlainAuth("", username, password, host)); err != nil {
			return smtpError("AUTH", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return smtpError("MAIL FROM", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a.Address); err != nil {
			return smtpError("RCPT TO "+a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return smtpError("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError("DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError("DATA", err)
	}
	// The mail is accepted once DATA ends; a failed QUIT loses nothing.
	_ = c.Quit()
	return nil
}

// smtpError classifies a failed step: a 5xx reply is permanent (a refused
// recipient, bad credentials), as is a refusal by net/smtp to send a
// password in clear; 4xx replies and network errors are not.
func smtpError(step string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &deliveryError{permanent: true, err: fmt.Errorf("smtp email: %s: %w", step, err)}
	}
	if err != nil && strings.Contains(err.Error(), "unencrypted connection") {
		return &deliveryError{permanent: true, err: fmt.Errorf("smtp email: %s: %w", step, err)}
	}
	return fmt.Errorf("smtp email: %s: %w", step, err)
}

// message is a plain text mail, its body quoted-printable; header values
// lose line breaks so that a rendered subject cannot add headers.
func message(from *mail.Address, to []*mail.Address, subject, body string) ([]byte, error) {
	var b bytes.Buffer
	recipients := make([]string, len(to))
	for i, a := range to {
		recipients[i] = a.String()
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	domain := "praetor.localhost"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 {
		domain = from.Address[i+1:]
	}
	header := [][2]string{
		{"From", from.String()},
		{"To", strings.Join(recipients, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", oneLine(subject))},
		{"Date", time.Now().Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", `text/plain; charset="utf-8"`},
		{"Content-Transfer-Encoding", "quoted-printable"},
	}
	for _, h := range header {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
		return nil, fmt.Errorf("smtp email: encode the body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("smtp email: encode the body: %w", err)
	}
	return b.Bytes(), nil
}

func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}
