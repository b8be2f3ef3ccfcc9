// Package secretbox seals data at rest with AES-256-GCM under the server's
// key, and opens what earlier keys sealed, so a key can be rotated: new
// writes use the current key, reads accept the old ones until everything
// has been sealed again.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key: AES-256.
const KeySize = 32

// version is the first byte of every sealed value; a new format gets a new
// one.
const version = 1

// idSize is the length of the key id a sealed value carries, so Open picks
// the key that sealed it without trying each.
const idSize = 8

type keyID [idSize]byte

// Keyring seals with its current key and opens with any of its keys.
type Keyring struct {
	current keyID
	aeads   map[keyID]cipher.AEAD
}

// New returns a keyring sealing with current and opening with current and
// old.
func New(current []byte, old ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[keyID]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, old...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("secrets key %d is %d bytes, want %d", i+1, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secrets key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets key %d: %w", i+1, err)
		}
		id := idOf(key)
		if i == 0 {
			k.current = id
		}
		k.aeads[id] = aead
	}
	return k, nil
}

func idOf(key []byte) keyID {
	sum := sha256.Sum256(key)
	var id keyID
	copy(id[:], sum[:idSize])
	return id
}

// Seal encrypts plaintext under the current key. aad (the row's id) is
// authenticated with it, so a sealed value cannot be moved to another row.
func (k *Keyring) Seal(plaintext, aad []byte) []byte {
	aead := k.aeads[k.current]
	out := make([]byte, 0, 1+idSize+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, version)
	out = append(out, k.current[:]...)
	nonce := make([]byte, aead.NonceSize())
	// crypto/rand.Read never fails (Go 1.24+).
	rand.Read(nonce)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// ErrUnknownKey is the error of opening a value sealed with a key the
// keyring does not hold.
var ErrUnknownKey = errors.New("sealed with a key this server does not have (set the old key in PRAETOR_SECRETS_OLD_KEYS)")

// Open decrypts what Seal returned under any key of the keyring.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+idSize || sealed[0] != version {
		return nil, errors.New("not a sealed value")
	}
	var id keyID
	copy(id[:], sealed[1:1+idSize])
	aead, ok := k.aeads[id]
	if !ok {
		return nil, ErrUnknownKey
	}
	rest := sealed[1+idSize:]
	if len(rest) < aead.NonceSize() {
		return nil, errors.New("sealed value too short")
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("open sealed value: %w", err)
	}
	return plain, nil
}

// Current reports whether sealed was sealed with the current key.
func (k *Keyring) Current(sealed []byte) bool {
	return len(sealed) >= 1+idSize && bytes.Equal(sealed[1:1+idSize], k.current[:])
}

// ParseKey decodes a key written in base64 (standard or URL alphabet,
// padded or not), as GenerateKey and the key file write it.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("a secrets key is %d bytes in base64, not %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("a secrets key must be base64 (generate one with: openssl rand -base64 32)")
}

// ParseKeys decodes a comma-separated list of keys; empty gives none.
func ParseKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := ParseKey(part)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// LoadOrCreateKeyFile reads the key in path, creating the file (mode 0600)
// with a new random key if it does not exist; created says which.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("secrets key file %s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read secrets key file: %w", err)
	}
	key = make([]byte, KeySize)
	rand.Read(key)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("create secrets key file: %w", err)
	}
	// O_EXCL: of two servers starting on one home, one writes the key and
	// the other reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKeyFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("create secrets key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write secrets key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write secrets key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write secrets key file: %w", err)
	}
	return key, true, nil
}
