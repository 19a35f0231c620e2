package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/conformance"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// open opens a store with o and closes it when the test ends.
func open(t *testing.T, o postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pgtest.DSN(t)
	conformance.Run(t, func(t *testing.T) storage.Store {
		return open(t, postgres.Options{DSN: pgtest.Schema(t), HealthInterval: time.Second})
	})
}
