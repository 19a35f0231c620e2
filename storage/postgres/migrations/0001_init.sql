-- Keygate's PostgreSQL schema: the same tables, columns and meaning as the SQLite
-- backend's migrations 0001-0003 together, so that sqlstore's queries run on both. Times
-- are Unix milliseconds in UTC, 0 for "none". Text columns use the "C" collation so that
-- uids sort bytewise, as in SQLite, and keyset cursors page the same way on both.
-- schema_migrations is created by the migration runner itself (sqlstore.Migrate).

CREATE TABLE tenants (
    uid        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT           NOT NULL
);

CREATE TABLE users (
    uid           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_uid    TEXT COLLATE "C" NOT NULL REFERENCES tenants (uid),
    email         TEXT COLLATE "C" NOT NULL, -- lower-cased by the store
    first_name    TEXT             NOT NULL,
    last_name     TEXT             NOT NULL,
    role          TEXT COLLATE "C" NOT NULL,
    disabled      BOOLEAN          NOT NULL,
    password_hash TEXT             NOT NULL,
    created_at    BIGINT           NOT NULL,
    updated_at    BIGINT           NOT NULL,
    UNIQUE (tenant_uid, email),
    -- Lets api_keys and sessions require that their user belongs to their tenant.
    UNIQUE (uid, tenant_uid)
);

CREATE INDEX users_email ON users (email);
CREATE INDEX users_tenant_created ON users (tenant_uid, created_at, uid);

CREATE TABLE projects (
    uid        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_uid TEXT COLLATE "C" NOT NULL REFERENCES tenants (uid),
    name       TEXT             NOT NULL,
    created_at BIGINT           NOT NULL
);

CREATE INDEX projects_tenant_created ON projects (tenant_uid, created_at, uid);

CREATE TABLE project_members (
    project_uid TEXT COLLATE "C" NOT NULL REFERENCES projects (uid) ON DELETE CASCADE,
    user_uid    TEXT COLLATE "C" NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    created_at  BIGINT           NOT NULL,
    PRIMARY KEY (project_uid, user_uid)
);

CREATE INDEX project_members_user ON project_members (user_uid);

CREATE TABLE api_keys (
    uid          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_uid   TEXT COLLATE "C" NOT NULL REFERENCES tenants (uid),
    user_uid     TEXT COLLATE "C" NOT NULL,
    name         TEXT             NOT NULL,
    description  TEXT             NOT NULL,
    digest       BYTEA            NOT NULL UNIQUE,
    hint         TEXT             NOT NULL,
    expires_at   BIGINT           NOT NULL,
    active       BOOLEAN          NOT NULL,
    created_at   BIGINT           NOT NULL,
    updated_at   BIGINT           NOT NULL,
    last_used_at BIGINT           NOT NULL DEFAULT 0,
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX api_keys_tenant_created ON api_keys (tenant_uid, created_at, uid);
CREATE INDEX api_keys_user_created ON api_keys (user_uid, created_at, uid);

CREATE TABLE signing_keys (
    kid        TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    secret     BYTEA            NOT NULL,
    created_at BIGINT           NOT NULL
);

CREATE TABLE sessions (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_uid   TEXT COLLATE "C" NOT NULL,
    tenant_uid TEXT COLLATE "C" NOT NULL,
    created_at BIGINT           NOT NULL,
    revoked_at BIGINT           NOT NULL DEFAULT 0, -- 0 while the session is live
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX sessions_revoked ON sessions (revoked_at);
CREATE INDEX sessions_user ON sessions (user_uid);
CREATE INDEX sessions_created ON sessions (created_at);

CREATE TABLE audit_events (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_uid  TEXT COLLATE "C" NOT NULL,
    at          BIGINT           NOT NULL,
    actor_uid   TEXT COLLATE "C" NOT NULL,
    actor_email TEXT             NOT NULL,
    action      TEXT             NOT NULL,
    target_kind TEXT             NOT NULL,
    target_uid  TEXT             NOT NULL,
    source_ip   TEXT             NOT NULL,
    detail      TEXT             NOT NULL
);

CREATE INDEX audit_events_tenant_at ON audit_events (tenant_uid, at, id);

-- The change log. Every node LISTENs on keygate_changes; the trigger NOTIFYs in the
-- writing transaction, so the notification is sent exactly when the change commits, and
-- never for a change rolled back. The payload is "schema seq kind ref" (refs hold no
-- spaces); the schema lets nodes of different Keygates in one database ignore each other.
CREATE TABLE changes (
    seq  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL,
    ref  TEXT COLLATE "C" NOT NULL,
    at   BIGINT           NOT NULL
);

CREATE INDEX changes_at ON changes (at);

CREATE FUNCTION keygate_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('keygate_changes', TG_TABLE_SCHEMA || ' ' || NEW.seq || ' ' || NEW.kind || ' ' || NEW.ref); RETURN NULL; END
$$;

CREATE TRIGGER changes_notify AFTER INSERT ON changes
    FOR EACH ROW EXECUTE FUNCTION keygate_notify_change();
