package model

import (
	"encoding/json"

	"github.com/google/uuid"
)

// Invitation asks one email to join an account with a role and, optionally,
// some of its workspaces. The token that accepts it is shown (or mailed)
// once; only its hash is stored.
type Invitation struct {
	ID         uuid.UUID        `json:"id"`
	AccountID  uuid.UUID        `json:"account_id"`
	Email      string           `json:"email"`
	Role       string           `json:"role"`
	Workspaces []WorkspaceGrant `json:"workspaces"`
	InvitedBy  *uuid.UUID       `json:"invited_by"`
	TokenHash  string           `json:"-"`
	Created    Time             `json:"created"`
	Expires    Time             `json:"expires"`
}

// WorkspaceGrant is a role in one workspace that an invitation gives.
type WorkspaceGrant struct {
	WorkspaceID uuid.UUID `json:"workspace_id"`
	Role        string    `json:"role"`
}

// Actor kinds of audit entries.
const (
	ActorUser           = "user"
	ActorServiceAccount = "service-account" // acting with its pnb_ key
	ActorAnonymous      = "anonymous"       // a failed sign-in: nobody proved who they are
	ActorSystem         = "system"          // the server or an admin command on its host
)

// AuditEntry is one recorded action. The actor's name and email and the
// target's name are as they were when it happened.
type AuditEntry struct {
	Seq         int64           `json:"seq"`
	AccountID   *uuid.UUID      `json:"account_id"`
	WorkspaceID *uuid.UUID      `json:"workspace_id"`
	ActorID     *uuid.UUID      `json:"actor_id"`
	ActorKind   string          `json:"actor_kind"`
	ActorName   string          `json:"actor_name"`
	ActorEmail  string          `json:"actor_email"`
	Event       string          `json:"event"`
	TargetType  string          `json:"target_type"`
	TargetID    string          `json:"target_id"`
	TargetName  string          `json:"target_name"`
	SourceAddr  string          `json:"source_address"`
	UserAgent   string          `json:"user_agent"`
	Details     json.RawMessage `json:"details"`
	Occurred    Time            `json:"occurred"`
}
