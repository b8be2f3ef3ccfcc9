package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("s3cret-passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := CheckPassword(h, "s3cret-passw0rd"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "s3cret-passw0rD"); ok {
		t.Fatal("wrong password accepted")
	}
	if h2, _ := HashPassword("s3cret-passw0rd"); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := CheckPassword("$bcrypt$x", "p"); err == nil {
		t.Fatal("malformed hash accepted")
	}
}

func TestKeys(t *testing.T) {
	key, prefix, hash, err := NewKey(UserKeyPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != len(UserKeyPrefix)+36 || !strings.HasPrefix(key, prefix) || KeyPrefix(key) != prefix {
		t.Fatalf("key %q prefix %q", key, prefix)
	}
	if strings.Contains(hash, key[len(prefix):]) || !KeyMatches(key, hash) || KeyMatches(key+"x", hash) {
		t.Fatal("hash does not identify the key")
	}
	other, _, _, _ := NewKey(UserKeyPrefix)
	if other == key {
		t.Fatal("two keys are equal")
	}
	for _, bad := range []string{"", "pnu_short", "xyz_" + key[4:], "Bearer " + key} {
		if KeyPrefix(bad) != "" {
			t.Errorf("KeyPrefix(%q) accepted", bad)
		}
	}
}

func TestRoles(t *testing.T) {
	cases := []struct {
		role string
		perm Permission
		want bool
	}{
		{WorkspaceViewer, "read:flow_run", true},
		{WorkspaceViewer, "update:flow_run", false},
		{WorkspaceRunner, "run:deployment", true},
		{WorkspaceRunner, "create:flow", false},
		{WorkspaceDeveloper, "delete:flow_run", true},
		{WorkspaceDeveloper, ManageMembership, false},
		{WorkspaceOwner, ManageMembership, true},
		{WorkspaceWorker, "update:flow_run", true},
		{WorkspaceWorker, "delete:flow", false},
		{"", "read:flow", false},
	}
	for _, c := range cases {
		if got := Can(c.role, c.perm); got != c.want {
			t.Errorf("Can(%q, %q) = %v", c.role, c.perm, got)
		}
	}
	if EffectiveWorkspaceRole(AccountAdmin, "") != WorkspaceOwner || EffectiveWorkspaceRole(AccountMember, "") != "" ||
		EffectiveWorkspaceRole(AccountMember, WorkspaceViewer) != WorkspaceViewer {
		t.Fatal("account roles do not combine with workspace roles as documented")
	}
}

// Sign-in attempts are limited per account and per address, separately.
func TestLimiter(t *testing.T) {
	l := newLimiter(3, time.Minute)
	now := time.Now()
	for i := range 3 {
		if !l.allow(now, "account:a", "addr:1") {
			t.Fatalf("attempt %d refused", i)
		}
	}
	if l.allow(now, "account:a", "addr:2") {
		t.Fatal("fourth attempt on one account allowed from another address")
	}
	if l.allow(now, "account:b", "addr:1") {
		t.Fatal("fourth attempt from one address allowed on another account")
	}
	if !l.allow(now.Add(2*time.Minute), "account:a", "addr:1") {
		t.Fatal("attempts did not expire with the window")
	}
}
