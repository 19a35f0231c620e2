-- Pending password activations and resets: only the SHA-256 digest of each token is
-- kept, with its expiry; a user has at most one (a new one replaces the old).
CREATE TABLE password_tokens (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_uid TEXT COLLATE "C" NOT NULL,
    user_uid   TEXT COLLATE "C" NOT NULL UNIQUE,
    digest     BYTEA            NOT NULL UNIQUE,
    created_at BIGINT           NOT NULL,
    expires_at BIGINT           NOT NULL,
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX password_tokens_tenant ON password_tokens (tenant_uid, created_at, id);

-- A tenant's own settings; no row means the gateway's defaults.
CREATE TABLE tenant_settings (
    tenant_uid        TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES tenants (uid),
    token_ttl_seconds BIGINT           NOT NULL DEFAULT 0, -- 0: the gateway's token_ttl
    updated_at        BIGINT           NOT NULL
);
