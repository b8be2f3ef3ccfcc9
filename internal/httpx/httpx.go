// Package httpx holds what the API and the UI both need from a request and
// for a response: the HTTP status of an application error, and the scheme
// and base URL the client reached the server at.
package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/store"
)

// statuses maps application error codes to HTTP statuses.
var statuses = map[apperr.Code]int{
	apperr.ENotFound:     http.StatusNotFound,
	apperr.EConflict:     http.StatusConflict,
	apperr.EInvalid:      http.StatusUnprocessableEntity,
	apperr.EUnauthorized: http.StatusUnauthorized,
	apperr.EForbidden:    http.StatusForbidden,
}

// Status returns the HTTP status and the message of an application error
// (a *apperr.Error, whose message is safe to show), or ok false for any other
// error, which is a bug to log and answer with a generic 500.
func Status(err error) (status int, msg string, ok bool) {
	var se *apperr.Error
	if !errors.As(err, &se) {
		return 0, "", false
	}
	status = statuses[se.Code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	return status, se.Message, true
}

// forwardedProto is the scheme a proxy in front says the client used: the
// first (outermost) value of X-Forwarded-Proto, if it is http or https.
func forwardedProto(r *http.Request) string {
	p := strings.ToLower(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto"))))
	if p == "http" || p == "https" {
		return p
	}
	return ""
}

// Secure reports whether the client reached us over HTTPS, directly or
// through a proxy that terminates TLS. The forwarded header can only add
// HTTPS, never take it away: what depends on it (Secure cookies) must not
// be weakened by a header.
func Secure(r *http.Request) bool {
	return r.TLS != nil || forwardedProto(r) == "https"
}

// BaseURL is this server's root URL as the client addressed it, for URLs
// and commands shown back to it. Behind a proxy that terminates TLS the
// request arrives as plain HTTP for an inner host, so X-Forwarded-Proto and
// X-Forwarded-Host are honoured when well formed: they only change text
// returned to whoever sent them, and no decision depends on them.
func BaseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := forwardedProto(r); p != "" {
		scheme = p
	}
	host := r.Host
	if h := strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Host"))); h != "" {
		if pu, err := url.Parse("http://" + h); err == nil && pu.Host == h && pu.Path == "" && pu.User == nil {
			host = h
		}
	}
	return scheme + "://" + host
}

// firstValue is the first of a comma-separated header's values: the one the
// outermost proxy set.
func firstValue(h string) string {
	first, _, _ := strings.Cut(h, ",")
	return first
}

// StatusClientClosed is nginx's status for a request whose client closed
// the connection before the answer.
const StatusClientClosed = 499

// ClientGone reports whether err is r's own cancellation: the client hung
// up, so the failure is no fault of the server's and nobody reads an
// answer.
func ClientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// WithActor returns r's context carrying who makes its changes, for the
// audit log: userID (nil before sign-in), the client's address as the rate
// limits see it (auth.ClientAddr: the connection's, never a forwarding
// header) and its User-Agent.
func WithActor(r *http.Request, userID *uuid.UUID) context.Context {
	return store.WithActor(r.Context(), store.Actor{UserID: userID, Addr: auth.ClientAddr(r), UserAgent: r.UserAgent()})
}
