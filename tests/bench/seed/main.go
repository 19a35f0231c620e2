// Command seed fills a fresh Keygate SQLite store for the load benchmark (tests/bench/run.sh):
// a tenant, a user with a password, one API key for the cached-key scenarios, and -keys
// further valid keys for the miss-and-eviction scenario, written one per line to -keys-out.
// It uses authcore.Admin directly on the file, which is far faster than the keygate CLI.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

func main() {
	var (
		dbPath   = flag.String("db", "", "SQLite file to create (must not exist)")
		tenant   = flag.String("tenant", "bench", "tenant name")
		email    = flag.String("email", "bench@bench.test", "the user's email")
		password = flag.String("password", "", "the user's password (required)")
		nKeys    = flag.Int("keys", 100000, "number of extra distinct valid keys")
		keysOut  = flag.String("keys-out", "", "file for the extra keys, one per line")
		keyOut   = flag.String("key-out", "", "file for the single cached-path key")
	)
	flag.Parse()
	if *dbPath == "" || *password == "" || *keysOut == "" || *keyOut == "" {
		log.Fatal("seed: -db, -password, -keys-out and -key-out are required")
	}
	if _, err := os.Stat(*dbPath); err == nil {
		log.Fatalf("seed: %s exists; the benchmark wants a fresh store", *dbPath)
	}
	start := time.Now()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: *dbPath})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	ad := manage.Operator{Service: manage.NewService(manage.ServiceConfig{Store: st}), OSUser: "bench-seed"}

	if _, err := ad.CreateTenant(ctx, *tenant); err != nil {
		log.Fatal(err)
	}
	user, err := ad.CreateUser(ctx, manage.NewUser{
		TenantName: *tenant, Email: *email, Role: storage.RoleUser, Password: *password,
	})
	if err != nil {
		log.Fatal(err)
	}
	newKey := func(name string) string {
		k, err := ad.CreateAPIKey(ctx, manage.NewAPIKey{User: user, Name: name, Expiry: "30d"})
		if err != nil {
			log.Fatal(err)
		}
		return k.Key
	}
	if err := os.WriteFile(*keyOut, []byte(newKey("bench-cached")+"\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	f, err := os.OpenFile(*keysOut, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range *nKeys {
		fmt.Fprintln(w, newKey(fmt.Sprintf("bench-%06d", i)))
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	log.Printf("seed: tenant %q, user %s, 1 + %d keys in %s", *tenant, *email, *nKeys, time.Since(start).Round(time.Millisecond))
}
