package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/keygate/keygate/storage"
)

// AddFailures implements storage.FailureCounts on the UNLOGGED throttle_counts table
// (migrations/0012_throttle_counts.sql): one statement per call, an upsert for attempts
// and an update for attempts given back. Now and then a call also deletes the counts whose
// window is over, so the table holds about one window of failures.
func (s *Store) AddFailures(ctx context.Context, now time.Time, adds []storage.FailureAdd) ([]storage.FailureTally, error) {
	if len(adds) == 0 {
		return nil, nil
	}
	keys := make([]string, len(adds))
	deltas := make([]int64, len(adds))
	windows := make([]int64, len(adds))
	up := adds[0].Delta > 0
	for i, a := range adds {
		if (a.Delta > 0) != up {
			return nil, fmt.Errorf("postgres: AddFailures: attempts and refunds in one call")
		}
		keys[i], deltas[i], windows[i] = a.Key, int64(a.Delta), a.Window.Microseconds()
	}
	query := addFailures
	if !up {
		query = refundFailures
	}
	rows, err := s.db.QueryContext(ctx, query, now.UTC(), keys, deltas, windows)
	if err != nil {
		return nil, fmt.Errorf("postgres: counting failures: %w", err)
	}
	defer rows.Close()
	byKey := make(map[string]storage.FailureTally, len(adds))
	for rows.Next() {
		var key string
		var t storage.FailureTally
		if err := rows.Scan(&key, &t.Count, &t.Start); err != nil {
			return nil, fmt.Errorf("postgres: counting failures: %w", err)
		}
		byKey[key] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: counting failures: %w", err)
	}
	tallies := make([]storage.FailureTally, len(adds))
	for i, k := range keys {
		tallies[i] = byKey[k]
	}
	if up && rand.IntN(pruneFailuresOneIn) == 0 {
		_, _ = s.db.ExecContext(ctx, "DELETE FROM throttle_counts WHERE expires <= $1", now.UTC())
	}
	return tallies, nil
}

// pruneFailuresOneIn: one attempt in this many also deletes the counts that are over.
const pruneFailuresOneIn = 64

// addFailures counts attempts: a new count, or one whose window is over, starts at now.
const addFailures = `INSERT INTO throttle_counts AS t (key, started, expires, count)
SELECT u.key, $1::timestamptz, $1::timestamptz + u.window_us * interval '1 microsecond', u.delta
FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS u(key, delta, window_us)
ON CONFLICT (key) DO UPDATE SET
	started = CASE WHEN t.expires <= excluded.started THEN excluded.started ELSE t.started END,
	expires = CASE WHEN t.expires <= excluded.started THEN excluded.expires ELSE t.expires END,
	count = CASE WHEN t.expires <= excluded.started THEN excluded.count ELSE t.count + excluded.count END
RETURNING t.key, t.count, t.started`

// refundFailures gives attempts back to live counts only.
const refundFailures = `UPDATE throttle_counts AS t SET count = GREATEST(t.count + u.delta, 0)
FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS u(key, delta, window_us)
WHERE t.key = u.key AND t.expires > $1::timestamptz
RETURNING t.key, t.count, t.started`
