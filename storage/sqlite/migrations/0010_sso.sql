-- A tenant's OpenID Connect sign-in. The settings are JSON (Palette's shape grows); the
-- client secret is kept sealed by the service, never in plain text.
CREATE TABLE oidc_configs (
    tenant_uid    TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (uid),
    settings      TEXT    NOT NULL,
    sealed_secret BLOB    NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Users' accounts at identity providers: an issuer's subject is one user of a tenant.
CREATE TABLE user_identities (
    tenant_uid TEXT    NOT NULL,
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_uid   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_uid, issuer, subject),
    FOREIGN KEY (user_uid, tenant_uid) REFERENCES users (uid, tenant_uid) ON DELETE CASCADE
);

CREATE INDEX user_identities_user ON user_identities (user_uid);
