package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Key prefixes, as Prefect Cloud mints them: the Prefect CLI recognises both.
const (
	UserKeyPrefix    = "pnu_"
	ServiceKeyPrefix = "pnb_"
)

// lookupLen is how many characters after the pnu_/pnb_ prefix identify a
// key; they are stored in clear (and shown in listings) so a key can be found
// without its secret, whose hash is then compared in constant time.
const lookupLen = 8

const keyAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewKey mints an API key with the given type prefix. It returns the key (to
// show once), its visible prefix and the hash to store.
func NewKey(typePrefix string) (key, prefix, hash string, err error) {
	const n = 36
	out := make([]byte, 0, n)
	buf := make([]byte, 64)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", "", "", err
		}
		for _, b := range buf {
			// Rejection sampling keeps every character equally likely.
			if int(b) < 256-256%len(keyAlphabet) && len(out) < n {
				out = append(out, keyAlphabet[int(b)%len(keyAlphabet)])
			}
		}
	}
	key = typePrefix + string(out)
	return key, KeyPrefix(key), HashKey(key), nil
}

// KeyPrefix returns the visible, indexed part of a key, or "" if s is not
// shaped like a Praetor key.
func KeyPrefix(s string) string {
	if !(strings.HasPrefix(s, UserKeyPrefix) || strings.HasPrefix(s, ServiceKeyPrefix)) || len(s) < len(UserKeyPrefix)+lookupLen+16 {
		return ""
	}
	return s[:len(UserKeyPrefix)+lookupLen]
}

// HashKey hashes a key for storage. Keys are long random tokens, so a fast
// hash is enough; a slow password hash would cost every request.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyMatches compares a presented key with a stored hash in constant time.
func KeyMatches(key, storedHash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashKey(key)), []byte(storedHash)) == 1
}

// NewToken returns a random URL-safe token of n bytes of entropy, for
// sessions and CSRF.
func NewToken(n int) (string, error) {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf), nil
}
