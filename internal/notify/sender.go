package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds one delivery when neither the Sender nor the block
// says otherwise (Prefect's custom webhook defaults to 10 s too).
const DefaultTimeout = 10 * time.Second

// userAgent is what Prefect's notification blocks send (apprise's app id
// and the custom webhook's header), so receivers that look for it keep
// working.
const userAgent = "Prefect Notifications"

// Sender delivers notifications through blocks whose data it is given in
// clear, secrets included. Its zero value is ready to use.
type Sender struct {
	// Timeout bounds one delivery: connecting, TLS, sending and reading the
	// answer. Zero is DefaultTimeout; a custom webhook's own timeout field
	// can shorten it.
	Timeout time.Duration
	// RootCAs verifies servers' certificates (HTTPS, SMTP over TLS); nil is
	// the system's pool.
	RootCAs *x509.CertPool
}

// deliveryError is a failed delivery, which retrying may or may not help.
type deliveryError struct {
	permanent bool
	err       error
}

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

func permanentf(format string, args ...any) error {
	return &deliveryError{permanent: true, err: fmt.Errorf(format, args...)}
}

// Permanent reports whether retrying a failed delivery cannot help: the
// receiver refused it (a 4xx other than 408 and 429, a 5xx SMTP reply),
// the block is unusable, or a certificate does not verify. Timeouts, 5xx
// HTTP answers and refused connections are not permanent.
func Permanent(err error) bool {
	var d *deliveryError
	if errors.As(err, &d) {
		return d.permanent
	}
	var cert *tls.CertificateVerificationError
	return errors.As(err, &cert)
}

// Response is what a webhook answered, for the record of a delivery.
type Response struct {
	StatusCode int         `json:"status_code"`
	Body       string      `json:"response_body"`    // at most maxResponseBody bytes
	Header     http.Header `json:"response_headers"` // without credentials
}

const maxResponseBody = 1000 // Prefect records as much of a webhook's answer

// Notify sends subject and body through a notification block of the given
// type (Prefect's SendNotification action).
func (s *Sender) Notify(ctx context.Context, blockTypeSlug string, data map[string]any, subject, body string) error {
	switch blockTypeSlug {
	case SlugSlack:
		return s.slack(ctx, data, subject, body)
	case SlugTeams:
		return s.teams(ctx, data, subject, body)
	case SlugCustomWebhook:
		return s.customWebhook(ctx, data, subject, body)
	case SlugSMTP:
		return s.email(ctx, data, subject, body)
	}
	return permanentf("block type %q cannot send notifications", blockTypeSlug)
}

// CallWebhook sends payload as the body of a request through a webhook
// block (Prefect's CallWebhook action). Unlike Prefect, which records any
// answer as executed, an answer other than 2xx is an error, so the
// executor retries it.
func (s *Sender) CallWebhook(ctx context.Context, data map[string]any, payload string) (*Response, error) {
	b := blockData(data)
	method := b.str("method", http.MethodPost)
	if !validMethod(method) {
		return nil, permanentf("webhook block: method %q is not one of GET, POST, PUT, PATCH, DELETE", method)
	}
	target, err := b.url("url")
	if err != nil {
		return nil, err
	}
	headers, err := b.stringMap("headers")
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, target.String(), strings.NewReader(payload))
	if err != nil {
		return nil, permanentf("webhook block: %v", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return s.do(req, b.boolean("allow_private_urls", true), b.boolean("verify", true), 0)
}

// do sends req and reads its answer; a status other than 2xx is an error.
// Errors name the request by its method and host only: the URL of a
// webhook is often its secret.
func (s *Sender) do(req *http.Request, allowPrivate, verify bool, timeout time.Duration) (*Response, error) {
	if timeout <= 0 || timeout > s.timeout() {
		timeout = s.timeout()
	}
	dialer := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		// Checked on the address connected to, after DNS and on every
		// redirect, so that a name resolving to a private address cannot
		// slip through between a check and the connection.
		dialer.Control = refusePrivate
	}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: s.RootCAs, InsecureSkipVerify: !verify},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		DisableKeepAlives:     true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: timeout}
	where := req.Method + " " + req.URL.Scheme + "://" + req.URL.Host
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var refused *privateAddressError
		if errors.As(err, &refused) {
			return nil, &deliveryError{permanent: true, err: fmt.Errorf("%s: %w", where, err)}
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, fmt.Errorf("%s: read the answer: %w", where, err)
	}
	// Drain a little more so the server is not cut off mid-answer; the
	// rest is not needed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	out := &Response{StatusCode: resp.StatusCode, Body: string(body), Header: safeHeaders(resp.Header)}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return out, nil
	}
	err = fmt.Errorf("%s: answered %s", where, resp.Status)
	retryable := resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests
	return out, &deliveryError{permanent: !retryable, err: err}
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

// safeHeaders drops the headers of an answer that may carry credentials.
func safeHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		l := strings.ToLower(k)
		if strings.Contains(l, "cookie") || strings.Contains(l, "auth") || strings.Contains(l, "token") ||
			strings.Contains(l, "key") || strings.Contains(l, "secret") {
			continue
		}
		out[k] = v
	}
	return out
}

type privateAddressError struct{ ip net.IP }

func (e *privateAddressError) Error() string {
	return fmt.Sprintf("%s is a private address and the block does not allow private URLs", e.ip)
}

var sharedAddressSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// refusePrivate refuses a connection to an address that is not public,
// for blocks with allow_private_urls false (as Prefect's
// validate_restricted_url does).
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return &privateAddressError{ip}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedAddressSpace.Contains(ip) {
		return &privateAddressError{ip}
	}
	return nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// postJSON posts v as JSON to the block's url with the headers Prefect's
// notification blocks send.
func (s *Sender) postJSON(ctx context.Context, b blockData, v any, contentType, accept string) error {
	target, err := b.url("url")
	if err != nil {
		return err
	}
	payload, err := marshalJSON(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(payload))
	if err != nil {
		return permanentf("%s", err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", accept)
	_, err = s.do(req, b.boolean("allow_private_urls", true), true, 0)
	return err
}

// marshalJSON encodes v compactly without escaping <, > and & (which
// Slack and Teams would show as they are).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode the payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// blockData reads a block document's data, whose values come from JSON.
type blockData map[string]any

func (b blockData) str(key, def string) string {
	if v, ok := b[key].(string); ok && v != "" {
		return v
	}
	return def
}

func (b blockData) boolean(key string, def bool) bool {
	if v, ok := b[key].(bool); ok {
		return v
	}
	return def
}

// url is the block's URL at key: http or https, with a host.
func (b blockData) url(key string) (*url.URL, error) {
	raw, ok := b[key].(string)
	if !ok || raw == "" {
		return nil, permanentf("the block has no %s", key)
	}
	return parseURL(raw)
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	// The parse error quotes the URL, which may be secret.
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, permanentf("the block's URL is not an http or https URL with a host")
	}
	return u, nil
}

// stringMap is an object of strings at key (nil when absent).
func (b blockData) stringMap(key string) (map[string]string, error) {
	raw, ok := b[key]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, permanentf("the block's %s is not an object", key)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			s = str(v)
		}
		out[k] = s
	}
	return out, nil
}
