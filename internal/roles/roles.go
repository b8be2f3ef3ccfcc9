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

// rank orders the workspace roles whose permissions nest: each grants all
// the next one does. A worker's do not nest with a viewer's or a runner's
// (it updates runs but cannot trigger them; they read what it cannot), so
// it has no rank: see EffectiveWorkspaceRole.
var rank = map[string]int{WorkspaceViewer: 1, WorkspaceRunner: 2, WorkspaceDeveloper: 3, WorkspaceOwner: 4}

// Both joins two roles a member holds at once whose permissions are the
// union of theirs ("runner+worker"); auth.Can grants what either part does.
const Both = "+"

// EffectiveWorkspaceRole combines a user's account role with the workspace
// roles they hold (their own membership's and their teams'): account owners
// and admins own every workspace of the account; otherwise the highest of
// owner > developer > runner > viewer wins, and a worker role held beside a
// viewer or runner one is added to it (developers and owners can do all a
// worker can). It returns "" when the user has no access.
func EffectiveWorkspaceRole(accountRole string, workspaceRoles ...string) string {
	if accountRole == AccountOwner || accountRole == AccountAdmin {
		return WorkspaceOwner
	}
	best, worker := "", false
	for _, r := range workspaceRoles {
		if r == WorkspaceWorker {
			worker = true
		} else if rank[r] > rank[best] {
			best = r
		}
	}
	switch {
	case !worker:
		return best
	case best == "":
		return WorkspaceWorker
	case rank[best] <= rank[WorkspaceRunner]:
		return best + Both + WorkspaceWorker
	}
	return best
}
