-- Secrets the gateway keeps in the store, so that every node shares them: one row per
-- name. 'api_key_tag' keys the tag that new API keys carry (see authcore.KeyTag).
CREATE TABLE secrets (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    secret     BYTEA            NOT NULL,
    created_at BIGINT           NOT NULL
);

-- Whether a key was made with a tag. Keys made before tags (false) are the legacy keys
-- each node loads at start; the partial index keeps that read small however many tagged
-- keys there are.
ALTER TABLE api_keys ADD COLUMN tagged BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX api_keys_untagged ON api_keys (digest) WHERE NOT tagged;
