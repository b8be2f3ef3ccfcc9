package api

import (
	"net/http"
	"sync"

	"github.com/praetorhq/praetor/internal/auth"
)

// Bounds of what the events websockets may hold open.
const (
	// maxSocketsPerCaller bounds the sockets open at once per API key, or
	// per client address for callers without one (anonymous, or not yet
	// authenticated). A worker opens one events/in socket per flow run
	// process it runs, all with one key.
	maxSocketsPerCaller = 100
	// maxSocketCallers bounds the callers tracked, so that addresses
	// cannot grow the table without limit.
	maxSocketCallers = 10_000
	// maxWarned bounds the remembered (key, workspace) warnings; when full
	// it is emptied, so a warning may repeat but memory stays bounded.
	maxWarned = 10_000
)

// streamGuard counts open websockets per caller and remembers which
// misconfigured clients were already reported. The zero value is ready.
type streamGuard struct {
	mu     sync.Mutex
	open   map[string]int
	warned map[string]bool
}

// socketCaller names whom a socket counts against: its API key, or the
// address it comes from.
func socketCaller(r *http.Request, p *auth.Principal) string {
	if p != nil && p.KeyID != nil {
		return "key:" + p.KeyID.String()
	}
	return "addr:" + auth.ClientAddr(r)
}

// acquire counts a socket of caller, or reports false when caller has
// maxSocketsPerCaller open, or too many callers have sockets open.
func (g *streamGuard) acquire(caller string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		g.open = map[string]int{}
	}
	n, ok := g.open[caller]
	if n >= maxSocketsPerCaller || !ok && len(g.open) >= maxSocketCallers {
		return false
	}
	g.open[caller] = n + 1
	return true
}

// release uncounts a socket acquire counted.
func (g *streamGuard) release(caller string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open[caller] <= 1 {
		delete(g.open, caller)
		return
	}
	g.open[caller]--
}

// firstWarning reports whether the warning named key is new, and
// remembers it.
func (g *streamGuard) firstWarning(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.warned[key] {
		return false
	}
	if g.warned == nil || len(g.warned) >= maxWarned {
		g.warned = map[string]bool{}
	}
	g.warned[key] = true
	return true
}
