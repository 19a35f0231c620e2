-- Token signing keys and login sessions. The PostgreSQL backend has its own file with the
-- same tables (BYTEA, BIGINT). Times are Unix milliseconds in UTC, 0 for "none".

-- Secrets every node reads, so that a token signed by one node verifies on all of them.
CREATE TABLE signing_keys (
    kid        TEXT    NOT NULL PRIMARY KEY,
    secret     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_uid   TEXT    NOT NULL,
    tenant_uid TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL DEFAULT 0, -- 0 while the session is live
    -- As for api_keys: the user must exist and belong to the session's tenant.
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

-- RevokedSessionsSince reads a range of revoked_at.
CREATE INDEX sessions_revoked ON sessions (revoked_at);
-- Serves the cascade when a user is deleted, and lookups by user.
CREATE INDEX sessions_user ON sessions (user_uid);
