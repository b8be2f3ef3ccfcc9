package auth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// ErrRateLimited is returned when too many sign-ins were attempted for an
// account or from an address.
var ErrRateLimited = errors.New("too many sign-in attempts; try again later")

// Sign-in attempts allowed per account and per address in one window.
const (
	signInAttempts = 10
	signInWindow   = 5 * time.Minute
)

// limiter counts events per key in a sliding window.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string][]time.Time
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, hits: map[string][]time.Time{}}
}

// allow records an attempt for each key and reports whether every key is
// still within its budget.
func (l *limiter) allow(now time.Time, keys ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok := true
	for _, k := range keys {
		recent := l.hits[k][:0]
		for _, t := range l.hits[k] {
			if now.Sub(t) < l.window {
				recent = append(recent, t)
			}
		}
		if len(recent) >= l.max {
			ok = false
		}
		l.hits[k] = append(recent, now)
	}
	return ok
}

// SignIn checks an email and password. Attempts are limited per account and
// per client address, whether they succeed or not.
func (a *Authenticator) SignIn(ctx context.Context, email, password, addr string) (*model.User, error) {
	if !a.signIns.allow(a.now(), "account:"+email, "addr:"+addr) {
		return nil, ErrRateLimited
	}
	u, hash, err := a.store.GetUserByEmail(ctx, email)
	if store.IsNotFound(err) {
		// Spend the same time as a real check, so timing does not reveal
		// which emails have accounts.
		_, _ = CheckPassword(dummyHash(), password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// dummyHash is a valid hash of no real password, made on first use.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword("praetor-dummy-password")
	if err != nil {
		panic(err)
	}
	return h
})
