package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/roles"
)

func TestPasswordHash(t *testing.T) {
	ctx := t.Context()
	h, err := HashPassword(ctx, "s3cret-passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := CheckPassword(ctx, h, "s3cret-passw0rd"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(ctx, h, "s3cret-passw0rD"); ok {
		t.Fatal("wrong password accepted")
	}
	if h2, _ := HashPassword(ctx, "s3cret-passw0rd"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if ok, err := CheckPassword(ctx, dummyHash, "s3cret-passw0rd"); ok || err != nil || !strings.HasPrefix(dummyHash, h[:strings.LastIndex(h[:strings.LastIndex(h, "$")], "$")]) {
		t.Fatalf("the dummy hash is not a hash with the current parameters: %v %v", ok, err)
	}
	if _, err := CheckPassword(ctx, "$bcrypt$x", "p"); err == nil {
		t.Fatal("malformed hash accepted")
	}
}

func TestKeys(t *testing.T) {
	key, prefix, hash, err := NewKey(UserKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != len(UserKeyPrefix)+36 || !strings.HasPrefix(key, prefix) || KeyPrefix(key) != prefix {
		t.Fatalf("key %q prefix %q", key, prefix)
	}
	if strings.Contains(hash, key[len(prefix):]) || !KeyMatches(key, hash) || KeyMatches(key+"x", hash) {
		t.Fatal("hash does not identify the key")
	}
	other, _, _, _ := NewKey(UserKeyPrefix)
	if other == key {
		t.Fatal("two keys are equal")
	}
	for _, bad := range []string{"", "pnu_short", "xyz_" + key[4:], "Bearer " + key} {
		if KeyPrefix(bad) != "" {
			t.Errorf("KeyPrefix(%q) accepted", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	cases := []struct {
		role string
		perm Permission
		want bool
	}{
		{roles.WorkspaceViewer, "read:flow_run", true},
		{roles.WorkspaceViewer, "update:flow_run", false},
		{roles.WorkspaceRunner, "run:deployment", true},
		{roles.WorkspaceRunner, "create:flow", false},
		{roles.WorkspaceDeveloper, "delete:flow_run", true},
		{roles.WorkspaceDeveloper, ManageMembership, false},
		{roles.WorkspaceOwner, ManageMembership, true},
		{roles.WorkspaceWorker, "update:flow_run", true},
		{roles.WorkspaceWorker, "delete:flow", false},
		{roles.WorkspaceWorker, "poll:work_pool", true},
		{roles.WorkspaceWorker, "update:worker", true},
		{roles.WorkspaceWorker, "update:work_pool", false},
		{roles.WorkspaceWorker, "update:work_queue", false},
		{roles.WorkspaceWorker, "create:work_pool", false},
		{roles.WorkspaceViewer, "poll:work_pool", false},
		{roles.WorkspaceRunner, "update:worker", false},
		{roles.WorkspaceViewer, "read:block", true},
		{roles.WorkspaceViewer, ReadBlockSecrets, false},
		{roles.WorkspaceRunner, ReadBlockSecrets, false},
		{roles.WorkspaceDeveloper, ReadBlockSecrets, true},
		// Issue #22: a worker's key does not read secret values.
		{roles.WorkspaceWorker, ReadBlockSecrets, false},
		{roles.WorkspaceWorker, "delete:deployment", false},
		// A worker and a viewer role held at once give both's permissions.
		{roles.WorkspaceViewer + roles.Both + roles.WorkspaceWorker, "update:flow_run", true},
		{roles.WorkspaceViewer + roles.Both + roles.WorkspaceWorker, "read:log", true},
		{roles.WorkspaceRunner + roles.Both + roles.WorkspaceWorker, "run:deployment", true},
		{roles.WorkspaceRunner + roles.Both + roles.WorkspaceWorker, "delete:deployment", false},
		{roles.WorkspaceWorker, "create:block", true},
		{roles.WorkspaceWorker, "delete:block", false},
		{AnonymousRole, ReadBlockSecrets, true},
		{AnonymousRole, "create:variable", true},
		{AnonymousRole, "delete:flow_run", true},
		{AnonymousRole, "read:workspace", false},
		{AnonymousRole, ManageMembership, false},
		{AnonymousRole, ManageWorkspace, false},
		{"", "read:flow", false},
	}
	for _, c := range cases {
		if got := Can(c.role, c.perm); got != c.want {
			t.Errorf("Can(%q, %q) = %v", c.role, c.perm, got)
		}
	}
}

// Sign-in attempts are limited per address in a sliding window, and an
// account's failures delay its next attempt, with a capped wait: refused
// attempts count for nothing, and a success clears the account.
func TestSignInLimiter(t *testing.T) {
	l := newSignInLimiter()
	now := time.Now()
	fail := func(account, addr string) {
		t.Helper()
		if !l.admit(now, account, addr) {
			t.Fatalf("attempt on %s from %s refused at %v", account, addr, now)
		}
		l.finish(now, account, ErrInvalidCredentials)
	}
	for range freeFailures {
		fail("victim", "addr:1")
	}
	if l.admit(now, "victim", "addr:2") {
		t.Fatal("an attempt right after the free failures was admitted, from another address too")
	}
	// Refused attempts do not extend the wait.
	for range 100 {
		l.admit(now.Add(backoffBase-time.Millisecond), "victim", "addr:2")
	}
	now = now.Add(backoffBase)
	fail("victim", "addr:2")
	// However many failures, the wait never exceeds backoffMax.
	for range 20 {
		now = now.Add(backoffMax)
		fail("victim", "addr:"+now.String())
	}
	if got := wait(1000); got != backoffMax {
		t.Fatalf("wait after 1000 failures: %v, want %v", got, backoffMax)
	}
	now = now.Add(backoffMax)
	if !l.admit(now, "victim", "addr:owner") {
		t.Fatal("the owner was refused after waiting backoffMax")
	}
	l.finish(now, "victim", nil)
	if !l.admit(now, "victim", "addr:owner") {
		t.Fatal("a success did not clear the account's failures")
	}
	l.finish(now, "victim", nil)
	// An attempt that failed for want of the database is not held against
	// the account.
	for range freeFailures + 3 {
		if !l.admit(now, "other", "addr:3") {
			t.Fatal("an attempt that failed for another reason counted as a failure")
		}
		l.finish(now, "other", errors.New("database is down"))
	}

	// The per-address window: signInsPerAddr attempts, then none until the
	// oldest leaves the window.
	l = newSignInLimiter()
	start := time.Now()
	for i := range signInsPerAddr {
		if !l.admit(start, fmt.Sprint("account", i), "addr:1") {
			t.Fatalf("attempt %d from one address refused", i)
		}
	}
	if l.admit(start, "fresh", "addr:1") {
		t.Fatal("an attempt beyond the address's window was admitted")
	}
	if !l.admit(start, "fresh", "addr:2") {
		t.Fatal("another address was refused")
	}
	if !l.admit(start.Add(signInWindow), "fresh", "addr:1") {
		t.Fatal("the address's attempts did not leave the window")
	}
}

// A table never holds more than its bound: stale entries go first, then
// the least recently stored.
func TestTableBounded(t *testing.T) {
	tb := newTable[int](100, time.Minute)
	now := time.Now()
	for i := range 1000 {
		tb.put(now.Add(time.Duration(i)*time.Millisecond), fmt.Sprint("k", i), i)
		if len(tb.m) > 100 {
			t.Fatalf("%d entries after %d puts, want at most 100", len(tb.m), i+1)
		}
	}
	later := now.Add(time.Second)
	if tb.get(later, "k999") != 999 || tb.get(later, "k0") != 0 || len(tb.m) != 100 {
		t.Fatalf("the newest entry is gone or the oldest stayed: %d entries", len(tb.m))
	}
	if _, ok := tb.m["k899"]; ok {
		t.Fatal("an entry older than the newest 100 stayed")
	}
	// When full, stale entries make room before fresh ones are evicted.
	tb.put(now.Add(2*time.Minute), "late", 1)
	if len(tb.m) != 1 {
		t.Fatalf("%d entries: the stale ones were not dropped", len(tb.m))
	}
}

// Password hashing runs in a bounded number of slots; a hash that finds
// them all taken waits, as long as its request allows.
func TestHashSlots(t *testing.T) {
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := HashPassword(ctx, "waits for a slot")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hash with every slot taken: %v, want the request's deadline", err)
	}
	<-hashSlots
	if _, err := HashPassword(t.Context(), "gets the freed slot"); err != nil {
		t.Fatalf("a hash with a free slot: %v", err)
	}
	for range cap(hashSlots) - 1 {
		<-hashSlots
	}
}

func TestAddrKey(t *testing.T) {
	for addr, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
	} {
		if got := addrKey(addr); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// The client address of a request: the connection's, unless a trusted
// proxy relayed it, and then the nearest X-Forwarded-For hop that is not
// a trusted proxy; what an untrusted caller sends in the header is never
// believed.
func TestTrustedProxies(t *testing.T) {
	proxies, err := ParseTrustedProxies(" 127.0.0.1, 10.0.0.0/8 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "1.2.3.4/8/8"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted it", bad)
		}
	}
	if none, err := ParseTrustedProxies(""); err != nil || len(none) != 0 {
		t.Errorf("an empty list: %v, %v", none, err)
	}
	many := strings.Repeat("203.0.113.1, ", 20) + "10.0.0.1"
	for _, c := range []struct {
		name, peer string
		forwarded  []string
		want       string
	}{
		{"an untrusted peer's header is ignored", "198.51.100.7:5000", []string{"203.0.113.5"}, "198.51.100.7"},
		{"a trusted peer without the header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"a trusted peer's client", "127.0.0.1:5000", []string{"203.0.113.5"}, "203.0.113.5"},
		{"what the client wrote before it is not believed", "127.0.0.1:5000", []string{"192.0.2.66, 203.0.113.5"}, "203.0.113.5"},
		{"a chain of trusted proxies", "127.0.0.1:5000", []string{"192.0.2.66, 203.0.113.5, 10.1.2.3"}, "203.0.113.5"},
		{"headers are read as one list", "127.0.0.1:5000", []string{"203.0.113.5", "10.1.2.3"}, "203.0.113.5"},
		{"IPv6 and a mapped IPv4 peer", "[::ffff:127.0.0.1]:5000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"an unreadable hop leaves the peer", "127.0.0.1:5000", []string{"203.0.113.5, not-an-address"}, "127.0.0.1"},
		{"only trusted hops leave the peer", "127.0.0.1:5000", []string{"10.0.0.1, 10.0.0.2"}, "127.0.0.1"},
		{"hops beyond the bound are not read", "127.0.0.1:5000", []string{strings.Repeat("10.0.0.1, ", 20) + "10.0.0.1"}, "127.0.0.1"},
		{"the nearest untrusted hop within the bound", "127.0.0.1:5000", []string{many}, "203.0.113.1"},
	} {
		var got string
		h := proxies.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r) }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for _, v := range c.forwarded {
			r.Header.Add("X-Forwarded-For", v)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: client %q, want %q", c.name, got, c.want)
		}
	}
	// Without trusted proxies the header changes nothing.
	var got string
	h := TrustedProxies(nil).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r) }))
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	if h.ServeHTTP(httptest.NewRecorder(), r); got != "127.0.0.1" {
		t.Errorf("without trusted proxies: client %q", got)
	}
}
