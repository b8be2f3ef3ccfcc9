package auth

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
