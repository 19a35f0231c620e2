// Package pgtest gives tests a fresh PostgreSQL schema on the server named by
// KEYGATE_TEST_POSTGRES_DSN, and skips them, visibly, when it is unset.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN names the variable that points the tests at a PostgreSQL database. .ci/run sets
// it to a database it creates for the run, and sets EnvRequire so that a test that would
// skip fails instead.
const (
	EnvDSN     = "KEYGATE_TEST_POSTGRES_DSN"
	EnvRequire = "KEYGATE_REQUIRE_POSTGRES"
)

// DSN returns the test database's DSN, skipping the test when none is configured.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" && os.Getenv(EnvRequire) != "" {
		t.Fatalf("%s is set but %s is not: the PostgreSQL tests cannot run", EnvRequire, EnvDSN)
	}
	if dsn == "" {
		t.Skipf("SKIP: PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/keygate_test); .ci/run sets it", EnvDSN)
	}
	return dsn
}

// Schema creates an empty schema for one test, dropped when the test ends, and returns
// a DSN whose search_path puts Keygate's tables in it. Each test then has a database of
// its own, without the cost of CREATE DATABASE.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	name := "kg_" + randomHex(8)
	exec(t, dsn, "CREATE SCHEMA "+name)
	t.Cleanup(func() { exec(t, dsn, "DROP SCHEMA "+name+" CASCADE") })
	return WithParam(dsn, "search_path", name)
}

// WithParam adds a run-time parameter to a DSN in either of its forms.
func WithParam(dsn, key, value string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + key + "=" + value
	}
	return dsn + " " + key + "=" + value
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
