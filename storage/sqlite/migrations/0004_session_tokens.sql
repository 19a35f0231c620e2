-- The jti of each session's newest token: only that token may be refreshed, so a token
-- refreshed twice shows that two parties hold it. '' for sessions made before this
-- column (their first refresh sets it).
ALTER TABLE sessions ADD COLUMN token_id TEXT NOT NULL DEFAULT '';
