package ui

import (
	"strconv"
	"testing"
	"time"
)

// The flash store gives each flash to one load of its page, forgets what
// outlives its TTL, and stays bounded however many sessions post.
func TestFlashStoreIsOneShotAndBounded(t *testing.T) {
	var s flashStore
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.put("a", "/profile/api-keys", flash{Text: "made"}, now)
	if got := s.take("a", "/workspaces", now); len(got) != 0 {
		t.Errorf("another page took %v", got)
	}
	if got := s.take("b", "/profile/api-keys", now); len(got) != 0 {
		t.Errorf("another session took %v", got)
	}
	if got := s.take("a", "/profile/api-keys", now); len(got) != 1 || got[0].Text != "made" {
		t.Errorf("the page took %v, want the flash", got)
	}
	if got := s.take("a", "/profile/api-keys", now); len(got) != 0 {
		t.Errorf("the flash showed twice: %v", got)
	}

	s.put("a", "/x", flash{Text: "late"}, now)
	if got := s.take("a", "/x", now.Add(flashTTL)); len(got) != 0 {
		t.Errorf("an expired flash showed: %v", got)
	}

	for i := range maxSessionFlashes + 3 {
		s.put("a", "/p"+strconv.Itoa(i), flash{Text: "n"}, now)
	}
	n := 0
	for _, l := range s.pending["a"].byPath {
		n += len(l)
	}
	if n > maxSessionFlashes {
		t.Errorf("one session holds %d flashes, over %d", n, maxSessionFlashes)
	}

	for i := range maxFlashSessions + 10 {
		s.put("s"+strconv.Itoa(i), "/p", flash{Text: "n"}, now.Add(time.Duration(i)*time.Millisecond))
	}
	if len(s.pending) > maxFlashSessions {
		t.Errorf("the store holds %d sessions, over %d", len(s.pending), maxFlashSessions)
	}
	last := "s" + strconv.Itoa(maxFlashSessions+9)
	if got := s.take(last, "/p", now.Add(time.Second)); len(got) != 1 {
		t.Errorf("the newest session's flash was evicted")
	}
}
