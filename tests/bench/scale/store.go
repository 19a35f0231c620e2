package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/sqlite"
)

// storeTarget is the store under test: how this process opens it, and how the gateway's
// Caddyfile names it.
type storeTarget struct {
	backend  string
	location string // the SQLite file, or the PostgreSQL DSN
}

// newStoreTarget picks a fresh store and returns what removes it again.
func newStoreTarget(ctx context.Context, o options) (storeTarget, func(), error) {
	if o.backend == "postgres" {
		t := storeTarget{backend: "postgres", location: o.dsn}
		return t, func() {}, t.mustBeEmpty(ctx)
	}
	path := sqliteFile(o.dir)
	remove := func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}
	remove()
	return storeTarget{backend: "sqlite", location: path}, remove, nil
}

func (t storeTarget) open(ctx context.Context) (storage.Store, error) {
	if t.backend == "postgres" {
		return postgres.Open(ctx, postgres.Options{DSN: t.location})
	}
	return sqlite.Open(ctx, sqlite.Options{Path: t.location})
}

// caddyfileStorage is the storage line of the gateway's Caddyfile.
func (t storeTarget) caddyfileStorage() string {
	return "storage " + t.backend + " " + strconv.Quote(t.location)
}

// mustBeEmpty refuses a PostgreSQL database that holds a tenant already: the figures
// are for a store of exactly -keys keys.
func (t storeTarget) mustBeEmpty(ctx context.Context) error {
	st, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tenants, err := st.ListTenants(ctx)
	if err != nil {
		return err
	}
	if len(tenants) > 0 {
		return fmt.Errorf("the PostgreSQL database holds %d tenants; give -dsn an empty database", len(tenants))
	}
	return nil
}
