package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/testdb"
)

// TestSecretsKey follows the secrets key through a server's life on each
// engine: generated on first start into the home (mode 0600) and read
// again on the next; rotated with the settings docs/configuration.md gives
// (a new key, the old one as an old key), which reseals every document at
// start so the old key can go; and a bad setting stops the start.
func TestSecretsKey(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		home := t.TempDir()
		cfg := Config{Host: "127.0.0.1", Home: home}
		// On SQLite the server opens Home's praetor.db.
		if strings.HasPrefix(dsn, "postgres") {
			cfg.DatabaseURL = dsn
		}
		check := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		const secret = "the-launch-codes"
		var ws, docID uuid.UUID
		run := func(c Config, fn func(srv *Server)) {
			t.Helper()
			c.Logger = slog.New(slog.DiscardHandler)
			srv, err := Open(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Error(err)
				}
			}()
			fn(srv)
		}
		read := func(srv *Server) string {
			t.Helper()
			d, err := srv.store.GetBlockDocument(t.Context(), ws, docID, true)
			if err != nil {
				t.Fatalf("read the secret: %v", err)
			}
			return d.Data["value"].(string)
		}
		run(cfg, func(srv *Server) {
			def, err := srv.store.DefaultWorkspace(t.Context())
			check(err)
			ws = def.ID
			bt := &model.BlockType{Name: "Secret", Slug: "secret"}
			check(srv.store.CreateBlockType(t.Context(), ws, bt))
			s := &model.BlockSchema{BlockTypeID: bt.ID, Checksum: "sha256:x", Fields: []byte(`{"secret_fields":["value"]}`)}
			_, err = srv.store.CreateBlockSchema(t.Context(), ws, s)
			check(err)
			name := "codes"
			d := &model.BlockDocument{Name: &name, BlockTypeID: bt.ID, BlockSchemaID: s.ID, Data: map[string]any{"value": secret}}
			check(srv.store.CreateBlockDocument(t.Context(), ws, d))
			docID = d.ID
		})
		keyFile := filepath.Join(home, "secrets.key")
		fi, err := os.Stat(keyFile)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file: %v, mode %v; want 0600", err, fi.Mode().Perm())
		}
		oldKey, _ := os.ReadFile(keyFile)
		run(cfg, func(srv *Server) {
			if v := read(srv); v != secret {
				t.Errorf("after a restart: %q", v)
			}
		})

		newKey := make([]byte, 32)
		rand.Read(newKey)
		rotated := cfg
		rotated.SecretsKey = base64.StdEncoding.EncodeToString(newKey)
		rotated.SecretsOldKeys = strings.TrimSpace(string(oldKey))
		run(rotated, func(srv *Server) {
			if v := read(srv); v != secret {
				t.Errorf("with the new key and the old: %q", v)
			}
		})
		rotated.SecretsOldKeys = ""
		run(rotated, func(srv *Server) {
			if v := read(srv); v != secret {
				t.Errorf("with the new key alone, after the reseal at start: %q", v)
			}
		})
		if b, _ := os.ReadFile(keyFile); !bytes.Equal(b, oldKey) {
			t.Error("a key setting rewrote the key file")
		}

		for _, bad := range []Config{{SecretsKey: "short"}, {SecretsKey: rotated.SecretsKey, SecretsOldKeys: "x,y"}} {
			c := cfg
			c.SecretsKey, c.SecretsOldKeys, c.Logger = bad.SecretsKey, bad.SecretsOldKeys, slog.New(slog.DiscardHandler)
			if srv, err := Open(t.Context(), c); err == nil {
				srv.Shutdown(t.Context())
				t.Errorf("started with secrets key %q and old keys %q", bad.SecretsKey, bad.SecretsOldKeys)
			}
		}
	})
}
