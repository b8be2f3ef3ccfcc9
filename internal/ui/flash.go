package ui

import (
	"net/url"
	"sync"
	"time"

	"github.com/praetorhq/praetor/internal/tenancy"
)

// flash is a one-shot message a form post leaves for the page it redirects
// to (post/redirect/get): shown by that page's next load, then gone.
type flash struct {
	Text string
	// LinkURL and LinkText: where to go next, when there is an obvious
	// next step.
	LinkURL, LinkText string
	// Key is an API key just created: its one showing, on the API keys page.
	Key *tenancy.NewAPIKey
	// Invitation is an invitation just made: its link's one showing, on
	// the members page.
	Invitation *tenancy.NewInvitation
}

// Bounds of the flash store: flashes live long enough for the redirect
// that follows their post, and neither a session nor all of them together
// can grow it without limit.
const (
	flashTTL          = 5 * time.Minute
	maxFlashSessions  = 10000
	maxSessionFlashes = 8
)

// flashStore keeps pending flashes in memory, by session id (the hash of
// the session's token, never the token), so nothing of them (an API key
// least of all) travels in a URL or a cookie. One process only: replicas
// behind a load balancer would need them in the database.
type flashStore struct {
	mu      sync.Mutex
	pending map[string]*sessionFlashes
}

type sessionFlashes struct {
	expires time.Time
	byPath  map[string][]flash // page path → its flashes, oldest first
}

// put leaves f for the next load of path by session, at now.
func (s *flashStore) put(session, path string, f flash, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[string]*sessionFlashes{}
	}
	e := s.pending[session]
	if e == nil || !now.Before(e.expires) {
		if len(s.pending) >= maxFlashSessions {
			s.evict(now)
		}
		e = &sessionFlashes{byPath: map[string][]flash{}}
		s.pending[session] = e
	}
	e.expires = now.Add(flashTTL)
	n := 0
	for _, l := range e.byPath {
		n += len(l)
	}
	if n >= maxSessionFlashes {
		// A session that piles up flashes without loading the pages they
		// are for loses them all, rather than growing the store.
		e.byPath = map[string][]flash{}
	}
	e.byPath[path] = append(e.byPath[path], f)
}

// evict makes room for one more session: it drops the expired ones, or,
// when none has expired, the one that expires first.
func (s *flashStore) evict(now time.Time) {
	var first string
	for id, e := range s.pending {
		if !now.Before(e.expires) {
			delete(s.pending, id)
		} else if first == "" || e.expires.Before(s.pending[first].expires) {
			first = id
		}
	}
	if len(s.pending) >= maxFlashSessions {
		delete(s.pending, first)
	}
}

// take returns and forgets session's flashes for path, at now.
func (s *flashStore) take(session, path string, now time.Time) []flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.pending[session]
	if e == nil {
		return nil
	}
	if !now.Before(e.expires) {
		delete(s.pending, session)
		return nil
	}
	out := e.byPath[path]
	delete(e.byPath, path)
	if len(e.byPath) == 0 {
		delete(s.pending, session)
	}
	return out
}

// redirectFlash answers a successful form post: a redirect to target, whose
// next load shows f.
func (q *request) redirectFlash(target string, f flash) error {
	if u, err := url.Parse(target); err == nil && q.sessionID != "" {
		q.ui.flashes.put(q.sessionID, u.Path, f, q.ui.Clock.Now())
	}
	return q.redirect(target)
}
