package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlstore"
)

// watchBatch is how many changes Watch reads and delivers at a time.
const watchBatch = 500

// Watch calls fn with each batch of changes committed after Watch began, by this process
// or any other using the same file, in Seq order, until ctx ends (it then returns
// ctx.Err()) or the store is closed.
//
// It polls PRAGMA data_version on a read connection of its own, which never writes: SQLite
// changes that number when another connection commits, but not for the connection's own
// commits. Only when it changes does Watch read the change log. Reads that fail are
// retried at the next tick; since Watch tracks the last Seq it delivered, nothing is lost.
// A running Watch also prunes the log of changes older than ChangeRetention.
func (s *Store) Watch(ctx context.Context, fn func([]storage.Change)) error {
	w := &watcher{store: s, fn: fn, pruner: sqlstore.ChangePruner{Store: s.Store, Every: s.opts.PruneInterval, Keep: s.opts.ChangeRetention}}
	defer w.dropConn()
	if w.started = w.start(ctx); w.started {
		w.fn([]storage.Change{{Kind: storage.ChangeResync}}) // positioned: see storage.Store.Watch
	}
	ticker := time.NewTicker(s.opts.PollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.Closed():
			return errClosed
		case <-ticker.C:
			w.tick(ctx)
		}
	}
}

// watcher is the state of one Watch call; only its goroutine touches it.
type watcher struct {
	store       *Store
	fn          func([]storage.Change)
	conn        *sql.Conn // dedicated to PRAGMA data_version; nil until (re)acquired
	version     int64     // data_version when the log was last read to its end
	haveVersion bool      // false after (re)acquiring conn: its numbers start afresh
	last        int64     // Seq of the last change delivered (or skipped by a resync)
	started     bool      // whether the start position is known
	pruner      sqlstore.ChangePruner
}

// start records where the watch begins: data_version first, then the newest Seq, so that
// a commit landing between the two is still seen as a change of data_version.
func (w *watcher) start(ctx context.Context) bool {
	v, err := w.dataVersion(ctx)
	if err != nil {
		return false
	}
	last, err := w.store.LatestChangeSeq(ctx)
	if err != nil {
		return false
	}
	w.version, w.haveVersion, w.last = v, true, last
	return true
}

func (w *watcher) tick(ctx context.Context) {
	if !w.started {
		// The start position could not be read when Watch began, so changes made since
		// may have been missed.
		if w.started = w.start(ctx); w.started {
			w.fn([]storage.Change{{Kind: storage.ChangeResync}})
		}
		return
	}
	v, err := w.dataVersion(ctx)
	if err != nil {
		return
	}
	if !w.haveVersion || v != w.version {
		if err := w.catchUp(ctx); err != nil {
			return // version left unrecorded: the next tick reads again
		}
		w.version, w.haveVersion = v, true
	}
	w.pruner.Maybe(ctx)
}

// catchUp delivers every change after w.last. SQLite assigns seqs without gaps (writers
// are serialised and a rolled-back seq is reused), so a first seq beyond w.last+1 means
// the log was pruned past this watcher: it then delivers one ChangeResync and skips to the
// newest change.
func (w *watcher) catchUp(ctx context.Context) error {
	for {
		changes, err := w.store.ChangesAfter(ctx, w.last, watchBatch)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		if changes[0].Seq > w.last+1 {
			latest, err := w.store.LatestChangeSeq(ctx)
			if err != nil {
				return err
			}
			w.fn([]storage.Change{{Kind: storage.ChangeResync}})
			w.last = latest
			continue
		}
		w.fn(changes)
		w.last = changes[len(changes)-1].Seq
		if len(changes) < watchBatch {
			return nil
		}
	}
}

// dataVersion reads PRAGMA data_version on the watcher's own connection, acquiring one if
// needed and dropping it when it fails.
func (w *watcher) dataVersion(ctx context.Context) (int64, error) {
	if w.conn == nil {
		c, err := w.store.DB().Conn(ctx)
		if err != nil {
			return 0, err
		}
		w.conn, w.haveVersion = c, false
	}
	var v int64
	if err := w.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		w.dropConn()
		return 0, err
	}
	return v, nil
}

func (w *watcher) dropConn() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}
