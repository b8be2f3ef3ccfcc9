package auth_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/praetorhq/praetor/internal/testdb"
)

// An account's sign-in limit holds whatever the email's spelling, and no
// one can turn it into a lock-out: whoever fails on purpose, from any number
// of addresses and as often as allowed, delays the owner by at most a
// minute, and the owner's success clears the account.
func TestSignInBackoffIsSharedAndCapped(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		const password = "the owner's password"
		if _, _, err := tenancy.RegisterUser(ctx, db, tenancy.SignUp{Email: "victim@example.com", Password: password}); err != nil {
			t.Fatal(err)
		}
		a := auth.NewAuthenticator(db, slog.New(slog.DiscardHandler))
		clk := clock.NewFake(time.Now())
		a.SetClock(clk.Now)
		attacker := 0
		attack := func() error {
			attacker++
			_, err := a.SignIn(ctx, " Victim@Example.COM", "guess", fmt.Sprintf("203.0.113.%d", attacker%250))
			return err
		}
		failures := 0
		for failures < 5 {
			if err := attack(); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("free failure %d: %v", failures, err)
			}
			failures++
		}
		if _, err := a.SignIn(ctx, "victim@example.com", password, "198.51.100.1"); !errors.Is(err, auth.ErrRateLimited) {
			t.Fatalf("after five failures with another spelling the owner's attempt answered %v, want the back-off", err)
		}
		// The attacker fails again the moment each wait ends, an hour long;
		// refused attempts in between change nothing.
		for range 200 {
			clk.Advance(time.Second)
			switch err := attack(); {
			case errors.Is(err, auth.ErrInvalidCredentials):
				failures++
			case !errors.Is(err, auth.ErrRateLimited):
				t.Fatalf("attack: %v", err)
			}
		}
		for range 60 {
			clk.Advance(time.Minute)
			if err := attack(); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("an attempt a minute after the last failure: %v, want it checked", err)
			}
			failures++
		}
		if failures < 60 {
			t.Fatalf("only %d failures were checked", failures)
		}
		// The owner, arriving a minute after the last failure, gets in.
		clk.Advance(time.Minute)
		u, err := a.SignIn(ctx, "victim@example.com", password, "198.51.100.1")
		if err != nil || u.Email != "victim@example.com" {
			t.Fatalf("the owner after the capped wait: %v", err)
		}
		// The success cleared the failures: five free ones again.
		for i := range 5 {
			if err := attack(); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("failure %d after the owner's success: %v", i, err)
			}
		}
	})
}

// Oversized fields are refused before any hashing: with every hashing slot
// taken, they are still answered at once.
func TestSignInRefusesOversizedFields(t *testing.T) {
	db, err := sqlstore.Open(t.Context(), testdb.SQLite(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := auth.NewAuthenticator(db, slog.New(slog.DiscardHandler))
	long := strings.Repeat("a", auth.MaxEmailLength) + "@example.com"
	release := auth.HoldHashSlots()
	defer release()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	for _, c := range []struct{ email, password string }{{long, "password"}, {"a@example.com", strings.Repeat("p", auth.MaxPasswordLength+1)}} {
		if _, err := a.SignIn(ctx, c.email, c.password, "203.0.113.1"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("oversized field (%d, %d bytes): %v, want refused without hashing", len(c.email), len(c.password), err)
		}
	}
	// A field within its limit waits for a slot: the check above is real.
	if _, err := a.SignIn(ctx, "a@example.com", "password", "203.0.113.1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a normal sign-in with no hashing slot: %v, want it to wait", err)
	}
}
