package notify

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strconv"
)

// Mailer sends the server's own mail (invitations) through the SMTP server
// the operator configured, as an email block with those settings would.
type Mailer struct {
	Sender *Sender
	// server is the SMTP settings as an email block's data.
	server map[string]any
}

// smtpSchemes maps an SMTP URL's scheme to its connection security.
var smtpSchemes = map[string]string{"smtps": SMTPSSL, "smtp": SMTPStartTLS, "smtp+insecure": SMTPInsecure}

// NewMailer returns a Mailer for an SMTP server URL,
// smtp[s|+insecure]://[user:password@]host[:port] (smtp: STARTTLS, smtps:
// TLS from the first byte, smtp+insecure: neither), sending from from.
func NewMailer(sender *Sender, rawURL, from string) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("smtp url: %w", err)
	}
	security, ok := smtpSchemes[u.Scheme]
	if !ok || u.Hostname() == "" {
		return nil, fmt.Errorf("smtp url: want smtp://, smtps:// or smtp+insecure://host[:port], got scheme %q", u.Scheme)
	}
	server := map[string]any{"smtp_server": u.Hostname(), "smtp_type": security}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("smtp url: %q is not a port", p)
		}
		server["smtp_port"] = float64(n)
	}
	if u.User != nil {
		server["username"] = u.User.Username()
		server["password"], _ = u.User.Password()
	}
	if from != "" {
		server["from_email"] = from
	}
	return &Mailer{Sender: sender, server: server}, nil
}

// Mail sends a plain text mail to one address.
func (m *Mailer) Mail(ctx context.Context, to, subject, body string) error {
	data := maps.Clone(m.server)
	data["email_to"] = []any{to}
	return m.Sender.email(ctx, data, subject, body)
}
