-- A tenant's SCIM token (at most one): only its SHA-256 digest is kept.
CREATE TABLE scim_tokens (
    tenant_uid   TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES tenants (uid),
    digest       BYTEA            NOT NULL UNIQUE,
    hint         TEXT             NOT NULL,
    created_at   BIGINT           NOT NULL,
    last_used_at BIGINT           NOT NULL DEFAULT 0
);

-- The identity provider's ids (SCIM externalId) of users and teams; they go with them.
CREATE TABLE scim_user_ids (
    user_uid    TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES users (uid) ON DELETE CASCADE,
    external_id TEXT             NOT NULL
);

CREATE TABLE scim_team_ids (
    team_uid    TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES teams (uid) ON DELETE CASCADE,
    external_id TEXT             NOT NULL
);
