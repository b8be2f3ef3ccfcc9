// Package roles names the account and workspace roles, in Prefect Cloud's two
// layers, and the one rule that combines them. It is a leaf: the store keeps
// the names, auth turns them into permissions.
package roles

// Account roles (the first layer).
const (
	AccountOwner  = "owner"
	AccountAdmin  = "admin"
	AccountMember = "member"
)

// Workspace roles (the second layer).
const (
	WorkspaceOwner     = "owner"
	WorkspaceDeveloper = "developer"
	WorkspaceRunner    = "runner"
	WorkspaceViewer    = "viewer"
	WorkspaceWorker    = "worker"
)

// ValidAccountRole reports whether r names an account role.
func ValidAccountRole(r string) bool {
	return r == AccountOwner || r == AccountAdmin || r == AccountMember
}

// ValidWorkspaceRole reports whether r names a workspace role.
func ValidWorkspaceRole(r string) bool {
	switch r {
	case WorkspaceOwner, WorkspaceDeveloper, WorkspaceRunner, WorkspaceViewer, WorkspaceWorker:
		return true
	}
	return false
}

// EffectiveWorkspaceRole combines a user's account role and workspace
// membership: account owners and admins own every workspace of the account.
// It returns "" when the user has no access.
func EffectiveWorkspaceRole(accountRole, workspaceRole string) string {
	if accountRole == AccountOwner || accountRole == AccountAdmin {
		return WorkspaceOwner
	}
	return workspaceRole
}
