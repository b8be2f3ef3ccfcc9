-- Invitations and the audit log (issue #22).
--
-- An invitation asks one email to join an account (with an account role)
-- and, optionally, some of its workspaces (workspaces: a JSON list of
-- {workspace_id, role}). Only the hash of its one-time token is kept; the
-- row goes when the invitation is accepted or revoked.
CREATE TABLE invitations (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    workspaces JSONB NOT NULL DEFAULT '[]',
    token_hash TEXT NOT NULL UNIQUE,
    invited_by UUID REFERENCES users(id) ON DELETE SET NULL,
    created TIMESTAMPTZ NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
CREATE INDEX invitations_account ON invitations (account_id, created);

-- The audit log is append-only: no foreign keys, so an entry outlives the
-- workspace, key or member it names; rows leave only by the retention
-- pass. seq orders entries and pages through them.
CREATE TABLE audit_log (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id UUID,
    workspace_id UUID,
    actor_id UUID,
    actor_kind TEXT NOT NULL,
    actor_name TEXT NOT NULL DEFAULT '',
    actor_email TEXT NOT NULL DEFAULT '',
    event TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id TEXT NOT NULL DEFAULT '',
    target_name TEXT NOT NULL DEFAULT '',
    source_addr TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    details JSONB NOT NULL DEFAULT '{}',
    occurred TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, seq);
CREATE INDEX audit_log_occurred ON audit_log (occurred);
