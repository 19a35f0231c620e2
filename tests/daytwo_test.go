package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// TestDayTwoOnRealProcesses walks an operator's second day on real processes: users and
// keys made with the command line, a gateway process on a SQLite store backed up with
// `keygate backup` while requests run, a key added, the backup restored once the gateway
// is stopped (the restarted gateway takes the keys and the token from before the backup
// and refuses the key made after it), then the store moved to a fresh PostgreSQL database
// with `keygate migrate` and a gateway started on it, where the same keys and token work
// and the command line goes on managing keys.
func TestDayTwoOnRealProcesses(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kg.db")
	upstream := startEchoUpstream(t)
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	caddyfile := fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\n%s {\n\tkeygate\n\treverse_proxy %s\n}\n", db, url, upstream)
	cfgPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	cli := func(args ...string) cliRun {
		return runCLI(t, env, "", append(args, "--config", cfgPath)...)
	}
	mustOK := func(r cliRun, what string) cliRun {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", what, r.code, r.stdout, r.stderr)
		}
		return r
	}
	newKey := func(name string) string {
		t.Helper()
		var v struct{ APIKey string }
		r := mustOK(cli("apikey", "create", "--email", "dev@acme.test", "--name", name, "--expires", "30d", "--json"), "apikey create "+name)
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.APIKey == "" {
			t.Fatalf("apikey create printed %q", r.stdout)
		}
		return v.APIKey
	}
	status := func(g *gateway, key string) int {
		t.Helper()
		return g.do(t, "/", map[string]string{"ApiKey": key}).status
	}

	gw := runNode(t, "gateway", url, cfgPath, env...)
	gw.waitReady(t)
	mustOK(cli("tenant", "create", "--name", "acme"), "tenant create")
	mustOK(runCLI(t, env, "pw-dev-12345\n", "user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user", "--password-stdin", "--config", cfgPath), "user create")
	before := []string{newKey("one"), newKey("two")}
	for _, k := range before {
		if s := status(gw.gateway, k); s != http.StatusOK {
			t.Fatalf("key before the backup: %d", s)
		}
	}
	res, token, raw := gw.login(t, "", `{"emailId":"dev@acme.test","password":"pw-dev-12345"}`, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login before the backup: %d %s", res.StatusCode, raw)
	}

	// Back up while requests keep coming.
	backup := filepath.Join(dir, "backups", "kg-1.db")
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	var served, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
				req.Header.Set("ApiKey", before[(w+i)%len(before)])
				res, err := client.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
				} else {
					served.Add(1)
				}
				if res != nil {
					res.Body.Close()
				}
			}
		}()
	}
	for served.Load() < 20 {
		time.Sleep(5 * time.Millisecond)
	}
	r := mustOK(cli("backup", "--to", backup), "backup")
	atBackup := served.Load()
	for served.Load() < atBackup+20 {
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed around the backup", failed.Load(), served.Load()+failed.Load())
	}
	if !strings.Contains(r.stdout, backup) {
		t.Errorf("backup printed %q", r.stdout)
	}
	if r := cli("backup", "--to", backup); r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("a second backup onto the same file: %+v, want a one-line refusal", r)
	}

	after := newKey("three")
	if s := status(gw.gateway, after); s != http.StatusOK {
		t.Fatalf("key made after the backup: %d", s)
	}

	// Refused while the gateway has the store open; nothing changes.
	if r := cli("restore", "--from", backup); r.code == 0 || !strings.Contains(r.stderr, "open in another process") {
		t.Fatalf("restore beside a running gateway: %+v, want a refusal", r)
	}
	if s := status(gw.gateway, after); s != http.StatusOK {
		t.Fatalf("a refused restore changed the store: %d", s)
	}

	gw.stop(t)
	mustOK(cli("restore", "--from", backup), "restore")
	gw = runNode(t, "restarted gateway", url, cfgPath, env...)
	gw.waitReady(t)
	for i, k := range before {
		if s := status(gw.gateway, k); s != http.StatusOK {
			t.Errorf("key %d from before the backup, after the restore: %d", i, s)
		}
	}
	if r := gw.do(t, "/", map[string]string{"ApiKey": after}); r.status != http.StatusUnauthorized {
		t.Errorf("key made after the backup, after the restore: %d %s, want 401", r.status, r.body)
	}
	if r := gw.do(t, "/", map[string]string{"Authorization": token}); r.status != http.StatusOK {
		t.Errorf("token from before the backup, after the restore: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(backup); err != nil {
		t.Errorf("the backup is gone after the restore: %v", err)
	}
	gw.stop(t)

	// Grown out of SQLite: the restored store moves to PostgreSQL.
	dsn := pgtest.Schema(t)
	mustOK(runBinary(t, env, "", "migrate", "--from", db, "--to", dsn), "migrate")
	pgCfg := filepath.Join(dir, "Caddyfile.postgres")
	pgCaddyfile := strings.Replace(caddyfile, "storage sqlite "+db, "storage postgres {env.KEYGATE_POSTGRES_DSN}", 1)
	if err := os.WriteFile(pgCfg, []byte(pgCaddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	pgEnv := append(env, "KEYGATE_POSTGRES_DSN="+dsn)
	gw = runNode(t, "gateway on PostgreSQL", url, pgCfg, pgEnv...)
	gw.waitReady(t)
	for i, k := range before {
		if s := status(gw.gateway, k); s != http.StatusOK {
			t.Errorf("key %d on PostgreSQL: %d", i, s)
		}
	}
	if r := gw.do(t, "/", map[string]string{"Authorization": token}); r.status != http.StatusOK {
		t.Errorf("token on PostgreSQL: %d %s", r.status, r.body)
	}
	if s := status(gw.gateway, after); s != http.StatusUnauthorized {
		t.Errorf("key made after the backup, on PostgreSQL: %d, want 401", s)
	}
	var created struct{ APIKey string }
	r = mustOK(runCLI(t, pgEnv, "", "apikey", "create", "--email", "dev@acme.test", "--name", "on-pg", "--expires", "7d", "--json", "--config", pgCfg), "apikey create on PostgreSQL")
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || status(gw.gateway, created.APIKey) != http.StatusOK {
		t.Errorf("a key made with the command line on PostgreSQL: %q", r.stdout)
	}
	var keys cliItems[cliKeyItem]
	r = mustOK(runCLI(t, pgEnv, "", "apikey", "list", "--email", "dev@acme.test", "--json", "--config", pgCfg), "apikey list on PostgreSQL")
	if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil || len(keys.Items) != 3 {
		t.Errorf("apikey list on PostgreSQL: %q, want the two restored keys and the new one", r.stdout)
	}
}
