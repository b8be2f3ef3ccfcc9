package sqlstore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/secretbox"
	"github.com/praetorhq/praetor/internal/testdb"
)

// testKeyring is a keyring with a random key of its own.
func testKeyring(t testing.TB, old ...[]byte) *secretbox.Keyring {
	t.Helper()
	k, err := secretbox.New(randomKey(), old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKey() []byte {
	k := make([]byte, secretbox.KeySize)
	rand.Read(k)
	return k
}

// TestKeyRotation stores a secret under one key, rotates to a second with
// the first kept as an old key, reseals, and drops the first: the secret
// stays readable throughout, is never in the database in clear, and a
// server without the key that sealed it cannot read it.
func TestKeyRotation(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		open := func(k *secretbox.Keyring) *DB {
			t.Helper()
			var opts []Option
			if k != nil {
				opts = append(opts, Secrets(k))
			}
			db, err := Open(ctx, dsn, slog.New(slog.DiscardHandler), opts...)
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
		const secret = "correct-horse-battery-staple"
		keyA, keyB := randomKey(), randomKey()
		ringA, _ := secretbox.New(keyA)
		db := open(ringA)
		ws, err := db.DefaultWorkspace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		bt := &model.BlockType{Name: "Secret", Slug: "secret"}
		if err := db.CreateBlockType(ctx, ws.ID, bt); err != nil {
			t.Fatal(err)
		}
		s := &model.BlockSchema{BlockTypeID: bt.ID, Checksum: "sha256:s", Fields: []byte(`{"secret_fields":["value"]}`)}
		if _, err := db.CreateBlockSchema(ctx, ws.ID, s); err != nil {
			t.Fatal(err)
		}
		name := "token"
		d := &model.BlockDocument{Name: &name, BlockTypeID: bt.ID, BlockSchemaID: s.ID, Data: map[string]any{"value": secret}}
		if err := db.CreateBlockDocument(ctx, ws.ID, d); err != nil {
			t.Fatal(err)
		}
		inClear := func(db *DB) bool {
			t.Helper()
			var data []byte
			if err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT data FROM block_documents WHERE id = ?`), d.ID).Scan(&data); err != nil {
				t.Fatal(err)
			}
			return bytes.Contains(data, []byte(secret))
		}
		if inClear(db) {
			t.Error("the secret is stored in clear")
		}
		db.Close()
		if db.d.name() == "sqlite" {
			for _, f := range []string{dsn, dsn + "-wal"} {
				if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s holds the secret in clear", filepath.Base(f))
				}
			}
		}
		read := func(db *DB) (string, error) {
			got, err := db.GetBlockDocument(ctx, ws.ID, d.ID, true)
			if err != nil {
				return "", err
			}
			v, _ := got.Data["value"].(string)
			return v, nil
		}

		rotated, _ := secretbox.New(keyB, keyA)
		db = open(rotated)
		if v, err := read(db); err != nil || v != secret {
			t.Fatalf("with the new key and the old one: %q, %v", v, err)
		}
		if n, err := db.ResealBlockDocuments(ctx); err != nil || n != 1 {
			t.Fatalf("ResealBlockDocuments = %d, %v; want 1", n, err)
		}
		if n, err := db.ResealBlockDocuments(ctx); err != nil || n != 0 {
			t.Errorf("resealing again = %d, %v; want 0", n, err)
		}
		db.Close()

		onlyB, _ := secretbox.New(keyB)
		db = open(onlyB)
		if v, err := read(db); err != nil || v != secret {
			t.Errorf("with the new key alone after resealing: %q, %v", v, err)
		}
		db.Close()

		db = open(ringA)
		if _, err := read(db); !errors.Is(err, secretbox.ErrUnknownKey) {
			t.Errorf("with only the retired key: %v, want ErrUnknownKey", err)
		}
		db.Close()

		db = open(nil)
		defer db.Close()
		if _, err := read(db); !errors.Is(err, errNoSecretsKey) {
			t.Errorf("without a key: %v, want errNoSecretsKey", err)
		}
	})
}
