package auth

import "time"

// SetClock makes the authenticator read time from now, so tests of its
// limits need not wait.
func (a *Authenticator) SetClock(now func() time.Time) { a.now = now }

// HoldHashSlots takes every password-hashing slot until release is called,
// so a test can tell whether a call tried to hash.
func HoldHashSlots() (release func()) {
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	return func() {
		for range cap(hashSlots) {
			<-hashSlots
		}
	}
}
