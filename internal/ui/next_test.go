package ui

import "testing"

// Only paths of this server survive as the target after sign-in: anything
// a browser could read as another host goes to /workspaces.
func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/workspaces/new": "/workspaces/new",
		"/auth/client?callback=http%3A%2F%2F127.0.0.1%3A9%2F": "/auth/client?callback=http%3A%2F%2F127.0.0.1%3A9%2F",
		"/account/a/workspace/b/runs?state=COMPLETED&page=2":  "/account/a/workspace/b/runs?state=COMPLETED&page=2",
		"/runs/flow-run/x#logs":                               "/runs/flow-run/x#logs",
		"/caf%C3%A9":                                          "/caf%C3%A9",
		"":                                                    "/workspaces",
		"workspaces":                                          "/workspaces",
		"//evil.example":                                      "/workspaces",
		"///evil.example":                                     "/workspaces",
		"/\\evil.example":                                     "/workspaces",
		"\\/evil.example":                                     "/workspaces",
		"/\t/evil.example":                                    "/workspaces",
		"/\n/evil.example":                                    "/workspaces",
		"/\r/evil.example":                                    "/workspaces",
		"/\x00/evil.example":                                  "/workspaces",
		"/\x7f/evil.example":                                  "/workspaces",
		"/\u0085/evil.example":                                "/workspaces",
		"/%09/evil.example":                                   "/workspaces",
		"/%0a/evil.example":                                   "/workspaces",
		"/%5Cevil.example":                                    "/workspaces",
		"/%2F/evil.example":                                   "/workspaces",
		"/%zz":                                                "/workspaces",
		" /workspaces":                                        "/workspaces",
		"http://evil.example/":                                "/workspaces",
		"https:evil.example":                                  "/workspaces",
		"javascript:alert(1)":                                 "/workspaces",
		"/ok\t":                                               "/workspaces",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
