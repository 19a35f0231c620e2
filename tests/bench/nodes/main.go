// Command nodes measures Keygate's capacity model on PostgreSQL (issue 18): for each count
// of gateway nodes it starts that many keygate processes on a fresh schema of one
// database, and reports
//
//   - revocation delay to the slowest node, p50/p99/max over -revocations revocations of
//     keys every node has cached, measured from inside the nodes: each node logs (at debug
//     level) the moment it applied each change from the feed, and that is set against the
//     moment the revoking transaction's COMMIT returned to this command;
//
//   - PostgreSQL connections per node (all, and the listening ones), once warm;
//
//   - PostgreSQL CPU per revocation: the CPU time of the database's backends (the nodes'
//     pools and listeners, and this command's) over the revocations, divided by their
//     number: one revoking transaction plus its NOTIFY delivered to every listener;
//
//   - change-log growth: rows and bytes per revocation in the changes table;
//
//   - each node's resident memory.
//
//     go run ./tests/bench/nodes -dsn 'postgres://postgres@127.0.0.1:5432/kg_bench?sslmode=disable'
//     go run ./tests/bench/nodes -dsn … -nodes 2 -revocations 20   # a quick run
//
// It must run on the database server's machine (it reads the backends' CPU in /proc). It
// fails only when a node does not apply a revocation within 5 s.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
	"github.com/keygate/keygate/storage/postgres/pgtest"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("KEYGATE_BENCH_POSTGRES_DSN"), "PostgreSQL DSN of a database this command may create schemas in")
	counts := flag.String("nodes", "2,4,8,16", "node counts to run, comma-separated")
	revocations := flag.Int("revocations", 100, "revocations per node count")
	flag.Parse()
	if *dsn == "" {
		log.Fatal("nodes: -dsn (or KEYGATE_BENCH_POSTGRES_DSN) is required")
	}
	bin, err := buildKeygate()
	if err != nil {
		log.Fatalf("nodes: %v", err)
	}
	defer os.RemoveAll(filepath.Dir(bin))
	upstream := startUpstream()
	var results []result
	for _, f := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			log.Fatalf("nodes: -nodes %q: want counts such as 2,4,8", *counts)
		}
		r, err := measure(context.Background(), bin, *dsn, upstream, n, *revocations)
		if err != nil {
			log.Fatalf("nodes: %d nodes: %v", n, err)
		}
		results = append(results, r)
		r.print(os.Stdout, true)
	}
	pruned, took, err := measurePrune(context.Background(), *dsn, 100_000)
	if err != nil {
		log.Fatalf("nodes: pruning: %v", err)
	}
	fmt.Printf("pruning: %d changes past the retention deleted in %v (one node's prune, as each node runs once a minute)\n", pruned, took.Round(time.Millisecond))
	fmt.Println()
	fmt.Println("| nodes | slowest node, after the COMMIT returned: p50 | p99 | max | from the revoking call's start: p50 / p99 | PG connections per node (listening) | PG CPU per revocation (per notification delivered) | change-log rows, bytes per revocation | node RSS |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range results {
		r.print(os.Stdout, false)
	}
}

// result is one node count's figures.
type result struct {
	nodes            int
	slowest          []time.Duration // per revocation, the slowest node's apply time after the COMMIT returned
	fromStart        []time.Duration // the same, from the start of the revoking call
	conns, listening int
	pgCPU            time.Duration // the database's backends, over all revocations (revoke, deliver, apply)
	listenCPU        time.Duration // the listeners' part; -1 when they could not be told apart
	revocations      int
	changeRows       int64
	changeBytes      int64
	rssMB            float64 // mean per node
}

func (r result) print(w io.Writer, progress bool) {
	s, b := slices.Clone(r.slowest), slices.Clone(r.fromStart)
	slices.Sort(s)
	slices.Sort(b)
	p := func(q int) string { return s[min(len(s)-1, len(s)*q/100)].Round(10 * time.Microsecond).String() }
	pb := func(q int) string { return b[min(len(b)-1, len(b)*q/100)].Round(10 * time.Microsecond).String() }
	perNode := float64(r.conns) / float64(r.nodes)
	cpu := r.pgCPU / time.Duration(r.revocations)
	perDelivery := "?"
	if r.listenCPU >= 0 {
		perDelivery = (r.listenCPU / time.Duration(r.revocations*r.nodes)).Round(time.Microsecond).String()
	}
	if progress {
		fmt.Fprintf(w, "%d nodes: %d revocations, slowest node after the COMMIT returned p50 %s p99 %s max %s (from the revoking call's start p50 %s p99 %s); %.1f PG connections per node (%d listening in all); PG CPU %v per revocation (%s per notification delivered); %.1f change rows, %d bytes per revocation; node RSS %.0f MB\n",
			r.nodes, len(s), p(50), p(99), s[len(s)-1].Round(10*time.Microsecond), pb(50), pb(99), perNode, r.listening, cpu.Round(10*time.Microsecond), perDelivery,
			float64(r.changeRows)/float64(r.revocations), r.changeBytes/int64(r.revocations), r.rssMB)
		return
	}
	fmt.Fprintf(w, "| %d | %s | %s | %s | %s / %s | %.1f (%d) | %v (%s) | %.1f, %d B | %.0f MB |\n", r.nodes, p(50), p(99), s[len(s)-1].Round(10*time.Microsecond), pb(50), pb(99),
		perNode, r.listening/r.nodes, cpu.Round(10*time.Microsecond), perDelivery, float64(r.changeRows)/float64(r.revocations), r.changeBytes/int64(r.revocations), r.rssMB)
}

// measure runs n nodes on a fresh schema and revokes keys they all have cached.
func measure(ctx context.Context, bin, baseDSN, upstream string, n, revocations int) (result, error) {
	schema := "kgbench_" + randomHex(6)
	admin, err := pgx.Connect(ctx, pgtest.WithParam(baseDSN, "application_name", "kgbench"))
	if err != nil {
		return result{}, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return result{}, err
	}
	defer admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	dsn := pgtest.WithParam(baseDSN, "search_path", schema)
	if _, err := admin.Exec(ctx, "SET search_path = "+schema); err != nil {
		return result{}, err
	}

	// The operator's store: migrations, the first tenant, a user and keys.
	store, err := postgres.Open(ctx, postgres.Options{DSN: pgtest.WithParam(dsn, "application_name", "kgbench")})
	if err != nil {
		return result{}, err
	}
	defer store.Close()
	op := manage.Operator{Service: manage.NewService(manage.ServiceConfig{Store: store}), OSUser: "bench"}
	if _, err := op.Bootstrap(ctx, "admin@acme.test", func() (string, error) { return "correct horse battery staple", nil }); err != nil {
		return result{}, err
	}
	dev, err := op.CreateUser(ctx, manage.NewUser{TenantName: manage.BootstrapTenant, Email: "dev@acme.test", Role: storage.RoleUser})
	if err != nil {
		return result{}, err
	}

	nodes, err := startNodes(bin, dsn, upstream, n)
	defer func() {
		for _, nd := range nodes {
			nd.stop()
		}
	}()
	if err != nil {
		return result{}, err
	}

	actor := authcore.OperatorIn(dev.TenantUID, "bench")
	keys := make([]manage.CreatedAPIKey, revocations+5)
	for i := range keys {
		if keys[i], err = op.CreateAPIKey(ctx, manage.NewAPIKey{User: dev, Name: "bench", Expiry: "7d"}); err != nil {
			return result{}, err
		}
	}
	// Warm up: every node caches a few keys and has its pool open.
	for _, k := range keys[revocations:] {
		for _, nd := range nodes {
			if err := nd.get(k.Key, http.StatusOK); err != nil {
				return result{}, err
			}
		}
	}
	r := result{nodes: n, revocations: revocations}
	rowsBefore, bytesBefore, err := changeLog(ctx, admin)
	if err != nil {
		return result{}, err
	}
	backends, listeners, err := databaseBackends(ctx, admin)
	if err != nil {
		return result{}, err
	}
	for _, k := range keys[:revocations] {
		for _, nd := range nodes {
			if err := nd.get(k.Key, http.StatusOK); err != nil {
				return result{}, err
			}
		}
		// The service's change alone (the Operator's method reads before and after it):
		// it returns once the COMMIT has.
		cpu0, listen0 := cpuTime(backends), cpuTime(listeners)
		began := time.Now()
		if err := op.Service.SetKeyActive(ctx, actor, k.Record.UID, false); err != nil {
			return result{}, err
		}
		committed := time.Now()
		var seq int64
		if err := admin.QueryRow(ctx, "SELECT max(seq) FROM changes").Scan(&seq); err != nil {
			return result{}, err
		}
		slowest := time.Duration(-1 << 62)
		for _, nd := range nodes {
			at, err := nd.waitApplied(seq, 5*time.Second)
			if err != nil {
				return result{}, err
			}
			slowest = max(slowest, at.Sub(committed))
		}
		r.pgCPU += cpuTime(backends) - cpu0
		r.listenCPU += cpuTime(listeners) - listen0
		r.slowest = append(r.slowest, slowest)
		r.fromStart = append(r.fromStart, slowest+committed.Sub(began))
	}
	if len(listeners) != n {
		r.listenCPU = -1 // could not tell the listeners apart
	}
	rowsAfter, bytesAfter, err := changeLog(ctx, admin)
	if err != nil {
		return result{}, err
	}
	r.changeRows, r.changeBytes = rowsAfter-rowsBefore, bytesAfter-bytesBefore
	if err := admin.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE query LIKE 'LISTEN%') FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'keygate' AND backend_type = 'client backend'`).Scan(&r.conns, &r.listening); err != nil {
		return result{}, err
	}
	for _, nd := range nodes {
		r.rssMB += nd.rssMB() / float64(n)
	}
	return r, nil
}

// measurePrune times one prune of a change log holding rows changes past the retention,
// in a schema of its own that no node listens on.
func measurePrune(ctx context.Context, baseDSN string, rows int) (int64, time.Duration, error) {
	schema := "kgbench_" + randomHex(6)
	admin, err := pgx.Connect(ctx, baseDSN)
	if err != nil {
		return 0, 0, err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return 0, 0, err
	}
	defer admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	store, err := postgres.Open(ctx, postgres.Options{DSN: pgtest.WithParam(baseDSN, "search_path", schema)})
	if err != nil {
		return 0, 0, err
	}
	defer store.Close()
	old := time.Now().Add(-2 * postgres.DefaultChangeRetention).UnixMilli()
	if _, err := admin.Exec(ctx, "INSERT INTO "+schema+".changes (kind, ref, at) SELECT 'apikey', md5(i::text), $1 FROM generate_series(1, $2) AS i", old, rows); err != nil {
		return 0, 0, err
	}
	if _, err := admin.Exec(ctx, "INSERT INTO "+schema+".changes (kind, ref, at) VALUES ('apikey', 'new', $1)", time.Now().UnixMilli()); err != nil {
		return 0, 0, err
	}
	if _, err := admin.Exec(ctx, "ANALYZE "+schema+".changes"); err != nil {
		return 0, 0, err
	}
	began := time.Now()
	n, err := store.PruneChanges(ctx, time.Now().Add(-postgres.DefaultChangeRetention))
	return n, time.Since(began), err
}

// changeLog is the change table's rows and size in bytes.
func changeLog(ctx context.Context, conn *pgx.Conn) (rows, size int64, err error) {
	err = conn.QueryRow(ctx, "SELECT count(*), pg_total_relation_size('changes') FROM changes").Scan(&rows, &size)
	return rows, size, err
}

// databaseBackends returns the pids of the database's backends but this connection's,
// and of those among them that LISTEN (the last statement they ran).
func databaseBackends(ctx context.Context, conn *pgx.Conn) (all, listening []int, err error) {
	rows, err := conn.Query(ctx, `SELECT pid, query LIKE 'LISTEN%' FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int32
		var listens bool
		if err := rows.Scan(&pid, &listens); err != nil {
			return nil, nil, err
		}
		all = append(all, int(pid))
		if listens {
			listening = append(listening, int(pid))
		}
	}
	return all, listening, rows.Err()
}

// cpuTime is the CPU time the processes have run, from /proc/<pid>/schedstat (in
// nanoseconds, unlike /proc/<pid>/stat's clock ticks).
func cpuTime(pids []int) time.Duration {
	var sum time.Duration
	for _, pid := range pids {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
		if err != nil {
			continue // gone, or not on this machine
		}
		f := strings.Fields(string(raw))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// node is one keygate process, and the changes it has logged applying.
type node struct {
	url     string
	cmd     *exec.Cmd
	logPath string
	mu      sync.Mutex
	applied map[int64]time.Time // seq -> when the node applied it
	read    int64               // bytes of the log read so far
}

const nodeConfig = `{
	admin off
	persist_config off
	auto_https off
	log changes {
		output file %s
		format json
		level DEBUG
		include keygate
	}
	keygate {
		storage postgres {env.KEYGATE_POSTGRES_DSN}
		client_failure_limit 1000000
	}
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
}
`

// startNodes starts n nodes at once and waits until every one answers.
func startNodes(bin, dsn, upstream string, n int) ([]*node, error) {
	var nodes []*node
	for range n {
		dir, err := os.MkdirTemp("", "kgbench-node")
		if err != nil {
			return nodes, err
		}
		port, err := freePort()
		if err != nil {
			return nodes, err
		}
		nd := &node{url: fmt.Sprintf("http://127.0.0.1:%d", port), logPath: filepath.Join(dir, "changes.log"), applied: map[int64]time.Time{}}
		cfg := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(cfg, fmt.Appendf(nil, nodeConfig, nd.logPath, port, strings.TrimPrefix(upstream, "http://")), 0o600); err != nil {
			return nodes, err
		}
		nd.cmd = exec.Command(bin, "run", "--config", cfg, "--adapter", "caddyfile")
		nd.cmd.Env = append(os.Environ(), "KEYGATE_POSTGRES_DSN="+dsn, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		nd.cmd.Stdout, nd.cmd.Stderr = io.Discard, io.Discard
		if err := nd.cmd.Start(); err != nil {
			return nodes, err
		}
		nodes = append(nodes, nd)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, nd := range nodes {
		for {
			if res, err := http.Get(nd.url + "/"); err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				return nodes, fmt.Errorf("node %s did not answer within 60s", nd.url)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes, nil
}

func (nd *node) stop() {
	_ = nd.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = nd.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = nd.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(filepath.Dir(nd.logPath))
}

var client = &http.Client{Timeout: 10 * time.Second}

// get sends GET / with key and checks the answer.
func (nd *node) get(key string, want int) error {
	req, _ := http.NewRequest(http.MethodGet, nd.url+"/", nil)
	req.Header.Set("ApiKey", key)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("node %s answered %d, want %d", nd.url, res.StatusCode, want)
	}
	return nil
}

// waitApplied waits until the node's log says it applied change seq (or a later one, in
// the same batch), and returns when it did.
func (nd *node) waitApplied(seq int64, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if err := nd.readLog(); err != nil {
			return time.Time{}, err
		}
		nd.mu.Lock()
		at, ok := nd.applied[seq]
		nd.mu.Unlock()
		if ok {
			return at, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("node %s did not apply change %d within %v", nd.url, seq, timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// readLog reads the lines the node has added to its log since the last call.
func (nd *node) readLog() error {
	f, err := os.Open(nd.logPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(nd.read, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil // a partial line is read again next time
		}
		nd.read += int64(len(line))
		var entry struct {
			Msg     string  `json:"msg"`
			Seqs    []int64 `json:"seqs"`
			Applied int64   `json:"applied_unix_nano"`
		}
		if json.Unmarshal(line, &entry) != nil || entry.Msg != "applied changes from the change feed" {
			continue
		}
		nd.mu.Lock()
		for _, s := range entry.Seqs {
			nd.applied[s] = time.Unix(0, entry.Applied)
		}
		nd.mu.Unlock()
	}
}

// rssMB is the process's resident memory.
func (nd *node) rssMB() float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", nd.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// buildKeygate builds the gateway binary into a temporary directory.
func buildKeygate() (string, error) {
	dir, err := os.MkdirTemp("", "kgbench-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "keygate")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/keygate").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/keygate (run from the repository's root): %v\n%s", err, out)
	}
	return bin, nil
}

// startUpstream answers every proxied request with 200.
func startUpstream() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	return "http://" + l.Addr().String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
