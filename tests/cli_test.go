package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage/sqlite"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// keygateBinary builds cmd/keygate once per test run: the CLI is tested as users run it.
func keygateBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "keygate-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "keygate")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/keygate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type cliRun struct {
	stdout, stderr string
	code           int
}

// runCLI runs a command under the Caddy subcommand, as in "keygate keygate apikey list".
func runCLI(t *testing.T, env []string, stdin string, args ...string) cliRun {
	t.Helper()
	return runBinary(t, env, stdin, append([]string{"keygate"}, args...)...)
}

// runBinary runs the project's binary with args.
func runBinary(t *testing.T, env []string, stdin string, args ...string) cliRun {
	t.Helper()
	cmd := exec.Command(keygateBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliRun{out.String(), errOut.String(), code}
}

func TestCommandLineMintsKeysThatTheRunningGatewayHonours(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	db := filepath.Join(dir, "kg.db")
	upstream := startEchoUpstream(t)
	port := freePort(t)
	caddyfile := fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\nhttp://127.0.0.1:%d {\n\tkeygate\n\treverse_proxy %s\n}\n", db, port, upstream)
	cfgPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	loadCaddyfile(t, caddyfile)
	t.Cleanup(stopCaddy)
	g := &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	env := []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	cli := func(stdin string, args ...string) cliRun {
		return runCLI(t, env, stdin, append(args, "--config", cfgPath)...)
	}
	mustJSON := func(r cliRun) map[string]any {
		t.Helper()
		var v map[string]any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		return v
	}

	tenant := mustJSON(cli("", "tenant", "create", "--name", "acme", "--json"))
	user := mustJSON(cli("s3cret-passw0rd\n", "user", "create", "--tenant", "acme", "--email", "Dev@Acme.test", "--role", "user", "--password-stdin", "--json"))
	if user["emailId"] != "dev@acme.test" || user["tenantUid"] != tenant["uid"] || user["role"] != "user" {
		t.Fatalf("user create printed %v", user)
	}
	project := cli("", "project", "create", "--tenant", "acme", "--name", "web")
	projectUID := strings.TrimSpace(project.stdout)
	if project.code != 0 || len(projectUID) != 24 {
		t.Fatalf("project create: %+v", project)
	}
	if r := cli("", "project", "add-member", "--project", projectUID, "--email", "dev@acme.test"); r.code != 0 {
		t.Fatalf("add-member: %+v", r)
	}
	created := mustJSON(cli("", "apikey", "create", "--email", "dev@acme.test", "--name", "ci", "--description", "CI runner", "--expires", "7d", "--json"))
	key, _ := created["apiKey"].(string)
	if _, ok := authcore.ParseKey(key); !ok || created["uid"] == "" {
		t.Fatalf("apikey create printed %v", created)
	}

	r := g.do(t, "/", map[string]string{"ApiKey": key, "ProjectUid": projectUID})
	if r.status != http.StatusOK || r.echo.Header.Get("X-User-Uid") != user["uid"] || r.echo.Header.Get("ProjectUid") != projectUID {
		t.Fatalf("gateway answered %d %s", r.status, r.body)
	}

	// The password went to the store hashed, and it verifies.
	store, err := sqlite.Open(context.Background(), sqlite.Options{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored, err := store.UserByUID(context.Background(), user["uid"].(string))
	if err != nil || !protect.VerifyPassword(stored.PasswordHash, "s3cret-passw0rd") || strings.Contains(stored.PasswordHash, "s3cret") {
		t.Fatalf("stored password hash %q does not verify (%v)", stored.PasswordHash, err)
	}

	if r := cli("", "apikey", "revoke", "--uid", created["uid"].(string)); r.code != 0 {
		t.Fatalf("revoke: %+v", r)
	}
	eventually(t, "revoke from the command line", func() bool {
		return g.do(t, "/", map[string]string{"ApiKey": key}).err.Code == "CredentialRevoked"
	})

	second := mustJSON(cli("", "apikey", "create", "--email", "dev@acme.test", "--name", "ci2", "--expires", "30d", "--json"))["apiKey"].(string)
	if r := g.do(t, "/", map[string]string{"ApiKey": second}); r.status != http.StatusOK {
		t.Fatalf("second key: %d", r.status)
	}
	if r := cli("", "user", "disable", "--email", "dev@acme.test"); r.code != 0 {
		t.Fatalf("disable: %+v", r)
	}
	eventually(t, "disable from the command line", func() bool {
		return g.do(t, "/", map[string]string{"ApiKey": second}).err.Code == "UserDisabled"
	})

	// Every change above is in the tenant's audit log, newest first, as the operator's.
	mustJSON(cli("", "user", "create", "--tenant", "acme", "--email", "boss@acme.test", "--role", "tenant-admin", "--json"))
	bossKey := mustJSON(cli("", "apikey", "create", "--email", "boss@acme.test", "--name", "audit", "--expires", "7d", "--json"))["apiKey"].(string)
	var audit cliItems[cliAuditItem]
	res, body := g.call(t, http.MethodGet, "/v1/audit", map[string]string{"ApiKey": bossKey}, "")
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &audit) != nil {
		t.Fatalf("GET /v1/audit: %d %s", res.StatusCode, body)
	}
	actions := operatorActions(t, audit.Items)
	want := []string{"apikey.create", "user.create", "user.update", "apikey.create", "apikey.revoke",
		"apikey.create", "membership.add", "project.create", "user.create", "tenant.create"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit log of the command line's changes, newest first:\n got %v\nwant %v", actions, want)
	}
}

func TestCommandLineRejectsBadInputWithOneLine(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "Caddyfile")
	caddyfile := fmt.Sprintf("{\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\n:8080 {\n\tkeygate\n}\n", filepath.Join(dir, "kg.db"))
	if err := os.WriteFile(cfgPath, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	cli := func(args ...string) cliRun { return runCLI(t, env, "", append(args, "--config", cfgPath)...) }
	if r := cli("tenant", "create", "--name", "acme"); r.code != 0 {
		t.Fatalf("tenant create: %+v", r)
	}
	if r := cli("user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user"); r.code != 0 {
		t.Fatalf("user create: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apikey", "create", "--email", "nobody@acme.test", "--name", "x", "--expires", "7d"}, "user nobody@acme.test not found"},
		{[]string{"apikey", "create", "--email", "dev@acme.test", "--name", "x", "--expires", "2001-01-01"}, "is not in the future"},
		{[]string{"apikey", "create", "--email", "dev@acme.test", "--name", "x", "--expires", "13d"}, `expiry "13d" is not 7d, 30d, 60d, 90d`},
		{[]string{"apikey", "create", "--email", "dev@acme.test", "--expires", "7d"}, "--name is required"},
		{[]string{"apikey", "revoke", "--uid", "0123456789abcdef01234567"}, "not found"},
		{[]string{"user", "create", "--tenant", "nope", "--email", "a@b.test", "--role", "user"}, "tenant nope not found"},
		{[]string{"user", "create", "--tenant", "acme", "--email", "a@b.test", "--role", "root"}, `role "root" is not tenant-admin or user`},
		{[]string{"user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user"}, "already exists"},
		{[]string{"tenant", "create", "--name", "acme"}, "already exists"},
		{[]string{"user", "create", "--tenant", "acme", "--email", "a@b.test", "--role", "user", "--password-stdin"}, "standard input held no password"},
	} {
		r := cli(tc.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a non-zero exit and one line containing %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := runCLI(t, env, "", "tenant", "create", "--name", "x", "--config", filepath.Join(dir, "missing")); r.code == 0 || !strings.Contains(r.stderr, "reading config") {
		t.Errorf("missing config: %+v", r)
	}
}

func startEchoUpstream(t *testing.T) string {
	g := &gateway{}
	g.upstream = newEchoServer()
	t.Cleanup(g.upstream.Close)
	return strings.TrimPrefix(g.upstream.URL, "http://")
}
