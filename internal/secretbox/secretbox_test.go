package secretbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	k, err := New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"value":"hunter2"}`)
	sealed := k.Seal(secret, []byte("row-1"))
	if bytes.Contains(sealed, []byte("hunter2")) {
		t.Fatalf("sealed value holds the plaintext: %q", sealed)
	}
	if again := k.Seal(secret, []byte("row-1")); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	got, err := k.Open(sealed, []byte("row-1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(sealed, []byte("row-2")); err == nil {
		t.Error("a value sealed for one row opened as another's")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.Open(tampered, []byte("row-1")); err == nil {
		t.Error("a tampered value opened")
	}
	if !k.Current(sealed) {
		t.Error("a value just sealed is not under the current key")
	}
}

func TestRotation(t *testing.T) {
	old, _ := New(key(1))
	sealed := old.Seal([]byte("x"), nil)

	rotated, err := New(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, nil); err != nil || string(got) != "x" {
		t.Fatalf("the rotated keyring cannot open the old key's value: %q, %v", got, err)
	}
	if rotated.Current(sealed) {
		t.Error("a value of the old key counts as current")
	}
	if !rotated.Current(rotated.Seal([]byte("x"), nil)) {
		t.Error("a new seal is not under the new key")
	}
	newOnly, _ := New(key(2))
	if _, err := newOnly.Open(sealed, nil); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("opening without the old key: %v, want ErrUnknownKey", err)
	}
	if _, err := New(key(1)[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", "secrets.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first start: %d bytes, created %v, %v", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second start read another key (created %v, %v)", created, err)
	}
	b, _ := os.ReadFile(path)
	if parsed, err := ParseKey(string(b)); err != nil || !bytes.Equal(parsed, k1) {
		t.Errorf("the key file does not parse as a setting: %v", err)
	}
	keys, err := ParseKeys(" " + base64.StdEncoding.EncodeToString(key(3)) + ", " + base64.RawURLEncoding.EncodeToString(key(4)) + ",")
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[1], key(4)) {
		t.Errorf("ParseKeys: %d keys, %v", len(keys), err)
	}
	if _, err := ParseKey("not base64!"); err == nil {
		t.Error("a bad key parsed")
	}
}
