-- A tenant's webhook endpoints. event_types is ",type,type," (',,' or '' for every event),
-- so that one LIKE finds the subscribers of a type on either database. The signing secret
-- is sealed with the gateway's secret key: deliveries need it in the clear to sign.
CREATE TABLE webhook_endpoints (
    uid           TEXT    NOT NULL PRIMARY KEY,
    tenant_uid    TEXT    NOT NULL REFERENCES tenants (uid),
    url           TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    event_types   TEXT    NOT NULL,
    sealed_secret BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_uid, created_at, uid);

-- The outbox: one row per event and endpoint, written in the transaction of the change
-- the event reports, so that a crash delays a delivery and never drops it. A node claims
-- a due row by setting lease_until; another node takes it only once that has passed.
CREATE TABLE webhook_deliveries (
    uid             TEXT    NOT NULL PRIMARY KEY,
    endpoint_uid    TEXT    NOT NULL REFERENCES webhook_endpoints (uid) ON DELETE CASCADE,
    tenant_uid      TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    UNIQUE (endpoint_uid, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_uid, created_at);

-- Expiry reminders sent: one row per key and threshold (in seconds; 0 for "expired"), so
-- that nodes racing to send one insert it once.
CREATE TABLE key_reminders (
    key_uid   TEXT    NOT NULL,
    threshold INTEGER NOT NULL,
    sent_at   INTEGER NOT NULL,
    PRIMARY KEY (key_uid, threshold)
);

CREATE INDEX api_keys_expiry ON api_keys (expires_at) WHERE active;
