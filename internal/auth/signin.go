package auth

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
)

// ErrRateLimited is returned when too many sign-ins were attempted for an
// account or from an address.
var ErrRateLimited = errors.New("too many sign-in attempts; try again later")

// ErrTooManySignUps is returned when an address registered too many users.
var ErrTooManySignUps = errors.New("too many sign-ups from this address; try again later")

// Field limits, checked before any other work.
const (
	// MaxEmailLength is the longest email address (RFC 5321's path limit).
	MaxEmailLength = 254
	// MaxPasswordLength bounds passwords, in bytes.
	MaxPasswordLength = 1024
)

// Sign-in and sign-up limits.
const (
	// Sign-in checks allowed per client address in signInWindow; attempts
	// refused by a limit do not count.
	signInsPerAddr = 10
	signInWindow   = 5 * time.Minute
	// An account's first freeFailures failed sign-ins cost nothing; after
	// them each attempt must wait since the last failure, twice as long
	// with every failure from backoffBase up to backoffMax. The cap means
	// that whoever fails on purpose can delay the account's owner by at
	// most backoffMax, never lock them out; a success clears the count.
	freeFailures = 5
	backoffBase  = 5 * time.Second
	backoffMax   = time.Minute
	// failureMemory is how long an account's failures are remembered.
	failureMemory = 15 * time.Minute
	// Sign-ups allowed per client address in signUpWindow.
	signUpsPerAddr = 20
	signUpWindow   = time.Hour
	// limiterEntries bounds the keys each limit remembers: when full, the
	// stale keys go first, then the least recently used.
	limiterEntries = 10_000
)

// table maps keys to values stamped with when they were last stored, and
// holds at most max keys.
type table[V any] struct {
	max int
	ttl time.Duration // an entry not stored for this long is stale
	m   map[string]stamped[V]
}

type stamped[V any] struct {
	v  V
	at time.Time
}

func newTable[V any](max int, ttl time.Duration) *table[V] {
	return &table[V]{max: max, ttl: ttl, m: map[string]stamped[V]{}}
}

// get returns key's value, or the zero value if it has none or it is stale.
func (t *table[V]) get(now time.Time, key string) V {
	e, ok := t.m[key]
	if !ok || now.Sub(e.at) >= t.ttl {
		var zero V
		return zero
	}
	return e.v
}

// put stores v for key, making room first if the table is full.
func (t *table[V]) put(now time.Time, key string, v V) {
	if _, ok := t.m[key]; !ok && len(t.m) >= t.max {
		oldest, oldestAt := "", now
		for k, e := range t.m {
			if now.Sub(e.at) >= t.ttl {
				delete(t.m, k)
			} else if !e.at.After(oldestAt) {
				oldest, oldestAt = k, e.at
			}
		}
		if len(t.m) >= t.max {
			delete(t.m, oldest)
		}
	}
	t.m[key] = stamped[V]{v: v, at: now}
}

// window allows max events per key in any span of time.
type window struct {
	max  int
	span time.Duration
	hits *table[[]time.Time]
}

func newWindow(max int, span time.Duration) *window {
	return &window{max: max, span: span, hits: newTable[[]time.Time](limiterEntries, span)}
}

// recent returns key's events within the span before now.
func (w *window) recent(now time.Time, key string) []time.Time {
	var out []time.Time
	for _, t := range w.hits.get(now, key) {
		if now.Sub(t) < w.span {
			out = append(out, t)
		}
	}
	return out
}

func (w *window) allows(now time.Time, key string) bool { return len(w.recent(now, key)) < w.max }

func (w *window) record(now time.Time, key string) {
	w.hits.put(now, key, append(w.recent(now, key), now))
}

// failures is an account's run of failed sign-ins.
type failures struct {
	n    int
	last time.Time
}

// wait is how long after the last of n failures the next attempt must wait.
func wait(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	d := backoffBase
	for i := freeFailures; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// signInLimiter holds the per-address window and the per-account back-off.
type signInLimiter struct {
	mu       sync.Mutex
	addrs    *window
	accounts *table[failures]
}

func newSignInLimiter() *signInLimiter {
	return &signInLimiter{addrs: newWindow(signInsPerAddr, signInWindow), accounts: newTable[failures](limiterEntries, failureMemory)}
}

// admit reports whether an attempt on account from addr may be checked now,
// and if so records it: against the address, and as a failure of the
// account until finish says otherwise, so concurrent attempts cannot slip
// past the back-off together.
func (l *signInLimiter) admit(now time.Time, account, addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.accounts.get(now, account)
	if now.Before(f.last.Add(wait(f.n))) || !l.addrs.allows(now, addr) {
		return false
	}
	l.addrs.record(now, addr)
	l.accounts.put(now, account, failures{n: f.n + 1, last: now})
	return true
}

// finish settles an admitted attempt: a success clears the account's
// failures, and an attempt that failed for another reason than the
// credentials (the database, a cancelled request) is not held against it.
func (l *signInLimiter) finish(now time.Time, account string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		delete(l.accounts.m, account)
	case !errors.Is(err, ErrInvalidCredentials):
		if f := l.accounts.get(now, account); f.n > 0 {
			f.n--
			l.accounts.put(now, account, f)
		}
	}
}

// NormalizeEmail is the form in which emails are stored and compared.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// addrKey is the key limits count an address under: the address, or for
// IPv6 its /64, which a single host is commonly given whole.
func addrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// SignIn checks an email and password from a client at addr. Attempts are
// limited per address, and an account's failures delay its next attempts
// (see the limits above); emails are compared in their normal form, so a
// different spelling is the same account.
func (a *Authenticator) SignIn(ctx context.Context, email, password, addr string) (*model.User, error) {
	email = strings.TrimSpace(email)
	if len(email) > MaxEmailLength || len(password) > MaxPasswordLength {
		return nil, ErrInvalidCredentials
	}
	email = NormalizeEmail(email)
	if !a.signIns.admit(a.now(), email, addrKey(addr)) {
		return nil, ErrRateLimited
	}
	u, err := a.checkPassword(ctx, email, password)
	a.signIns.finish(a.now(), email, err)
	return u, err
}

func (a *Authenticator) checkPassword(ctx context.Context, email, password string) (*model.User, error) {
	u, hash, err := a.store.GetUserByEmail(ctx, email)
	// A user made by an identity provider has no password (an empty hash):
	// no password signs them in, and answering takes as long as for a
	// missing user.
	if apperr.IsNotFound(err) || err == nil && hash == "" {
		// Spend the same time as a real check, so timing does not reveal
		// which emails have accounts.
		if _, err := CheckPassword(ctx, dummyHash, password); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := CheckPassword(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// AllowProviderSignIn records a sign-in with an identity provider started
// from addr, or refuses it with ErrRateLimited when the address has used
// the attempts it shares with password sign-ins: each start stores a
// sign-in in progress, so unbounded starts would fill the database.
func (a *Authenticator) AllowProviderSignIn(addr string) error {
	l := a.signIns
	l.mu.Lock()
	defer l.mu.Unlock()
	now, key := a.now(), addrKey(addr)
	if !l.addrs.allows(now, key) {
		return ErrRateLimited
	}
	l.addrs.record(now, key)
	return nil
}

// AllowSignUp records a sign-up from addr, or refuses it with
// ErrTooManySignUps when the address has used its allowance: each one
// costs a password hash.
func (a *Authenticator) AllowSignUp(addr string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	now, key := a.now(), addrKey(addr)
	if !a.signUps.allows(now, key) {
		return ErrTooManySignUps
	}
	a.signUps.record(now, key)
	return nil
}

// dummyHash is a valid hash, with Praetor's parameters, of a password no
// account has.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$EPmRDvb5ZSy4A4+ws4HADQ$RXcaegxX1xIeH4TUnqvgTJG3/lSYSYQcqmuMcX73qtA"
