-- Roles, teams and project role grants (Palette's people model). The PostgreSQL backend
-- has its own file with the same tables (0004). Built-in roles live in code with stable
-- uids (storage.BuiltinRoles); only custom roles are rows. Times are Unix milliseconds.
-- Existing stores keep every grant: a tenant-admin user holds Tenant Admin directly, and
-- each project membership becomes a Project Editor grant.

CREATE TABLE roles (
    uid         TEXT    NOT NULL PRIMARY KEY,
    tenant_uid  TEXT    NOT NULL REFERENCES tenants (uid),
    name        TEXT    NOT NULL,
    scope       TEXT    NOT NULL, -- tenant or project
    permissions TEXT    NOT NULL, -- sorted, comma-separated
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_uid, name)
);

-- The tenant-scope roles a user holds directly. users.role is kept in step with the
-- Tenant Admin row (tenant-admin when present) for older readers; it is no longer read.
CREATE TABLE user_roles (
    user_uid   TEXT    NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    role_uid   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_uid, role_uid)
);

CREATE INDEX user_roles_role ON user_roles (role_uid);

CREATE TABLE teams (
    uid        TEXT    NOT NULL PRIMARY KEY,
    tenant_uid TEXT    NOT NULL REFERENCES tenants (uid),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_uid, name)
);

CREATE INDEX teams_tenant_created ON teams (tenant_uid, created_at, uid);

CREATE TABLE team_members (
    team_uid TEXT NOT NULL REFERENCES teams (uid) ON DELETE CASCADE,
    user_uid TEXT NOT NULL REFERENCES users (uid) ON DELETE CASCADE,
    PRIMARY KEY (team_uid, user_uid)
);

CREATE INDEX team_members_user ON team_members (user_uid);

CREATE TABLE team_roles (
    team_uid TEXT NOT NULL REFERENCES teams (uid) ON DELETE CASCADE,
    role_uid TEXT NOT NULL,
    PRIMARY KEY (team_uid, role_uid)
);

-- Project roles held by a user or a team (subject_kind says which; no foreign key on
-- subject_uid, so deleting a user or team deletes its rows explicitly).
CREATE TABLE project_roles (
    project_uid  TEXT    NOT NULL REFERENCES projects (uid) ON DELETE CASCADE,
    subject_kind TEXT    NOT NULL, -- user or team
    subject_uid  TEXT    NOT NULL,
    role_uid     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (project_uid, subject_uid, role_uid)
);

CREATE INDEX project_roles_subject ON project_roles (subject_uid);

INSERT INTO user_roles (user_uid, role_uid, created_at)
    SELECT uid, 'role-tenant-admin', created_at FROM users WHERE role = 'tenant-admin';

INSERT INTO project_roles (project_uid, subject_kind, subject_uid, role_uid, created_at)
    SELECT project_uid, 'user', user_uid, 'role-project-editor', created_at FROM project_members;

DROP TABLE project_members;
