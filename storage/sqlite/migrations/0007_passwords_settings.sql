-- Pending password activations and resets: only the SHA-256 digest of each token is
-- kept, with its expiry; a user has at most one (a new one replaces the old).
CREATE TABLE password_tokens (
    id         TEXT    NOT NULL PRIMARY KEY,
    tenant_uid TEXT    NOT NULL,
    user_uid   TEXT    NOT NULL UNIQUE,
    digest     BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX password_tokens_tenant ON password_tokens (tenant_uid, created_at, id);

-- A tenant's own settings; no row means the gateway's defaults.
CREATE TABLE tenant_settings (
    tenant_uid        TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (uid),
    token_ttl_seconds INTEGER NOT NULL DEFAULT 0, -- 0: the gateway's token_ttl
    updated_at        INTEGER NOT NULL
);
