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
)

// TestBackupAndRestoreWithTheCommandLine runs a gateway process on a SQLite store, backs
// the store up with `keygate backup` while requests run, adds a key, and restores the
// backup once the gateway is stopped: the restarted gateway takes the keys from before the
// backup and refuses the one made after it.
func TestBackupAndRestoreWithTheCommandLine(t *testing.T) {
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
	mustOK(cli("user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user"), "user create")
	before := []string{newKey("one"), newKey("two")}
	for _, k := range before {
		if s := status(gw.gateway, k); s != http.StatusOK {
			t.Fatalf("key before the backup: %d", s)
		}
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
	if _, err := os.Stat(backup); err != nil {
		t.Errorf("the backup is gone after the restore: %v", err)
	}
}
