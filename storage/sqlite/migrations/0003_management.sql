-- Management: listings, edits and deletes, key last use and the audit log. The PostgreSQL
-- backend has its own file with the same columns and indexes (BIGINT). Times are Unix
-- milliseconds in UTC, 0 for "none".

-- When a key was last used, moved forward only (TouchAPIKeys); 0 until first used.
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;

-- Listings page by (created_at, uid) within a tenant (and, for keys, within a user). These
-- replace the single-column indexes, which they cover as a prefix: api_keys_user also
-- serves the cascade from users and the lookup of a user's keys.
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_uid, created_at, uid);
CREATE INDEX api_keys_user_created ON api_keys (user_uid, created_at, uid);
DROP INDEX api_keys_tenant;
DROP INDEX api_keys_user;

CREATE INDEX users_tenant_created ON users (tenant_uid, created_at, uid);

CREATE INDEX projects_tenant_created ON projects (tenant_uid, created_at, uid);
DROP INDEX projects_tenant;

-- PruneSessions deletes by creation time.
CREATE INDEX sessions_created ON sessions (created_at);

-- What was done, by whom, from where. No foreign keys: events outlive the users, keys
-- and projects they name, and a failed login may name no known user.
CREATE TABLE audit_events (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_uid  TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    actor_uid   TEXT    NOT NULL, -- empty for a failed login by an unknown user
    actor_email TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_kind TEXT    NOT NULL,
    target_uid  TEXT    NOT NULL,
    source_ip   TEXT    NOT NULL,
    detail      TEXT    NOT NULL  -- short, never a secret
);

-- ListAudit pages newest first by (at, id) within a tenant (the index is read backwards).
CREATE INDEX audit_events_tenant_at ON audit_events (tenant_uid, at, id);
