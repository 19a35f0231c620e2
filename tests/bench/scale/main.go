// Command scale measures Keygate with many keys in its store (issue 13, target 5): it
// seeds a fresh store with -keys API keys, starts a real Caddy with Keygate on it (in
// this process, so that the heap can be read), and reports
//
//   - start-up: from loading the config to the first request answered 200;
//
//   - cache memory per cached key: the heap grown by caching -cached distinct keys;
//
//   - the first request for an uncached key, end to end, paced at -rate requests/s;
//
//   - a cold store lookup (KeyGrantByDigest) on its own, paced at -rate lookups/s;
//
//   - a restart under load, without and with preloading (preload_keys): the store
//     lookups made serving again the keys used last, and their latencies.
//
//     go run ./tests/bench/scale                               # SQLite, 1,000,000 keys
//     go run ./tests/bench/scale -backend postgres -dsn 'postgres://postgres@127.0.0.1:5432/scale?sslmode=disable'
//     go run ./tests/bench/scale -smoke                        # 20,000 keys, a few seconds
//
// It fails (exit 1) only when the gateway answers a valid key wrongly; the issue's
// targets are reported, not asserted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

// options are the command's flags.
type options struct {
	backend string // sqlite or postgres
	dir     string // SQLite: the directory of the fresh store file
	dsn     string // PostgreSQL: an empty database
	keys    int    // keys seeded
	cached  int    // distinct keys cached for the memory figure
	rate    int    // paced requests (and lookups) per second
	lookups int    // paced requests, and again paced store lookups
}

func main() {
	o := parseFlags()
	ctx := context.Background()
	res, err := run(ctx, o)
	if err != nil {
		log.Fatalf("scale: %v", err)
	}
	res.print(os.Stdout, o)
}

func parseFlags() options {
	var o options
	smoke := flag.Bool("smoke", false, "a quick run: 20,000 keys, 5,000 cached, 500 paced requests")
	flag.StringVar(&o.backend, "backend", "sqlite", "sqlite or postgres")
	flag.StringVar(&o.dir, "dir", defaultDir(), "directory for the SQLite store (a fresh file is made there)")
	flag.StringVar(&o.dsn, "dsn", os.Getenv("KEYGATE_SCALE_POSTGRES_DSN"), "PostgreSQL DSN of an empty database")
	flag.IntVar(&o.keys, "keys", 1_000_000, "API keys in the store")
	flag.IntVar(&o.cached, "cached", 100_000, "distinct keys cached for the memory figure (the default cache holds 100,000)")
	flag.IntVar(&o.rate, "rate", 1000, "paced requests and lookups per second")
	flag.IntVar(&o.lookups, "lookups", 10_000, "paced requests for uncached keys, and as many paced store lookups")
	flag.Parse()
	if *smoke {
		o.keys, o.cached, o.lookups = 20_000, 5_000, 500
	}
	if o.backend != "sqlite" && o.backend != "postgres" {
		log.Fatalf("scale: -backend %q: want sqlite or postgres", o.backend)
	}
	if o.backend == "postgres" && o.dsn == "" {
		log.Fatal("scale: -backend postgres needs -dsn (or KEYGATE_SCALE_POSTGRES_DSN)")
	}
	if o.cached+2*o.lookups+1 > o.keys {
		log.Fatalf("scale: -keys %d is too few for -cached %d and 2 × -lookups %d distinct keys", o.keys, o.cached, o.lookups)
	}
	return o
}

// defaultDir is /dev/shm when there is one (seeding writes a million rows), else the
// temporary directory.
func defaultDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// run seeds the store, starts the gateway and takes each measurement in turn.
func run(ctx context.Context, o options) (results, error) {
	var res results
	target, cleanup, err := newStoreTarget(ctx, o)
	if err != nil {
		return res, err
	}
	defer cleanup()

	start := time.Now()
	keys, err := seed(ctx, target, o.keys)
	if err != nil {
		return res, fmt.Errorf("seeding: %w", err)
	}
	res.seeded, res.seedTime = len(keys), time.Since(start)
	log.Printf("seeded %d keys in %s", len(keys), res.seedTime.Round(time.Millisecond))

	gw, err := startGateway(target)
	if err != nil {
		return res, err
	}
	defer gw.stop()
	if res.startup, err = gw.firstAnswer(keys[0]); err != nil {
		return res, err
	}
	log.Printf("start-up: %s", res.startup.Round(time.Millisecond))

	warm := keys[1 : 1+o.cached]
	if res.bytesPerKey, res.cachedKeys, err = gw.cacheMemory(warm); err != nil {
		return res, err
	}
	cold := keys[1+o.cached : 1+o.cached+o.lookups]
	if res.firstRequest, err = gw.pacedRequests(cold, o.rate); err != nil {
		return res, err
	}
	direct := keys[1+o.cached+o.lookups : 1+o.cached+2*o.lookups]
	if res.storeLookup, err = pacedLookups(ctx, target, direct, o.rate); err != nil {
		return res, err
	}
	// A restart under load: the keys used last come back at once. First without
	// preloading, then with it (the default).
	if res.restartCold, err = gw.restart(cold, o.rate, false); err != nil {
		return res, err
	}
	if res.restartWarm, err = gw.restart(cold, o.rate, true); err != nil {
		return res, err
	}
	return res, nil
}

// sqliteFile is a fresh store file's path in dir.
func sqliteFile(dir string) string {
	return filepath.Join(dir, fmt.Sprintf("keygate-scale-%d.db", os.Getpid()))
}
