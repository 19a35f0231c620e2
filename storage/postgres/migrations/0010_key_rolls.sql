-- A rolled key and its replacement name each other (RollAPIKey): the new key's
-- rolled_from, the old key's rolled_to. '' when a key is neither.
ALTER TABLE api_keys ADD COLUMN rolled_from TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN rolled_to TEXT NOT NULL DEFAULT '';
