-- Keygate's initial SQLite schema. The PostgreSQL backend has its own files with the same
-- tables, columns and meaning (BIGINT, BYTEA, BOOLEAN, BIGSERIAL), so that sqlstore's
-- queries run on both. Times are Unix milliseconds in UTC, 0 for "none"; booleans are 0/1.
-- schema_migrations is created by the migration runner itself (sqlstore.Migrate).

CREATE TABLE tenants (
    uid        TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    uid           TEXT    NOT NULL PRIMARY KEY,
    tenant_uid    TEXT    NOT NULL REFERENCES tenants (uid),
    email         TEXT    NOT NULL, -- lower-cased by the store
    first_name    TEXT    NOT NULL,
    last_name     TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    disabled      INTEGER NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (tenant_uid, email),
    -- Lets api_keys require that a key's user belongs to the key's tenant.
    UNIQUE (uid, tenant_uid)
);

-- UsersByEmail looks across tenants.
CREATE INDEX users_email ON users (email);

CREATE TABLE projects (
    uid        TEXT    NOT NULL PRIMARY KEY,
    tenant_uid TEXT    NOT NULL REFERENCES tenants (uid),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX projects_tenant ON projects (tenant_uid);

CREATE TABLE project_members (
    project_uid TEXT    NOT NULL REFERENCES projects (uid) ON DELETE CASCADE,
    user_uid    TEXT    NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (project_uid, user_uid)
);

CREATE INDEX project_members_user ON project_members (user_uid);

CREATE TABLE api_keys (
    uid         TEXT    NOT NULL PRIMARY KEY,
    tenant_uid  TEXT    NOT NULL REFERENCES tenants (uid),
    user_uid    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    digest      BLOB    NOT NULL UNIQUE,
    hint        TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    active      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX api_keys_user ON api_keys (user_uid);
CREATE INDEX api_keys_tenant ON api_keys (tenant_uid);

-- The change log watchers read. AUTOINCREMENT so that a seq is never reused, even after
-- the newest rows are deleted.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT    NOT NULL,
    ref  TEXT    NOT NULL,
    at   INTEGER NOT NULL
);
