package roles

import "testing"

func TestEffectiveWorkspaceRole(t *testing.T) {
	if EffectiveWorkspaceRole(AccountAdmin, "") != WorkspaceOwner || EffectiveWorkspaceRole(AccountMember, "") != "" ||
		EffectiveWorkspaceRole(AccountMember, WorkspaceViewer) != WorkspaceViewer {
		t.Fatal("account roles do not combine with workspace roles as documented")
	}
}
