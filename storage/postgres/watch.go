package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlstore"
)

// channel is what the change log's trigger notifies (see migrations/0001_init.sql).
const channel = "keygate_changes"

// firstReconnectWait is Watch's first wait after losing its connection; it doubles up to
// Options.ReconnectMax.
const firstReconnectWait = 100 * time.Millisecond

// Watch calls fn with each change committed after Watch began, by any node using the
// database, until ctx ends (it then returns ctx.Err()) or the store is closed.
//
// It LISTENs on a connection of its own. PostgreSQL delivers a notification when the
// transaction that sent it commits, in commit order, and drops nothing while the
// connection lives; so unlike SQLite's watcher it needs no reading of the log. When the
// connection fails, Watch reconnects by itself (backing off up to ReconnectMax, or at once
// when the store's pool connects to the database again) and then delivers a ChangeResync, since
// notifications sent while it was away are lost. The first batch is a ChangeResync too:
// from then on, nothing is missed (see storage.Store.Watch).
func (s *Store) Watch(ctx context.Context, fn func([]storage.Change)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Closed():
			cancel()
		case <-ctx.Done():
		}
	}()
	l := &listener{store: s, fn: fn, pruner: sqlstore.ChangePruner{Store: s.Store, Every: s.opts.PruneInterval, Keep: s.opts.ChangeRetention}}
	wait := firstReconnectWait
	for {
		err := l.listen(ctx)
		if err == nil {
			wait = firstReconnectWait
			l.report(nil)
			fn([]storage.Change{{Kind: storage.ChangeResync}})
			err = l.receive(ctx)
		}
		l.close()
		if ctx.Err() == nil {
			l.report(err)
		}
		select { // what the pool connected before this failure says nothing
		case <-s.connected:
		default:
		}
		select {
		case <-s.Closed():
			return errClosed
		case <-ctx.Done():
			return ctx.Err()
		case <-s.connected: // the pool reached a primary again: try now
			wait = firstReconnectWait
			continue
		case <-time.After(wait):
		}
		wait = min(2*wait, s.opts.ReconnectMax)
	}
}

// listener is the state of one Watch call; only its goroutine touches it.
type listener struct {
	store   *Store
	fn      func([]storage.Change)
	conn    *pgx.Conn // nil while disconnected
	schema  string    // notifications from other schemas belong to another Keygate
	pruner  sqlstore.ChangePruner
	failing bool // the last report was a failure
}

// listen connects and subscribes to the change channel.
func (l *listener) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, l.store.conn)
	if err != nil {
		return err
	}
	l.conn = conn
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&l.schema); err != nil {
		return fmt.Errorf("read current schema: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

// receive delivers notifications until the connection fails (it returns why) or ctx
// ends. Each wait is bounded by HealthInterval; when it runs out, a ping tells a quiet
// connection from a dead one, and the change log is pruned.
func (l *listener) receive(ctx context.Context) error {
	for {
		wait, cancel := context.WithTimeout(ctx, l.store.opts.HealthInterval)
		n, err := l.conn.WaitForNotification(wait)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
			if err := l.ping(ctx); err != nil {
				return fmt.Errorf("listening connection does not answer: %w", err)
			}
		case err != nil:
			return fmt.Errorf("listening connection lost: %w", err)
		default:
			if c, ok := l.parse(n.Payload); ok {
				l.fn([]storage.Change{c})
			}
		}
		l.pruner.Maybe(ctx)
	}
}

// ping checks the listening connection.
func (l *listener) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.store.opts.ConnectTimeout)
	defer cancel()
	return l.conn.Ping(ctx)
}

// report tells OnListen of a change between listening (err nil) and not: the first
// failure of a run of them, and the recovery after it.
func (l *listener) report(err error) {
	failing := err != nil
	if failing == l.failing {
		return
	}
	l.failing = failing
	if l.store.opts.OnListen != nil {
		l.store.opts.OnListen(err)
	}
}

// parse reads a "schema seq kind ref" payload; ok is false for another schema's change or
// a payload this version does not understand.
func (l *listener) parse(payload string) (storage.Change, bool) {
	parts := strings.SplitN(payload, " ", 4)
	if len(parts) != 4 || parts[0] != l.schema {
		return storage.Change{}, false
	}
	seq, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return storage.Change{}, false
	}
	return storage.Change{Seq: seq, Kind: storage.ChangeKind(parts[2]), Ref: parts[3]}, true
}

func (l *listener) close() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = l.conn.Close(ctx)
		l.conn = nil
	}
}
