package auth

import (
	"strings"

	"github.com/praetorhq/praetor/internal/roles"
)

// AnonymousRole is the role of a caller without a key on the default
// workspace in anonymous mode. It is not assignable: it does a developer's
// work but nothing about the workspace itself or its members (whose list
// names users, and whose changes grant access).
const AnonymousRole = "anonymous"

// Permission is a verb:resource pair, in the vocabulary Prefect's UI checks
// (read:flow_run, run:deployment, …). Every API route requires exactly one.
type Permission string

// Workspace permissions reserved to owners.
const (
	ManageWorkspace  Permission = "update:workspace"
	ManageMembership Permission = "manage:workspace_membership"
)

// ReadBlockSecrets lets a caller read the secret values of block
// documents (include_secrets=true). Prefect Cloud's viewers and runners
// see blocks, its developers "blocks and their secrets"; a worker does not
// (issue #22): a worker's key polls and reports, and the flows it starts
// that load credentials from blocks need a key that may read them.
const ReadBlockSecrets Permission = "read:block_secrets"

// workerPermissions is the least a worker needs: read its pool, heartbeat
// and poll it, claim and report runs, ship logs and events. It cannot
// change pools or queues (their pause and limits are the developers').
var workerPermissions = map[Permission]bool{
	"read:flow": true, "read:flow_run": true, "update:flow_run": true, "read:task_run": true,
	"create:task_run": true, "update:task_run": true, "create:log": true, "create:event": true, "read:event": true,
	"read:deployment": true, "read:work_pool": true, "poll:work_pool": true, "read:work_queue": true,
	"read:worker": true, "update:worker": true, "read:variable": true, "read:artifact": true, "create:artifact": true,
	"read:workspace": true,
	// The flows a worker runs register the block types they save and read
	// their result storage's block with its key.
	"read:block": true, "create:block": true,
	// The flows a worker runs take and give back concurrency slots (their
	// tasks' tag limits, concurrency()), and hold a deployment's.
	"read:concurrency_limit": true, "use:concurrency_limit": true,
}

// Can reports whether a workspace role grants p. An effective role that
// joins two (roles.Both) grants what either does.
func Can(role string, p Permission) bool {
	if first, second, ok := strings.Cut(role, roles.Both); ok {
		return Can(first, p) || Can(second, p)
	}
	verb, _, _ := strings.Cut(string(p), ":")
	switch role {
	case roles.WorkspaceOwner:
		return true
	case roles.WorkspaceDeveloper:
		return p != ManageWorkspace && p != ManageMembership
	case AnonymousRole:
		_, resource, _ := strings.Cut(string(p), ":")
		return resource != "workspace" && resource != "workspace_membership"
	case roles.WorkspaceRunner:
		return verb == "read" && p != ReadBlockSecrets || p == "run:deployment"
	case roles.WorkspaceViewer:
		return verb == "read" && p != ReadBlockSecrets
	case roles.WorkspaceWorker:
		return workerPermissions[p]
	}
	return false
}
