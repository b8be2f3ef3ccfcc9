-- Service accounts and teams (issue #22). A service account is a user row
-- (so keys, memberships and the one role resolver work for it unchanged)
-- that has a service_accounts row: its name and account. It never signs in:
-- its email is under .invalid and its password hash is of a random secret
-- nobody is told.
CREATE TABLE service_accounts (
    user_id UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, name)
);

-- Teams group an account's members (users and service accounts) and give
-- them workspace roles. The authenticated request path reads
-- team_workspace_roles by workspace and team_members by user.
CREATE TABLE teams (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, name)
);

CREATE TABLE team_members (
    team_id UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id, team_id);

CREATE TABLE team_workspace_roles (
    team_id UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (team_id, workspace_id)
);
CREATE INDEX team_workspace_roles_workspace ON team_workspace_roles (workspace_id, team_id);
