package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The server names the identity providers it was configured with in its
// start-up log, without their secrets, and refuses to start on a providers
// file it cannot read.
func TestIdentityProvidersAtStart(t *testing.T) {
	const secret = "do-not-log-this-secret"
	path := filepath.Join(t.TempDir(), "providers.toml")
	if err := os.WriteFile(path, []byte(`
[[provider]]
id = "corp"
name = "Corp SSO"
issuer = "https://sso.corp.example"
client_id = "praetor-app"
client_secret = "`+secret+`"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file is safe to write from the server's goroutines.
	logs, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	srv, err := Open(t.Context(), Config{Host: "127.0.0.1", Home: t.TempDir(), IdentityProvidersFile: path,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	if out := string(data); strings.Contains(out, secret) || !strings.Contains(out, "praetor-app") || !strings.Contains(out, "Corp SSO") {
		t.Errorf("the start-up log names the provider without its secret? %s", out)
	}

	if err := os.WriteFile(path, []byte("[[provider]]\nid = \"corp\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if srv, err := Open(t.Context(), Config{Host: "127.0.0.1", Home: t.TempDir(), IdentityProvidersFile: path, Logger: slog.New(slog.DiscardHandler)}); err == nil {
		srv.Shutdown(ctx)
		t.Error("the server started with a provider that has no client id or secret")
	}
}
