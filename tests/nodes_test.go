package tests

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres"
)

// node is one gateway process (the keygate binary, as users run it) on a PostgreSQL
// database shared with other nodes.
type node struct {
	*gateway // url, and the request helpers
	name     string
	cmd      *exec.Cmd
	output   *syncBuffer
	exited   chan struct{}
}

// nodeConfig is a PostgreSQL-backed node's Caddyfile. The DSN comes from the environment,
// as the README advises, so no password is in the file.
const nodeConfig = `{
	admin off
	persist_config off
	auto_https off
	keygate {
		storage postgres {env.KEYGATE_POSTGRES_DSN}
		bootstrap_admin admin@acme.test {env.KEYGATE_ADMIN_PASSWORD}
		%s
	}
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
}
`

const nodeAdminPassword = "correct horse battery staple"

// startNodes starts one node per entry of options (extra keygate global options) on the
// database dsn, all at once, and waits until every one answers.
func startNodes(t *testing.T, dsn, upstream string, options ...string) []*node {
	t.Helper()
	nodes := make([]*node, len(options))
	for i, opts := range options {
		nodes[i] = launchNode(t, fmt.Sprintf("node %c", 'A'+i), dsn, upstream, opts)
	}
	for _, n := range nodes {
		n.waitReady(t)
	}
	return nodes
}

func launchNode(t *testing.T, name, dsn, upstream, options string) *node {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "Caddyfile")
	body := fmt.Sprintf(nodeConfig, options, port, strings.TrimPrefix(upstream, "http://"))
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return runNode(t, name, fmt.Sprintf("http://127.0.0.1:%d", port), cfg,
		"KEYGATE_POSTGRES_DSN="+dsn, "KEYGATE_ADMIN_PASSWORD="+nodeAdminPassword,
		"XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
}

// runNode starts the keygate binary on the Caddyfile cfg, which serves url, with env
// added to the environment, and stops it when the test ends. It does not wait for it.
func runNode(t *testing.T, name, url, cfg string, env ...string) *node {
	t.Helper()
	n := &node{gateway: &gateway{url: url}, name: name, output: &syncBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(keygateBinary(t), "run", "--config", cfg, "--adapter", "caddyfile")
	n.cmd.Env = append(os.Environ(), env...)
	n.cmd.Stdout, n.cmd.Stderr = n.output, n.output
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

// waitReady waits until the node answers HTTP, failing with its output if it exits.
func (n *node) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			t.Fatalf("%s exited while starting:\n%s", n.name, n.output)
		default:
		}
		if res, err := http.Get(n.url + "/"); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 60s:\n%s", n.name, n.output)
}

// stop ends the node as an operator would, with SIGINT, and kills it if it hangs.
func (n *node) stop(t *testing.T) {
	_ = n.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
		t.Errorf("%s did not stop within 15s of SIGINT", n.name)
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", n.name, n.output)
	}
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sharedStore opens the nodes' database as the command line does, for seeding.
func sharedStore(t *testing.T, dsn string) (manage.Operator, storage.Store) {
	t.Helper()
	s, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return operatorOn(s), s
}

// cluster is a database with users seeded by the operator.
type cluster struct {
	admin     manage.Operator
	store     storage.Store // the same database, for fixtures
	dev, boss storage.User
	bossKey   string // a tenant admin's key, for the management API
}

func seedCluster(t *testing.T, dsn string) cluster {
	t.Helper()
	var c cluster
	c.admin, c.store = sharedStore(t, dsn)
	ctx := context.Background()
	var err error
	if c.dev, err = c.admin.CreateUser(ctx, manage.NewUser{TenantName: manage.BootstrapTenant, Email: "dev@acme.test", Role: storage.RoleUser, Password: nodeAdminPassword}); err != nil {
		t.Fatal(err)
	}
	if c.boss, err = c.admin.CreateUser(ctx, manage.NewUser{TenantName: manage.BootstrapTenant, Email: "boss@acme.test", Role: storage.RoleTenantAdmin}); err != nil {
		t.Fatal(err)
	}
	c.bossKey = c.key(t, c.boss).Key
	return c
}

func (c cluster) key(t *testing.T, u storage.User) manage.CreatedAPIKey {
	t.Helper()
	k, err := c.admin.CreateAPIKey(context.Background(), manage.NewAPIKey{User: u, Name: "node test", Expiry: "7d"})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// status sends GET / with one header and returns the status code.
func (n *node) status(t *testing.T, header, value string) int {
	t.Helper()
	res, _ := n.call(t, http.MethodGet, "/", map[string]string{header: value}, "")
	return res.StatusCode
}

// waitStatus polls GET / until it answers want, and returns how long that took.
func (n *node) waitStatus(t *testing.T, header, value string, want int) time.Duration {
	t.Helper()
	start := time.Now()
	for n.status(t, header, value) != want {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s: not %d within 10s", n.name, want)
		}
	}
	return time.Since(start)
}
