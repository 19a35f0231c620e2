-- A tenant's OpenID Connect sign-in. The settings are JSON (Palette's shape grows); the
-- client secret is kept sealed by the service, never in plain text.
CREATE TABLE oidc_configs (
    tenant_uid    TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES tenants (uid),
    settings      TEXT             NOT NULL,
    sealed_secret BYTEA            NOT NULL,
    updated_at    BIGINT           NOT NULL
);

-- Users' accounts at identity providers: an issuer's subject is one user of a tenant.
CREATE TABLE user_identities (
    tenant_uid TEXT COLLATE "C" NOT NULL,
    issuer     TEXT COLLATE "C" NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    user_uid   TEXT COLLATE "C" NOT NULL,
    created_at BIGINT           NOT NULL,
    PRIMARY KEY (tenant_uid, issuer, subject),
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX user_identities_user ON user_identities (user_uid);
