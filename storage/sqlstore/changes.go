package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/keygate/keygate/storage"
)

// recordChange appends one change to the log in the transaction of the write that causes
// it, so a change is visible exactly when the write is. The "changes" lock makes
// transactions that record changes commit in seq order on databases that need a TxLocker
// for it (a PostgreSQL sequence hands out numbers before commit, so without it a reader
// could see seq 7 committed before seq 6 and skip 6); SQLite's single writer already does.
func (s *Store) recordChange(ctx context.Context, tx *sql.Tx, kind storage.ChangeKind, ref string, at time.Time) error {
	if err := s.lock(ctx, tx, "changes"); err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, "INSERT INTO changes (kind, ref, at) VALUES (?, ?, ?)", string(kind), ref, millis(at)); err != nil {
		return fmt.Errorf("record %s change: %w", kind, err)
	}
	return nil
}

// recordChanges records a change of kind for each of refs, in order, all at now; what
// names the write that causes them in errors.
func (s *Store) recordChanges(ctx context.Context, tx *sql.Tx, what string, kind storage.ChangeKind, now time.Time, refs ...string) error {
	for _, ref := range refs {
		if err := s.recordChange(ctx, tx, kind, ref, now); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// keyRefs are the refs of ChangeAPIKey changes for keys with these digests.
func keyRefs(digests ...[]byte) []string {
	refs := make([]string, len(digests))
	for i, d := range digests {
		refs[i] = hex.EncodeToString(d)
	}
	return refs
}

// ChangesAfter returns up to limit changes with Seq > afterSeq, in Seq order.
func (s *Store) ChangesAfter(ctx context.Context, afterSeq int64, limit int) ([]storage.Change, error) {
	return queryAll(ctx, s, s.reads, fmt.Sprintf("changes after %d", afterSeq), scanChange,
		"SELECT seq, kind, ref FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit)
}

func scanChange(sc scanner) (storage.Change, error) {
	var (
		c    storage.Change
		kind string
	)
	err := sc.Scan(&c.Seq, &kind, &c.Ref)
	c.Kind = storage.ChangeKind(kind)
	return c, err
}

// LatestChangeSeq returns the Seq of the newest change, 0 when the log is empty.
func (s *Store) LatestChangeSeq(ctx context.Context) (int64, error) {
	return s.changeSeq(ctx, "MAX")
}

// OldestChangeSeq returns the Seq of the oldest retained change, 0 when the log is empty.
func (s *Store) OldestChangeSeq(ctx context.Context) (int64, error) {
	return s.changeSeq(ctx, "MIN")
}

func (s *Store) changeSeq(ctx context.Context, agg string) (int64, error) {
	var seq int64
	if err := s.queryRow(ctx, s.reads, "SELECT COALESCE("+agg+"(seq), 0) FROM changes").Scan(&seq); err != nil {
		return 0, fmt.Errorf("%s change seq: %w", agg, err)
	}
	return seq, nil
}

// PruneChanges deletes changes recorded before the given time and reports how many. It
// always keeps the newest change, so that LatestChangeSeq stays the true high-water mark
// and a watcher starting from it never mistakes the pruned log for a gap.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	return s.execCount(ctx, s.writes, "prune changes",
		"DELETE FROM changes WHERE at < ? AND seq < (SELECT MAX(seq) FROM changes)", millis(before))
}

// ChangePruner prunes the change log from a running watcher's loop, at most once per
// Every, of changes older than Keep. A failure is only retried at the next interval: a
// longer log costs nothing but space. Only the watcher's goroutine may use it.
type ChangePruner struct {
	Store       *Store
	Every, Keep time.Duration
	last        time.Time
}

// Maybe prunes if Every has passed since the last time.
func (p *ChangePruner) Maybe(ctx context.Context) {
	now := time.Now()
	if now.Sub(p.last) < p.Every {
		return
	}
	p.last = now
	_, _ = p.Store.PruneChanges(ctx, now.Add(-p.Keep))
}
