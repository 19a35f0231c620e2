-- Failed-attempt counts shared by every node (storage.FailureCounts), so that five wrong
-- passwords lock an account whichever nodes they hit. A count is a throttle's, not a
-- record: the table is UNLOGGED (no WAL, so a failed login does not wait for a
-- synchronous standby; a crash or a failover empties it, which forgets at most one
-- window of failures), and rows whose window is over are deleted as nodes add to it.
-- key is a digest of what is counted (never an email or an address in clear).
CREATE UNLOGGED TABLE throttle_counts (
    key TEXT PRIMARY KEY,
    started TIMESTAMPTZ NOT NULL,
    expires TIMESTAMPTZ NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX throttle_counts_expires ON throttle_counts (expires);
