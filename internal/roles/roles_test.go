package roles

import "testing"

func TestEffectiveWorkspaceRole(t *testing.T) {
	if EffectiveWorkspaceRole(AccountAdmin, "") != WorkspaceOwner || EffectiveWorkspaceRole(AccountMember, "") != "" ||
		EffectiveWorkspaceRole(AccountMember, WorkspaceViewer) != WorkspaceViewer {
		t.Fatal("account roles do not combine with workspace roles as documented")
	}
}

// A member's effective role is the highest of those they hold (their own,
// their teams'), and a worker role beside a viewer's or runner's adds to it.
func TestEffectiveWorkspaceRoleOfSeveral(t *testing.T) {
	for _, c := range []struct {
		account string
		held    []string
		want    string
	}{
		{AccountMember, []string{WorkspaceViewer, WorkspaceDeveloper, ""}, WorkspaceDeveloper},
		{AccountMember, []string{"", WorkspaceRunner, WorkspaceViewer}, WorkspaceRunner},
		{AccountMember, []string{WorkspaceOwner, WorkspaceWorker}, WorkspaceOwner},
		{AccountMember, []string{WorkspaceWorker, WorkspaceDeveloper}, WorkspaceDeveloper},
		{AccountMember, []string{WorkspaceWorker, WorkspaceViewer}, WorkspaceViewer + Both + WorkspaceWorker},
		{AccountMember, []string{WorkspaceRunner, WorkspaceWorker, WorkspaceViewer}, WorkspaceRunner + Both + WorkspaceWorker},
		{AccountMember, []string{WorkspaceWorker, ""}, WorkspaceWorker},
		{AccountMember, []string{"", ""}, ""},
		{AccountAdmin, []string{WorkspaceViewer}, WorkspaceOwner},
	} {
		if got := EffectiveWorkspaceRole(c.account, c.held...); got != c.want {
			t.Errorf("EffectiveWorkspaceRole(%q, %q) = %q, want %q", c.account, c.held, got, c.want)
		}
	}
}
