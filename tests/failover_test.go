package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvFailover turns on TestFailover, which creates PostgreSQL clusters on this machine:
// it needs root and Debian's postgresql-common (pg_createcluster) with PostgreSQL 15.
// .ci/run sets it.
const EnvFailover = "KEYGATE_TEST_FAILOVER"

// pgVersion is the PostgreSQL major version TestFailover's clusters run.
const pgVersion = "15"

// A primary with a synchronous streaming standby, two gateway nodes on the pair through a
// multi-host DSN (target_session_attrs=read-write), a writer creating keys on one node and
// revoking them on the other, and readers using cached keys on both. The primary is
// stopped hard (pg_ctlcluster stop -m immediate) and, a few seconds later, the standby is
// promoted. Cached keys keep working throughout; writes (and logins) answer 503, never
// 401 or 500, while there is no primary, and succeed after the promotion with no node
// restarted; both nodes listen again and a revocation reaches the other node again; every
// write acknowledged (201, 204) is on the new primary. It reports how long writes were
// unavailable.
func TestFailover(t *testing.T) {
	if os.Getenv(EnvFailover) == "" {
		t.Skipf("SKIP: the failover test creates PostgreSQL clusters; set %s=1 (as root, with postgresql-%s and pg_createcluster); .ci/run sets it", EnvFailover, pgVersion)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s is set but the test is not running as root: pg_createcluster needs it", EnvFailover)
	}
	began := time.Now()
	pair := startReplicatedPair(t)
	t.Logf("primary and synchronous standby ready in %v", time.Since(began).Round(time.Millisecond))
	dsn := pair.dsn("keygate")
	t.Logf("DSN: %s", dsn)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	// Every key the writer makes is dev's: lift the per-user limit.
	nodes := startNodes(t, dsn, upstream.URL, "max_keys_per_user 0", "max_keys_per_user 0")
	a, b, c := nodes[0], nodes[1], seedCluster(t, dsn)
	boss := map[string]string{"ApiKey": c.bossKey}

	// Keys cached on both nodes before anything fails.
	var cached []string
	for range 10 {
		k := c.key(t, c.dev).Key
		for _, n := range nodes {
			if got := n.status(t, "ApiKey", k); got != http.StatusOK {
				t.Fatalf("new key on %s: %d", n.name, got)
			}
		}
		cached = append(cached, k)
	}

	w := &writer{a: a, b: b, boss: c.bossKey, devUID: c.dev.UID}
	r := &reader{nodes: nodes, keys: cached}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.run(ctx) }()
	go func() { defer wg.Done(); r.run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			stop()
			wg.Wait()
		}
	}()

	time.Sleep(1500 * time.Millisecond) // writes succeed on the primary
	primaryDown := time.Now()
	pair.stopPrimary(t)
	time.Sleep(time.Second)
	// A login while there is no primary is a 503 too, not a 401 (the shared throttle's
	// write fails, and so does the lookup of the email).
	for _, n := range nodes {
		if got := n.loginStatus(t, "dev@acme.test", nodeAdminPassword); got != http.StatusServiceUnavailable {
			t.Errorf("login on %s with no primary: %d, want 503", n.name, got)
		}
	}
	time.Sleep(2 * time.Second) // the operator (or Patroni) notices and promotes
	promoted := time.Now()
	pair.promoteStandby(t)
	promotedAt := time.Now()
	// Wait for writes to succeed again and both nodes to listen again, then a little more.
	const listening = "listening to the PostgreSQL change feed again"
	relistened := make([]time.Duration, len(nodes))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		again := 0
		for i, n := range nodes {
			if relistened[i] == 0 && strings.Contains(n.output.String(), listening) {
				relistened[i] = time.Since(promoted)
			}
			if relistened[i] != 0 {
				again++
			}
		}
		if again == len(nodes) && w.successesAfter(promoted) >= 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	wg.Wait()
	stopped = true

	// Writes: 201/204 or 503, nothing else; 503s while there was no primary; successes
	// again after the promotion.
	events := w.snapshot()
	var lastBefore, firstAfter time.Time
	var unavailable, okBefore, okAfter int
	codes := map[string]int{}
	for _, e := range events {
		switch {
		case e.err != nil:
			t.Errorf("%s on %s at +%v: %v", e.op, e.node, e.at.Sub(primaryDown).Round(time.Millisecond), e.err)
		case e.status == http.StatusServiceUnavailable:
			unavailable++
			var ans struct{ Code string }
			if err := json.Unmarshal([]byte(e.body), &ans); err != nil || ans.Code == "" {
				t.Errorf("%s on %s: 503 without a JSON error: %s", e.op, e.node, e.body)
			}
			codes[ans.Code]++
		case e.status == http.StatusCreated || e.status == http.StatusNoContent:
			if e.sent.Before(primaryDown) {
				okBefore++
				lastBefore = e.at
			} else if e.at.After(promoted) {
				okAfter++
				if firstAfter.IsZero() {
					firstAfter = e.at
				}
			}
		default:
			t.Errorf("%s on %s at +%v: %d %s, want 201/204 or 503", e.op, e.node, e.at.Sub(primaryDown).Round(time.Millisecond), e.status, e.body)
		}
	}
	if okBefore == 0 || unavailable == 0 || okAfter == 0 {
		t.Fatalf("writes: %d acknowledged before the stop, %d answered 503, %d acknowledged after the promotion; want some of each", okBefore, unavailable, okAfter)
	}
	t.Logf("writes: %d acknowledged before the stop, %d answered 503 during the gap (%v), %d acknowledged after the promotion", okBefore, unavailable, codes, okAfter)
	t.Logf("write unavailability: %v from the last acknowledged write before the stop to the first after the promotion (the test waited 3s before promoting); %v from the promotion command's return to the first acknowledged write (%v from its start)",
		firstAfter.Sub(lastBefore).Round(time.Millisecond), firstAfter.Sub(promotedAt).Round(time.Millisecond), firstAfter.Sub(promoted).Round(time.Millisecond))

	// Cached keys: every proxied request answered 200.
	if n, bad := r.result(); len(bad) > 0 {
		t.Errorf("cached keys: %d of %d requests were not 200, e.g. %v", len(bad), n, bad[:min(len(bad), 5)])
	} else {
		t.Logf("cached keys: %d proxied requests on both nodes through the failover, all 200", n)
	}

	// The listeners are back on the new primary, and invalidation works again.
	for i, n := range nodes {
		if relistened[i] == 0 {
			t.Fatalf("%s did not log %q within 30s of the promotion", n.name, listening)
		}
		t.Logf("%s listened again %v after the promotion began", n.name, relistened[i].Round(10*time.Millisecond))
	}
	for _, pair := range [][2]*node{{a, b}, {b, a}} {
		from, to := pair[0], pair[1]
		k := c.key(t, c.dev)
		if got := to.status(t, "ApiKey", k.Key); got != http.StatusOK {
			t.Fatalf("new key on %s after the failover: %d", to.name, got)
		}
		if res, body := from.call(t, http.MethodPatch, "/v1/apiKeys/"+k.Record.UID, boss, `{"isActive":false}`); res.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke on %s after the failover: %d %s", from.name, res.StatusCode, body)
		}
		d := to.waitStatus(t, "ApiKey", k.Key, http.StatusUnauthorized)
		t.Logf("after the failover, a revocation on %s reached %s in %v", from.name, to.name, d.Round(10*time.Microsecond))
	}

	// The shared login throttle counts on the new primary (its table is UNLOGGED, so it
	// starts empty there): a wrong password is a 401 on both nodes, not an error.
	for _, n := range nodes {
		if got := n.loginStatus(t, "dev@acme.test", "not the password"); got != http.StatusUnauthorized {
			t.Errorf("wrong password on %s after the failover: %d, want 401", n.name, got)
		}
	}

	// No acknowledged write is lost: every key created (201) is on the new primary, and
	// every revocation acknowledged (204) holds.
	created, revoked := 0, 0
	for _, e := range events {
		if e.err != nil || (e.status != http.StatusCreated && e.status != http.StatusNoContent) {
			continue
		}
		k, err := c.store.APIKeyByUID(context.Background(), e.uid)
		switch {
		case err != nil:
			t.Errorf("%s of %s acknowledged (%d) at +%v: the key is not on the new primary: %v", e.op, e.uid, e.status, e.at.Sub(primaryDown).Round(time.Millisecond), err)
		case e.status == http.StatusCreated:
			created++
		case k.Active:
			t.Errorf("revocation of %s acknowledged at +%v: the key is active on the new primary", e.uid, e.at.Sub(primaryDown).Round(time.Millisecond))
		default:
			revoked++
		}
	}
	t.Logf("acknowledged writes on the new primary: %d keys created, %d revocations, none lost", created, revoked)
}

// writeEvent is one write the writer sent, and its answer.
type writeEvent struct {
	op, node string // "create" or "revoke"; the node's name
	uid      string
	sent, at time.Time // when it was sent, and answered
	status   int
	body     string
	err      error
}

// writer creates a key for dev through node a, then revokes it through node b, in a loop.
type writer struct {
	a, b         *node
	boss, devUID string
	mu           sync.Mutex
	events       []writeEvent
}

func (w *writer) run(ctx context.Context) {
	client := &http.Client{Timeout: 15 * time.Second}
	for ctx.Err() == nil {
		e := w.send(client, w.a, "create", http.MethodPost, "/v1/apiKeys",
			`{"metadata":{"name":"failover"},"spec":{"userUid":"`+w.devUID+`","expiryPreset":"7d"}}`)
		if e.status == http.StatusCreated {
			var k struct{ UID string }
			if err := json.Unmarshal([]byte(e.body), &k); err != nil || k.UID == "" {
				e.err = fmt.Errorf("201 without a uid: %s", e.body)
			}
			e.uid = k.UID
		}
		w.record(e)
		if e.uid != "" {
			// Revoke it until that is acknowledged (or the test ends).
			for ctx.Err() == nil {
				r := w.send(client, w.b, "revoke", http.MethodPatch, "/v1/apiKeys/"+e.uid, `{"isActive":false}`)
				r.uid = e.uid
				w.record(r)
				if r.status == http.StatusNoContent || r.err != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *writer) send(client *http.Client, n *node, op, method, path, body string) writeEvent {
	e := writeEvent{op: op, node: n.name, sent: time.Now()}
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	if err != nil {
		e.err = err
		return e
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ApiKey", w.boss)
	res, err := client.Do(req)
	e.at = time.Now()
	if err != nil {
		e.err = err
		return e
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	e.status, e.body = res.StatusCode, string(raw)
	return e
}

func (w *writer) record(e writeEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, e)
}

func (w *writer) snapshot() []writeEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// successesAfter counts the writes acknowledged after t.
func (w *writer) successesAfter(t time.Time) int {
	n := 0
	for _, e := range w.snapshot() {
		if e.err == nil && e.at.After(t) && (e.status == http.StatusCreated || e.status == http.StatusNoContent) {
			n++
		}
	}
	return n
}

// reader sends proxied requests with cached keys to every node in turn.
type reader struct {
	nodes []*node
	keys  []string
	mu    sync.Mutex
	n     int
	bad   []string
}

func (r *reader) run(ctx context.Context) {
	client := &http.Client{Timeout: 15 * time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		n, key := r.nodes[i%len(r.nodes)], r.keys[i%len(r.keys)]
		req, _ := http.NewRequest(http.MethodGet, n.url+"/", nil)
		req.Header.Set("ApiKey", key)
		res, err := client.Do(req)
		r.mu.Lock()
		r.n++
		switch {
		case err != nil:
			r.bad = append(r.bad, fmt.Sprintf("%s: %v", n.name, err))
		default:
			if res.StatusCode != http.StatusOK {
				raw, _ := io.ReadAll(res.Body)
				r.bad = append(r.bad, fmt.Sprintf("%s: %d %s", n.name, res.StatusCode, raw))
			}
			res.Body.Close()
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *reader) result() (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, slices.Clone(r.bad)
}

// replicatedPair is a PostgreSQL primary and its synchronous streaming standby, two
// clusters of this machine's PostgreSQL made with Debian's tools, dropped when the test
// ends. The machine's other clusters are not touched.
type replicatedPair struct {
	primary, standby         string // cluster names
	primaryPort, standbyPort int
}

// startReplicatedPair creates the primary, copies it with pg_basebackup into the standby,
// starts both, and waits until the standby streams synchronously: from then on a commit
// is acknowledged only once the standby has it.
func startReplicatedPair(t *testing.T) *replicatedPair {
	t.Helper()
	for _, tool := range []string{"pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "runuser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install postgresql-%s): %v", tool, pgVersion, err)
		}
	}
	dropAbandonedClusters(t)
	tag := fmt.Sprintf("kgfo%d", os.Getpid())
	p := &replicatedPair{primary: tag + "_primary", standby: tag + "_standby", primaryPort: freePort(t), standbyPort: freePort(t)}
	for _, name := range []string{p.primary, p.standby} {
		t.Cleanup(func() { dropCluster(t, name) })
	}
	// The primary: trust on 127.0.0.1 (for this test only), and no commit acknowledged
	// before the standby has flushed it.
	run(t, "pg_createcluster", pgVersion, p.primary, "-p", fmt.Sprint(p.primaryPort), "--", "--auth=trust")
	writeConf(t, p.primary, "listen_addresses = '127.0.0.1'\nsynchronous_standby_names = '"+p.standby+"'\n")
	ctlCluster(t, p.primary, "start")
	// The standby: its own cluster's configuration, the primary's data.
	run(t, "pg_createcluster", pgVersion, p.standby, "-p", fmt.Sprint(p.standbyPort), "--", "--auth=trust")
	writeConf(t, p.standby, fmt.Sprintf("listen_addresses = '127.0.0.1'\nprimary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=%s'\n", p.primaryPort, p.standby))
	data := filepath.Join("/var/lib/postgresql", pgVersion, p.standby)
	if err := os.RemoveAll(data); err != nil {
		t.Fatal(err)
	}
	run(t, "install", "-d", "-o", "postgres", "-g", "postgres", "-m", "700", data)
	run(t, "runuser", "-u", "postgres", "--", "pg_basebackup", "-h", "127.0.0.1", "-p", fmt.Sprint(p.primaryPort),
		"-U", "postgres", "-D", data, "-X", "stream", "-c", "fast")
	run(t, "runuser", "-u", "postgres", "--", "touch", filepath.Join(data, "standby.signal"))
	ctlCluster(t, p.standby, "start")
	deadline := time.Now().Add(30 * time.Second)
	for p.psql(t, p.primaryPort, "postgres", "SELECT sync_state FROM pg_stat_replication WHERE application_name = '"+p.standby+"'") != "sync" {
		if time.Now().After(deadline) {
			t.Fatal("the standby did not stream synchronously within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.psql(t, p.primaryPort, "postgres", "CREATE DATABASE keygate")
	return p
}

// dsn is the nodes' multi-host DSN: the primary first, then the standby, connecting only
// to whichever accepts writes.
func (p *replicatedPair) dsn(db string) string {
	return fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=%d,%d user=postgres dbname=%s sslmode=disable target_session_attrs=read-write connect_timeout=2",
		p.primaryPort, p.standbyPort, db)
}

// stopPrimary stops the primary as a crash would: no checkpoint, no goodbye to clients.
func (p *replicatedPair) stopPrimary(t *testing.T) {
	ctlCluster(t, p.primary, "stop", "-m", "immediate")
}

// promoteStandby makes the standby the primary, and waits until it is.
func (p *replicatedPair) promoteStandby(t *testing.T) { ctlCluster(t, p.standby, "promote") }

func (p *replicatedPair) psql(t *testing.T, port int, db, sql string) string {
	t.Helper()
	out, err := exec.Command("psql", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql -p %d %q: %v\n%s", port, sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeConf(t *testing.T, cluster, conf string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("/etc/postgresql", pgVersion, cluster, "conf.d", "keygate-failover.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ctlCluster(t *testing.T, cluster string, args ...string) {
	t.Helper()
	run(t, "pg_ctlcluster", append([]string{"--skip-systemctl-redirect", pgVersion, cluster}, args...)...)
}

// dropAbandonedClusters drops the clusters of earlier runs that were killed before they
// could clean up: those named for a process that no longer exists.
func dropAbandonedClusters(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("/etc/postgresql", pgVersion, "kgfo*_*"))
	for _, dir := range dirs {
		name := filepath.Base(dir)
		var pid int
		if _, err := fmt.Sscanf(name, "kgfo%d_", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			t.Logf("dropping cluster %s, left by an earlier run", name)
			dropCluster(t, name)
		}
	}
}

// dropCluster stops and removes a cluster and what Debian's tools leave of it.
func dropCluster(t *testing.T, cluster string) {
	out, err := exec.Command("pg_dropcluster", "--stop", pgVersion, cluster).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "does not exist") {
		t.Errorf("pg_dropcluster %s: %v\n%s", cluster, err, out)
	}
	for _, path := range []string{
		filepath.Join("/etc/postgresql", pgVersion, cluster),
		filepath.Join("/var/lib/postgresql", pgVersion, cluster),
		filepath.Join("/var/log/postgresql", "postgresql-"+pgVersion+"-"+cluster+".log"),
	} {
		_ = os.RemoveAll(path)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
