package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// ErrInvalidCredentials is returned for an unknown, expired or revoked key
// or session. The API answers it with 401 "Invalid authentication
// credentials", as Prefect Cloud does.
var ErrInvalidCredentials = errors.New("invalid authentication credentials")

// Principal is an authenticated caller.
type Principal struct {
	UserID uuid.UUID
	// KeyID is the API key used, nil for a browser session.
	KeyID *uuid.UUID
	// KeyExpires is when that key expires, nil for never (or a session).
	KeyExpires *model.Time
	// Service says the key is a service account's (pnb_): only service
	// accounts are given those.
	Service bool
}

// Authenticator checks API keys and sessions against the store.
type Authenticator struct {
	store store.Workspaces
	log   *slog.Logger
	now   func() time.Time

	signIns *signInLimiter

	mu      sync.Mutex              // guards touched and signUps
	touched map[uuid.UUID]time.Time // when each key's last_used was last written
	signUps *window
}

// SetClock makes the authenticator read time from now (the server's
// clock), so expiries and limits can be tested without waiting.
func (a *Authenticator) SetClock(now func() time.Time) { a.now = now }

// touchEvery throttles last_used writes: a busy key would otherwise cost a
// write per request.
const touchEvery = time.Minute

// NewAuthenticator returns an authenticator over s.
func NewAuthenticator(s store.Workspaces, log *slog.Logger) *Authenticator {
	return &Authenticator{store: s, log: log, now: time.Now, touched: map[uuid.UUID]time.Time{},
		signIns: newSignInLimiter(), signUps: newWindow(signUpsPerAddr, signUpWindow)}
}

// Key authenticates an API key. It accepts the key itself or, as sent in a
// PREFECT_API_AUTH_STRING, "anything:key".
func (a *Authenticator) Key(ctx context.Context, presented string) (*Principal, error) {
	if _, after, ok := strings.Cut(presented, ":"); ok {
		presented = after
	}
	prefix := KeyPrefix(presented)
	if prefix == "" {
		return nil, ErrInvalidCredentials
	}
	k, err := a.store.GetAPIKeyByPrefix(ctx, prefix)
	if apperr.IsNotFound(err) {
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	if !KeyMatches(presented, k.Hash) {
		return nil, ErrInvalidCredentials
	}
	now := a.now()
	if k.Expires != nil && !now.Before(k.Expires.Time) {
		return nil, ErrInvalidCredentials
	}
	a.touch(ctx, k.ID, now)
	return &Principal{UserID: k.UserID, KeyID: &k.ID, KeyExpires: k.Expires, Service: strings.HasPrefix(presented, ServiceKeyPrefix)}, nil
}

func (a *Authenticator) touch(ctx context.Context, id uuid.UUID, now time.Time) {
	a.mu.Lock()
	last, seen := a.touched[id]
	due := !seen || now.Sub(last) >= touchEvery
	if due {
		a.touched[id] = now
	}
	a.mu.Unlock()
	if !due {
		return
	}
	if err := a.store.TouchAPIKey(context.WithoutCancel(ctx), id, model.At(now)); err != nil {
		a.log.Warn("record api key use", "err", err)
	}
}

// Session authenticates a browser session token.
func (a *Authenticator) Session(ctx context.Context, token string) (*Principal, *model.Session, error) {
	s, err := a.store.GetSession(ctx, HashKey(token))
	if apperr.IsNotFound(err) {
		return nil, nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, nil, err
	}
	return &Principal{UserID: s.UserID}, s, nil
}

// Credential extracts the key a request carries: "Authorization: Bearer
// <key>" (any case), or HTTP Basic carrying PREFECT_API_AUTH_STRING. It
// returns "" when the request carries none.
func Credential(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, value, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	value = strings.TrimSpace(value)
	switch strings.ToLower(scheme) {
	case "bearer":
		return value
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return ""
		}
		return string(raw)
	}
	return ""
}

// LocalRequest reports whether r is one a client on this machine sent
// straight to the server, the only kind anonymous mode serves. Its Host
// must be a loopback name or address: a page whose own domain an attacker
// re-points at 127.0.0.1 (DNS rebinding) sends that domain. And no proxy
// may have relayed it: a reverse proxy on this host connects from loopback
// on behalf of anyone, and says so in its forwarding headers.
func LocalRequest(r *http.Request) bool {
	for name := range r.Header {
		if name == "Forwarded" || name == "X-Real-Ip" || name == "Via" || strings.HasPrefix(name, "X-Forwarded-") {
			return false
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// ClientAddr is the address a request came from: the connection's, or,
// for a request one of the TrustedProxies relayed, the client its
// X-Forwarded-For names. The sign-in limits count it and the audit log
// records it.
func ClientAddr(r *http.Request) string {
	if addr, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return addr
	}
	return peerAddr(r)
}

// peerAddr is the address of the connection a request came on.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type clientAddrKey struct{}

// TrustedProxies are the reverse proxies in front of the server
// (--trusted-proxies), whose X-Forwarded-For it believes. No other
// caller's is: anyone can send the header.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies parses a comma-separated list of addresses and CIDR
// prefixes; an empty list trusts no proxy.
func ParseTrustedProxies(s string) (TrustedProxies, error) {
	var out TrustedProxies
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or a CIDR prefix", part)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (t TrustedProxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// maxForwardedHops bounds how far back X-Forwarded-For is read.
const maxForwardedHops = 16

// Handler serves next with, for a request from a trusted proxy, the client
// address its X-Forwarded-For names: the nearest hop that is not itself a
// trusted proxy. Hops further back were written by whoever the untrusted
// client is. An unreadable hop leaves the connection's address.
func (t TrustedProxies) Handler(next http.Handler) http.Handler {
	if len(t) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr, ok := t.forwardedFor(r); ok {
			r = r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, addr))
		}
		next.ServeHTTP(w, r)
	})
}

func (t TrustedProxies) forwardedFor(r *http.Request) (string, bool) {
	peer, err := netip.ParseAddr(peerAddr(r))
	if err != nil || !t.trusts(peer) {
		return "", false
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0 && i >= len(hops)-maxForwardedHops; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return "", false
		}
		if !t.trusts(a) {
			return a.Unmap().String(), true
		}
	}
	return "", false
}
