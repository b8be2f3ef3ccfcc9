package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The key the Prefect CLI's browser login mints expires.
func TestBrowserLoginKeyExpires(t *testing.T) {
	ts := startServer(t)
	alice := newUser("alice")
	c := ts.newClient(t)
	c.register(alice)
	c.createWorkspace(alice, "CLI Home", "")
	if r := c.get("/auth/client?callback=" + url.QueryEscape("http://127.0.0.1:9")); !strings.Contains(r.Body, "works for 90 days") {
		t.Errorf("the authorize page does not say how long the key works")
	}
	before := time.Now()
	r := c.postCSRF("/auth/client", url.Values{"callback": {"http://127.0.0.1:9"}, "decision": {"authorize"}})
	key := regexp.MustCompile(`data-api-key="(pnu_[0-9A-Za-z]+)"`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || key == nil {
		t.Fatalf("authorize: %d", r.Status)
	}
	var keys []struct {
		Name       string     `json:"name"`
		Expiration *time.Time `json:"expiration"`
	}
	c.api(http.MethodGet, "/me/api_keys", key[1], nil).decode(t, &keys)
	if len(keys) != 1 || keys[0].Expiration == nil {
		t.Fatalf("the CLI's key: %+v", keys)
	}
	want := before.Add(90 * 24 * time.Hour)
	if got := *keys[0].Expiration; got.Before(want.Add(-time.Second)) || got.After(time.Now().Add(90*24*time.Hour)) {
		t.Errorf("the CLI's key expires at %s, want 90 days from now (%s)", got, want)
	}
}
