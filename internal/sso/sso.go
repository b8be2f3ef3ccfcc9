// Package sso signs users in with identity providers the operator
// configures: any OpenID Connect provider, found by its issuer's discovery
// document, and GitHub's OAuth apps (GitHub is not OpenID Connect: the user
// and their verified primary email come from its REST API). Both use the
// authorization code flow with PKCE (S256); OpenID Connect ID tokens are
// verified by go-oidc. The caller keeps state, nonce and verifier between
// the redirect and the callback (the UI stores them server-side, one-shot).
package sso

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Kinds of provider.
const (
	KindOIDC   = "oidc"
	KindGitHub = "github"
)

// Config is one provider as the operator configures it.
type Config struct {
	// ID names the provider in URLs (/auth/sso/<id>/callback) and in
	// stored identities: changing it unlinks everyone who used it.
	ID string `toml:"id"`
	// Kind is "oidc" (the default) or "github".
	Kind string `toml:"kind"`
	// Name is the button's label: "Sign in with <Name>".
	Name string `toml:"name"`
	// Issuer is an OpenID Connect provider's issuer URL; its discovery
	// document is <Issuer>/.well-known/openid-configuration.
	Issuer       string `toml:"issuer"`
	ClientID     string `toml:"client_id"`
	ClientSecret string `toml:"client_secret"`
	// ClientSecretEnv names an environment variable holding the secret,
	// so the file need not.
	ClientSecretEnv string `toml:"client_secret_env"`
	// Scopes replaces the scopes asked for: "openid email profile" for
	// OpenID Connect, "read:user user:email" for GitHub.
	Scopes []string `toml:"scopes"`
	// TrustEmail treats every email the provider gives as verified, for a
	// provider whose emails its administrators manage but which sends no
	// email_verified claim (Microsoft Entra ID). OpenID Connect only.
	TrustEmail bool `toml:"trust_email"`
	// AllowedDomains, when set, limits who may create a user by signing in
	// to these email domains; existing users link as usual.
	AllowedDomains []string `toml:"allowed_domains"`
	// GitHub only: where its web (authorize, token) and REST API live;
	// https://github.com and https://api.github.com unless set (GitHub
	// Enterprise Server, or a test's server).
	WebURL string `toml:"web_url"`
	APIURL string `toml:"api_url"`
}

// LogValue names the provider without its secret.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", c.ID), slog.String("kind", c.Kind), slog.String("name", c.Name),
		slog.String("issuer", c.Issuer), slog.String("client_id", c.ClientID))
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// check validates c and fills in its defaults.
func (c *Config) check() error {
	if !idPattern.MatchString(c.ID) {
		return fmt.Errorf("provider id %q: use lower-case letters, digits and dashes", c.ID)
	}
	if c.Kind == "" {
		c.Kind = KindOIDC
	}
	if c.ClientSecret == "" && c.ClientSecretEnv != "" {
		c.ClientSecret = os.Getenv(c.ClientSecretEnv)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return fmt.Errorf("provider %s: client_id and client_secret (or client_secret_env) are required", c.ID)
	}
	for i, d := range c.AllowedDomains {
		c.AllowedDomains[i] = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
	}
	switch c.Kind {
	case KindOIDC:
		if c.Issuer == "" {
			return fmt.Errorf("provider %s: an OpenID Connect provider needs its issuer URL", c.ID)
		}
		if c.Name == "" {
			c.Name = c.ID
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		}
	case KindGitHub:
		if c.TrustEmail {
			return fmt.Errorf("provider %s: trust_email is for OpenID Connect providers; GitHub says which emails it verified", c.ID)
		}
		if c.Name == "" {
			c.Name = "GitHub"
		}
		if c.WebURL == "" {
			c.WebURL = "https://github.com"
		}
		if c.APIURL == "" {
			c.APIURL = "https://api.github.com"
		}
		c.WebURL, c.APIURL = strings.TrimSuffix(c.WebURL, "/"), strings.TrimSuffix(c.APIURL, "/")
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"read:user", "user:email"}
		}
	default:
		return fmt.Errorf("provider %s: kind %q is neither %q nor %q", c.ID, c.Kind, KindOIDC, KindGitHub)
	}
	return nil
}

// LoadFile reads the providers of a TOML file: one [[provider]] table each.
func LoadFile(path string) ([]Config, error) {
	var f struct {
		Provider []Config `toml:"provider"`
	}
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return nil, fmt.Errorf("read identity providers %s: %w", path, err)
	}
	// A misspelt setting would otherwise be silently ignored.
	if keys := md.Undecoded(); len(keys) > 0 {
		return nil, fmt.Errorf("read identity providers %s: unknown setting %s", path, keys[0])
	}
	seen := map[string]bool{}
	for i := range f.Provider {
		c := &f.Provider[i]
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("read identity providers %s: %w", path, err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("read identity providers %s: provider id %q is used twice", path, c.ID)
		}
		seen[c.ID] = true
	}
	return f.Provider, nil
}

// Identity is who a provider says signed in.
type Identity struct {
	Provider, Subject string
	Email, Name       string
	// EmailVerified: the provider asserts the user controls Email.
	EmailVerified bool
}

// Error is a failed sign-in; Reason is safe to show the user, err (in
// Error()) is for the log.
type Error struct {
	Reason string
	err    error
}

func (e *Error) Error() string {
	if e.err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.err.Error()
}

func (e *Error) Unwrap() error { return e.err }

func fail(reason string, err error) error { return &Error{Reason: reason, err: err} }

// ErrNonce is an ID token whose nonce is not the one this sign-in sent: a
// token minted for another sign-in (a replay or an injected code).
var ErrNonce = errors.New("the ID token's nonce does not match the sign-in's")

// Provider is a configured provider.
type Provider struct {
	Config
	client *http.Client

	mu  sync.Mutex
	oid *oidc.Provider // discovered on first use
}

// timeout bounds each call to a provider, so a hung provider fails the
// sign-in rather than holding the request.
const timeout = 15 * time.Second

// New returns the providers of cfgs; client (nil: one with a timeout)
// makes every call to them.
func New(cfgs []Config, client *http.Client) []*Provider {
	if client == nil {
		client = &http.Client{Timeout: timeout}
	}
	out := make([]*Provider, len(cfgs))
	for i, c := range cfgs {
		out[i] = &Provider{Config: c, client: client}
	}
	return out
}

// ctx carries the provider's HTTP client to oauth2 and go-oidc.
func (p *Provider) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, p.client)
}

// discover returns the OpenID Connect provider, fetching its discovery
// document the first time (again after a failure): a provider that is
// down when Praetor starts must not stop it from starting.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oid != nil {
		return p.oid, nil
	}
	oid, err := oidc.NewProvider(p.ctx(ctx), p.Issuer)
	if err != nil {
		return nil, fail("Could not reach "+p.Name, fmt.Errorf("discover %s: %w", p.Issuer, err))
	}
	p.oid = oid
	return oid, nil
}

func (p *Provider) oauth2(ctx context.Context, redirectURL string) (*oauth2.Config, *oidc.Provider, error) {
	c := &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL, Scopes: p.Scopes}
	if p.Kind == KindGitHub {
		c.Endpoint = oauth2.Endpoint{AuthURL: p.WebURL + "/login/oauth/authorize", TokenURL: p.WebURL + "/login/oauth/access_token"}
		return c, nil, nil
	}
	oid, err := p.discover(ctx)
	if err != nil {
		return nil, nil, err
	}
	c.Endpoint = oid.Endpoint()
	return c, oid, nil
}

// AuthCodeURL is where to send the browser to sign in: the provider's
// authorize endpoint with state, nonce (OpenID Connect) and the S256
// challenge of verifier.
func (p *Provider) AuthCodeURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error) {
	c, _, err := p.oauth2(ctx, redirectURL)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.Kind == KindOIDC {
		opts = append(opts, oidc.Nonce(nonce))
	}
	return c.AuthCodeURL(state, opts...), nil
}

// Exchange redeems the callback's code and returns who signed in: for
// OpenID Connect from the ID token, verified (signature, issuer, audience,
// expiry) by go-oidc, whose nonce must be nonce; for GitHub from its API.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code, verifier, nonce string) (*Identity, error) {
	c, oid, err := p.oauth2(ctx, redirectURL)
	if err != nil {
		return nil, err
	}
	ctx = p.ctx(ctx)
	tok, err := c.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fail(p.Name+" did not accept the sign-in", fmt.Errorf("exchange code: %w", err))
	}
	if p.Kind == KindGitHub {
		return p.github(ctx, c.Client(ctx, tok))
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, fail(p.Name+" sent no ID token", errors.New("token response without id_token"))
	}
	idt, err := oid.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fail(p.Name+" sent an ID token that does not verify", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fail(p.Name+" sent an ID token for another sign-in", ErrNonce)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
		Name          string   `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fail(p.Name+" sent an ID token that does not verify", err)
	}
	if claims.Email == "" {
		// Some providers put the email only in the userinfo answer.
		info, err := oid.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fail("Could not read your email from "+p.Name, err)
		}
		if info.Subject != idt.Subject {
			return nil, fail(p.Name+" answered for another user", fmt.Errorf("userinfo subject %q, ID token subject %q", info.Subject, idt.Subject))
		}
		if err := info.Claims(&claims); err != nil {
			return nil, fail("Could not read your email from "+p.Name, err)
		}
	}
	verified := bool(claims.EmailVerified) || p.TrustEmail && claims.Email != ""
	return &Identity{Provider: p.ID, Subject: idt.Subject, Email: claims.Email, Name: claims.Name, EmailVerified: verified}, nil
}

// flexBool reads a claim sent as a JSON boolean or, as a few providers
// do, as the string "true" or "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = flexBool(v)
	case string:
		*b = flexBool(v == "true")
	}
	return nil
}

// github reads the user and their primary email from GitHub's API; the
// email counts as verified only if GitHub says so.
func (p *Provider) github(ctx context.Context, client *http.Client) (*Identity, error) {
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := p.githubGet(ctx, client, "/user", &user); err != nil {
		return nil, err
	}
	if user.ID == 0 {
		return nil, fail("Could not read your GitHub account", errors.New("GitHub's /user has no id"))
	}
	var emails []githubEmail
	if err := p.githubGet(ctx, client, "/user/emails", &emails); err != nil {
		return nil, err
	}
	id := &Identity{Provider: p.ID, Subject: strconv.FormatInt(user.ID, 10), Name: cmp.Or(user.Name, user.Login)}
	if i := slices.IndexFunc(emails, func(e githubEmail) bool { return e.Primary }); i >= 0 {
		id.Email, id.EmailVerified = emails[i].Email, emails[i].Verified
	}
	return id, nil
}

// githubEmail is one address of GitHub's /user/emails.
type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

func (p *Provider) githubGet(ctx context.Context, client *http.Client, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.APIURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := client.Do(req)
	if err != nil {
		return fail("Could not reach GitHub", fmt.Errorf("GET %s: %w", path, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fail("Could not reach GitHub", fmt.Errorf("GET %s: %w", path, err))
	}
	if resp.StatusCode != http.StatusOK {
		return fail("Could not read your GitHub account", fmt.Errorf("GET %s: %s", path, resp.Status))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fail("Could not read your GitHub account", fmt.Errorf("GET %s: %w", path, err))
	}
	return nil
}

// AllowsNewUser reports whether a first sign-in with email may create a
// user: always, unless the provider lists allowed domains.
func (p *Provider) AllowsNewUser(email string) bool {
	if len(p.AllowedDomains) == 0 {
		return true
	}
	_, domain, ok := strings.Cut(strings.ToLower(email), "@")
	return ok && slices.Contains(p.AllowedDomains, domain)
}
