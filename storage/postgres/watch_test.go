package postgres_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/conformance"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// watchFor runs s.Watch until the test ends and returns the changes it delivers.
func watchFor(t *testing.T, s storage.Store) <-chan storage.Change {
	t.Helper()
	ch := make(chan storage.Change, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Watch(ctx, func(batch []storage.Change) {
			for _, c := range batch {
				ch <- c
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// next waits for the next change, failing the test after a few seconds.
func next(t *testing.T, ch <-chan storage.Change) storage.Change {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no change delivered within 10s")
		return storage.Change{}
	}
}

// seedUser creates a tenant with one admin, which records no change.
func seedUser(t *testing.T, s storage.Store, tenant string) {
	t.Helper()
	now := time.Now()
	if _, err := s.Bootstrap(context.Background(), storage.Tenant{UID: tenant, Name: tenant, CreatedAt: now},
		storage.User{UID: tenant + "-admin", TenantUID: tenant, Email: "admin@example.com", Role: storage.RoleTenantAdmin, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

func disable(t *testing.T, s storage.Store, uid string) {
	t.Helper()
	if err := s.SetUserDisabled(context.Background(), uid, true); err != nil {
		t.Fatal(err)
	}
}

// When its connection is cut, Watch reconnects by itself and delivers a ChangeResync
// (it may have missed notifications), then goes on delivering changes.
func TestWatchReconnectsAndResyncs(t *testing.T) {
	app := "kgtest_" + t.Name()[:8] + time.Now().Format("150405.000000")
	dsn := pgtest.WithParam(pgtest.Schema(t), "application_name", app)
	reports := make(chan error, 10)
	s := open(t, postgres.Options{DSN: dsn, OnListen: func(err error) { reports <- err }})
	seedUser(t, s, "t1")
	ch := watchFor(t, s)
	if c := next(t, ch); c.Kind != storage.ChangeResync {
		t.Fatalf("first batch = %+v, want a resync", c)
	}

	terminateListeners(t, app)
	if c := next(t, ch); c.Kind != storage.ChangeResync {
		t.Fatalf("after the connection was cut got %+v, want a resync", c)
	}
	disable(t, s, "t1-admin")
	if c := next(t, ch); c.Kind != storage.ChangeUser || c.Ref != "t1-admin" {
		t.Fatalf("after reconnecting got %+v, want the user change", c)
	}
	// The operator hears of the loss, once, and of the recovery.
	if err := <-reports; err == nil {
		t.Error("first report: nil, want the lost connection")
	}
	if err := <-reports; err != nil {
		t.Errorf("second report: %v, want nil (listening again)", err)
	}
	if len(reports) != 0 {
		t.Errorf("%d more reports, want none", len(reports))
	}
}

// terminateListeners kills the server processes serving LISTEN connections of app.
func terminateListeners(t *testing.T, app string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE 'LISTEN%'`, app).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no listening connection found to terminate")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two Keygates sharing a database in different schemas do not see each other's changes.
func TestWatchIgnoresOtherSchemas(t *testing.T) {
	a := open(t, postgres.Options{DSN: pgtest.Schema(t)})
	b := open(t, postgres.Options{DSN: pgtest.Schema(t)})
	seedUser(t, a, "ta")
	seedUser(t, b, "tb")
	ch := watchFor(t, a)
	next(t, ch) // positioned
	disable(t, b, "tb-admin")
	disable(t, a, "ta-admin")
	if c := next(t, ch); c.Ref != "ta-admin" {
		t.Fatalf("watcher of schema a got %+v, want only a's change", c)
	}
}

// Nodes starting at once on an empty database all come up: migrations do not race.
func TestOpenConcurrently(t *testing.T) {
	dsn := pgtest.Schema(t)
	const nodes = 4
	errs := conformance.AtOnce(nodes, func(int) error {
		s, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
		if err == nil {
			s.Close()
		}
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	s := open(t, postgres.Options{DSN: dsn})
	var applied int
	if err := s.DB().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	if applied != len(files) { // one per migration file
		t.Errorf("schema_migrations has %d rows, want %d", applied, len(files))
	}
}

// A DSN that cannot be reached fails Open with a message that names the database but
// not the password.
func TestOpenErrorHidesPassword(t *testing.T) {
	_, err := postgres.Open(context.Background(), postgres.Options{
		DSN: "postgres://keygate:s3cret-pw@127.0.0.1:1/nodb?sslmode=disable", ConnectTimeout: time.Second,
	})
	if err == nil {
		t.Fatal("Open succeeded on a closed port")
	}
	msg := err.Error()
	if strings.Contains(msg, "s3cret-pw") {
		t.Fatalf("error holds the password: %s", msg)
	}
	if !strings.Contains(msg, "keygate@127.0.0.1:1/nodb") {
		t.Errorf("error %q does not name the database", msg)
	}
}
