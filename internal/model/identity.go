package model

import "github.com/google/uuid"

// Identity links a user to their account at an identity provider: the
// provider's id (as the operator configured it) and the subject it names
// the user by, which never changes even when the email does.
type Identity struct {
	Provider string
	Subject  string
	UserID   uuid.UUID
	// Email is the address the provider gave at the last sign-in.
	Email   string
	Created Time
}

// SSOLogin is a sign-in with a provider in progress, between the redirect
// to the provider and its callback. Only hashes of the state (the key) and
// of the browser's cookie are kept.
type SSOLogin struct {
	StateHash   string
	Provider    string
	BrowserHash string
	Nonce       string
	// Verifier is the PKCE code verifier sent with the code exchange.
	Verifier string
	// Next is where the browser goes after signing in.
	Next    string
	Expires Time
}
