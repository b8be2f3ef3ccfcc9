package sso

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "providers.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	t.Setenv("TEST_GOOGLE_SECRET", "from-the-env")
	got, err := LoadFile(writeFile(t, `
[[provider]]
id = "google"
name = "Google"
issuer = "https://accounts.google.com"
client_id = "123.apps.googleusercontent.com"
client_secret_env = "TEST_GOOGLE_SECRET"
allowed_domains = ["@Example.COM ", "example.org"]

[[provider]]
id = "github"
kind = "github"
client_id = "Iv1.abc"
client_secret = "s3cret"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d providers, want 2", len(got))
	}
	g, h := got[0], got[1]
	if g.Kind != KindOIDC || g.ClientSecret != "from-the-env" || !slices.Equal(g.AllowedDomains, []string{"example.com", "example.org"}) ||
		!slices.Equal(g.Scopes, []string{"openid", "email", "profile"}) {
		t.Errorf("google: %+v", g)
	}
	if h.Name != "GitHub" || h.WebURL != "https://github.com" || h.APIURL != "https://api.github.com" || !slices.Equal(h.Scopes, []string{"read:user", "user:email"}) {
		t.Errorf("github's defaults: %+v", h)
	}
	p := New(got, nil)[0]
	for email, ok := range map[string]bool{"a@example.com": true, "A@EXAMPLE.ORG": true, "a@evil.example.com": false, "a@example.com.evil": false, "nobody": false} {
		if p.AllowsNewUser(email) != ok {
			t.Errorf("AllowsNewUser(%q) = %v, want %v", email, !ok, ok)
		}
	}
}

func TestLoadFileRefusesMistakes(t *testing.T) {
	const github = "kind = \"github\"\nclient_id = \"x\"\nclient_secret = \"y\"\n"
	for name, c := range map[string]struct{ body, want string }{
		"unknown setting": {"[[provider]]\nid = \"gh\"\n" + github + "clientsecret = \"typo\"\n", "unknown setting provider.clientsecret"},
		"no secret":       {"[[provider]]\nid = \"gh\"\nkind = \"github\"\nclient_id = \"x\"\n", "client_secret"},
		"empty env":       {"[[provider]]\nid = \"gh\"\nkind = \"github\"\nclient_id = \"x\"\nclient_secret_env = \"PRAETOR_TEST_UNSET_SECRET\"\n", "client_secret"},
		"bad id":          {"[[provider]]\nid = \"Git Hub\"\n" + github, "lower-case"},
		"twice":           {"[[provider]]\nid = \"gh\"\n" + github + "[[provider]]\nid = \"gh\"\n" + github, "used twice"},
		"no issuer":       {"[[provider]]\nid = \"corp\"\nclient_id = \"x\"\nclient_secret = \"y\"\n", "issuer"},
		"unknown kind":    {"[[provider]]\nid = \"corp\"\nkind = \"saml\"\nclient_id = \"x\"\nclient_secret = \"y\"\n", "kind \"saml\""},
		"not toml":        {"[[provider]\n", "read identity providers"},
		"trusted github":  {"[[provider]]\nid = \"gh\"\n" + github + "trust_email = true\n", "trust_email is for OpenID Connect"},
	} {
		if _, err := LoadFile(writeFile(t, c.body)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", name, err, c.want)
		}
	}
}

// A provider logged whole names it, never its secret.
func TestConfigLogsNoSecret(t *testing.T) {
	var buf bytes.Buffer
	c := Config{ID: "google", Kind: KindOIDC, Name: "Google", Issuer: "https://accounts.google.com", ClientID: "id-123", ClientSecret: "the-secret"}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("identity provider", "provider", c)
	if out := buf.String(); strings.Contains(out, "the-secret") || !strings.Contains(out, "id-123") || !strings.Contains(out, "accounts.google.com") {
		t.Errorf("logged %s", out)
	}
}
