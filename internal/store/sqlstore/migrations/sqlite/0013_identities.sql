-- Sign-in with identity providers: which provider subject is which user,
-- the sign-ins in progress between the redirect and the callback, and the
-- accounts that require their members to use a provider.
CREATE TABLE user_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);

CREATE TABLE sso_logins (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier TEXT NOT NULL,
    next TEXT NOT NULL DEFAULT '',
    expires TEXT NOT NULL
);
CREATE INDEX sso_logins_expires ON sso_logins (expires);

ALTER TABLE accounts ADD COLUMN sso_required INTEGER NOT NULL DEFAULT 0;
