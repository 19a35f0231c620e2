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
	"time"

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

// cliStore is a SQLite store named by a Caddyfile the command line reads, with helpers
// that run the binary against it and fail the test on a failed command.
type cliStore struct {
	t         *testing.T
	dir       string
	caddyfile string
	env       []string
}

// startCLIGateway runs a gateway in this process on a store the command line reaches
// through s.
func startCLIGateway(t *testing.T) (*cliStore, *gateway) {
	t.Helper()
	upstream := startEchoUpstream(t)
	port := freePort(t)
	s := newCLIStore(t, fmt.Sprintf("http://127.0.0.1:%d {\n\tkeygate\n\treverse_proxy %s\n}\n", port, upstream))
	loadCaddyfile(t, s.caddyfile)
	t.Cleanup(stopCaddy)
	return s, &gateway{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

func newCLIStore(t *testing.T, site string) *cliStore {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	s := &cliStore{t: t, dir: dir, env: []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}}
	s.caddyfile = fmt.Sprintf("{\n\tadmin off\n\tpersist_config off\n\tkeygate {\n\t\tstorage sqlite %s\n\t}\n}\n%s", filepath.Join(dir, "kg.db"), site)
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(s.caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// run runs a command at the binary's top level against the store.
func (s *cliStore) run(args ...string) cliRun {
	s.t.Helper()
	return s.runWith("", args...)
}

// runWith is run with stdin as the command's standard input.
func (s *cliStore) runWith(stdin string, args ...string) cliRun {
	s.t.Helper()
	return runBinary(s.t, s.env, stdin, append(args, "--config", filepath.Join(s.dir, "Caddyfile"))...)
}

// ok runs a command that must succeed and returns its standard output.
func (s *cliStore) ok(args ...string) string {
	s.t.Helper()
	return s.okWith("", args...)
}

// okWith is ok with stdin as the command's standard input.
func (s *cliStore) okWith(stdin string, args ...string) string {
	s.t.Helper()
	r := s.runWith(stdin, args...)
	if r.code != 0 {
		s.t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
	}
	return r.stdout
}

// json runs a command with --json that must succeed and decodes what it prints into v.
func (s *cliStore) json(v any, args ...string) {
	s.t.Helper()
	out := s.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("%v --json printed %q: %v", args, out, err)
	}
}

// The REST shapes the command line prints with --json, as far as these tests read them.
type (
	cliMeta struct {
		UID, Name   string
		Annotations map[string]string
	}
	cliUserItem struct {
		Metadata  cliMeta
		Spec      struct{ EmailID, FirstName, LastName, Role string }
		Status    struct{ Active bool }
		TenantUID string
	}
	cliKeyItem struct {
		Metadata cliMeta
		Spec     struct {
			Key  string
			User struct{ UID, EmailID string }
		}
		Status    struct{ IsActive, IsExpired bool }
		TenantUID string
	}
	cliAuditItem struct {
		Metadata struct{ UID, CreationTimestamp string }
		Spec     struct {
			Action string
			Actor  struct{ UID, EmailID string }
		}
	}
	cliItems[T any] struct{ Items []T }
)

func TestCLIParityWithTheManagementAPI(t *testing.T) {
	s, g := startCLIGateway(t)

	// Tenants and users, listed.
	s.ok("tenant", "create", "--name", "acme")
	s.ok("tenant", "create", "--name", "beta")
	var tenants cliItems[struct{ Metadata cliMeta }]
	s.json(&tenants, "tenant", "list")
	if len(tenants.Items) != 2 || tenants.Items[0].Metadata.Name != "acme" || tenants.Items[1].Metadata.Name != "beta" {
		t.Fatalf("tenant list --json = %+v", tenants)
	}
	acmeUID := tenants.Items[0].Metadata.UID
	s.ok("user", "create", "--tenant", "acme", "--email", "boss@acme.test", "--role", "tenant-admin")
	s.ok("user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user")
	s.ok("user", "create", "--tenant", "beta", "--email", "gone@beta.test", "--role", "user")
	var users cliItems[cliUserItem]
	s.json(&users, "user", "list")
	if len(users.Items) != 3 || users.Items[2].TenantUID != tenants.Items[1].Metadata.UID {
		t.Fatalf("user list --json = %+v", users)
	}
	s.json(&users, "user", "list", "--tenant", "acme")
	if len(users.Items) != 2 || users.Items[1].Spec.EmailID != "dev@acme.test" || users.Items[1].Spec.Role != "user" || !users.Items[1].Status.Active || users.Items[1].TenantUID != acmeUID {
		t.Fatalf("user list --tenant acme --json = %+v", users)
	}
	wantTable(t, s.ok("user", "list"), []string{"UID", "EMAIL", "TENANT", "ROLE", "ACTIVE", "NAME"}, 3)
	var dev cliUserItem
	s.json(&dev, "user", "update", "--email", "dev@acme.test", "--first-name", "Dee", "--last-name", "Veloper")
	if dev.Spec.FirstName != "Dee" || dev.Spec.LastName != "Veloper" || dev.Metadata.UID == "" {
		t.Fatalf("user update --json = %+v", dev)
	}
	if out := s.ok("user", "show", "--email", "dev@acme.test"); !hasField(out, "first name", "Dee") || !hasField(out, "uid", dev.Metadata.UID) || !hasField(out, "role", "user") {
		t.Errorf("user show printed\n%s", out)
	}

	// A project and a key that the running gateway honours.
	projectUID := strings.TrimSpace(s.ok("project", "create", "--tenant", "acme", "--name", "web"))
	s.ok("project", "add-member", "--project", projectUID, "--email", "dev@acme.test")
	var project struct {
		Metadata cliMeta
		Spec     struct{ Members []string }
	}
	s.json(&project, "project", "show", "--project", projectUID)
	if project.Metadata.Name != "web" || len(project.Spec.Members) != 1 || project.Spec.Members[0] != dev.Metadata.UID {
		t.Fatalf("project show --json = %+v", project)
	}
	var projects cliItems[struct{ Metadata cliMeta }]
	s.json(&projects, "project", "list", "--tenant", "acme")
	if len(projects.Items) != 1 || projects.Items[0].Metadata.UID != projectUID {
		t.Fatalf("project list --json = %+v", projects)
	}
	var created struct{ APIKey, UID string }
	s.json(&created, "apikey", "create", "--email", "dev@acme.test", "--name", "ci", "--expires", "30d")
	withKey := map[string]string{"ApiKey": created.APIKey}
	inProject := map[string]string{"ApiKey": created.APIKey, "ProjectUid": projectUID}
	passes := func(h map[string]string) func() bool {
		return func() bool { return g.do(t, "/", h).status == http.StatusOK }
	}
	refused := func(h map[string]string) func() bool {
		return func() bool { return g.do(t, "/", h).status != http.StatusOK }
	}
	if r := g.do(t, "/", inProject); r.status != http.StatusOK || r.echo.Header.Get("X-User-Role") != "user" {
		t.Fatalf("gateway answered %d %s", r.status, r.body)
	}

	s.ok("project", "remove-member", "--project", projectUID, "--email", "dev@acme.test")
	eventually(t, "project remove-member", refused(inProject))
	s.ok("project", "add-member", "--project", projectUID, "--email", "dev@acme.test")
	eventually(t, "project add-member again", passes(inProject))

	var promoted cliUserItem
	s.json(&promoted, "user", "set-role", "--email", "dev@acme.test", "--role", "tenant-admin")
	if promoted.Spec.Role != "tenant-admin" {
		t.Errorf("user set-role --json = %+v", promoted)
	}
	eventually(t, "user set-role", func() bool {
		r := g.do(t, "/", withKey)
		return r.status == http.StatusOK && r.echo.Header.Get("X-User-Role") == "tenant-admin"
	})

	s.ok("user", "disable", "--email", "dev@acme.test")
	eventually(t, "user disable", func() bool { return g.do(t, "/", withKey).err.Code == "UserDisabled" })
	var enabled map[string]any
	s.json(&enabled, "user", "enable", "--email", "dev@acme.test")
	if enabled["isActive"] != true || enabled["uid"] != dev.Metadata.UID {
		t.Errorf("user enable --json = %v", enabled)
	}
	eventually(t, "user enable", passes(withKey))

	// Keys: listed, shown, edited, revoked and re-activated.
	var keys cliItems[cliKeyItem]
	s.json(&keys, "apikey", "list", "--email", "dev@acme.test")
	if len(keys.Items) != 1 || keys.Items[0].Metadata.UID != created.UID || keys.Items[0].Spec.User.EmailID != "dev@acme.test" || !keys.Items[0].Status.IsActive || keys.Items[0].TenantUID != acmeUID {
		t.Fatalf("apikey list --email --json = %+v", keys)
	}
	s.ok("apikey", "create", "--email", "boss@acme.test", "--name", "audit", "--expires", "7d")
	s.json(&keys, "apikey", "list", "--tenant", "acme")
	if len(keys.Items) != 2 {
		t.Fatalf("apikey list --tenant --json = %+v", keys)
	}
	wantTable(t, s.ok("apikey", "list"), []string{"UID", "NAME", "USER", "TENANT", "ACTIVE", "EXPIRES", "LAST", "USED"}, 2)
	var edited cliKeyItem
	s.json(&edited, "apikey", "edit", "--uid", created.UID, "--name", "ci-renamed", "--description", "the CI runner", "--expires", "7d")
	if edited.Metadata.Name != "ci-renamed" || edited.Metadata.Annotations["description"] != "the CI runner" {
		t.Errorf("apikey edit --json = %+v", edited)
	}
	show := s.ok("apikey", "show", "--uid", created.UID)
	if !hasField(show, "name", "ci-renamed") || !hasField(show, "description", "the CI runner") || !hasField(show, "state", "active") || strings.Contains(show, created.APIKey) {
		t.Errorf("apikey show printed\n%s", show)
	}
	s.ok("apikey", "revoke", "--uid", created.UID)
	eventually(t, "apikey revoke", func() bool { return g.do(t, "/", withKey).err.Code == "CredentialRevoked" })
	var activated map[string]any
	s.json(&activated, "apikey", "activate", "--uid", created.UID)
	if activated["isActive"] != true {
		t.Errorf("apikey activate --json = %v", activated)
	}
	eventually(t, "apikey activate", passes(withKey))

	// Deletions.
	var deleted struct{ UID string }
	s.json(&deleted, "project", "delete", "--project", projectUID)
	if deleted.UID != projectUID {
		t.Errorf("project delete --json = %+v", deleted)
	}
	eventually(t, "project delete", refused(inProject))
	if r := g.do(t, "/", withKey); r.status != http.StatusOK {
		t.Fatalf("the key without the deleted project: %d %s", r.status, r.body)
	}
	s.ok("apikey", "delete", "--uid", created.UID)
	eventually(t, "apikey delete", func() bool { return g.do(t, "/", withKey).status == http.StatusUnauthorized })
	s.ok("user", "delete", "--email", "gone@beta.test")
	s.json(&users, "user", "list", "--tenant", "beta")
	if len(users.Items) != 0 {
		t.Errorf("user list after user delete = %+v", users)
	}

	// Every change above is in the audit log as the operator's, the same through the
	// command line as through the API.
	var audit cliItems[cliAuditItem]
	s.json(&audit, "audit", "list", "--tenant", "acme")
	actions := operatorActions(t, audit.Items)
	want := []string{"apikey.delete", "project.delete", "apikey.activate", "apikey.revoke", "apikey.update",
		"apikey.create", "user.update", "user.update", "user.update", "membership.add", "membership.remove",
		"apikey.create", "membership.add", "project.create", "user.update", "user.create", "user.create", "tenant.create"}
	if strings.Join(actions, " ") != strings.Join(want, " ") {
		t.Errorf("audit list, newest first:\n got %v\nwant %v", actions, want)
	}
	var bossKey struct{ APIKey string }
	s.json(&bossKey, "apikey", "create", "--email", "boss@acme.test", "--name", "reader", "--expires", "7d")
	var api cliItems[cliAuditItem]
	res, body := g.call(t, http.MethodGet, "/v1/audit", map[string]string{"ApiKey": bossKey.APIKey}, "")
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &api) != nil || len(api.Items) != len(audit.Items)+1 {
		t.Fatalf("GET /v1/audit: %d %s", res.StatusCode, body)
	}
	for i, e := range audit.Items {
		if api.Items[i+1] != e {
			t.Errorf("audit event %d: the command line printed %+v, the API %+v", i, e, api.Items[i+1])
		}
	}

	// --limit and --since select the newest events.
	s.json(&audit, "audit", "list", "--tenant", "acme", "--limit", "3")
	if len(audit.Items) != 3 || audit.Items[0].Spec.Action != "apikey.create" {
		t.Errorf("audit list --limit 3 = %+v", audit.Items)
	}
	since := api.Items[2].Metadata.CreationTimestamp
	s.json(&audit, "audit", "list", "--tenant", "acme", "--since", since)
	for _, e := range audit.Items {
		if e.Metadata.CreationTimestamp < since {
			t.Errorf("audit list --since %s listed an event of %s", since, e.Metadata.CreationTimestamp)
		}
	}
	if len(audit.Items) < 3 {
		t.Errorf("audit list --since %s = %d events, want at least 3", since, len(audit.Items))
	}
	s.json(&audit, "audit", "list", "--tenant", "acme", "--since", time.Now().Add(time.Hour).Format(time.RFC3339))
	if len(audit.Items) != 0 {
		t.Errorf("audit list --since in an hour = %+v", audit.Items)
	}
	wantTable(t, s.ok("audit", "list", "--tenant", "acme", "--limit", "2"), []string{"TIME", "ACTION", "ACTOR", "TARGET", "DETAIL"}, 2)

	// The Caddy subcommand form stays, for a Caddy built with Keygate.
	if r := runCLI(t, s.env, "", "tenant", "list", "--config", filepath.Join(s.dir, "Caddyfile")); r.code != 0 || !strings.Contains(r.stdout, "acme") {
		t.Errorf("keygate keygate tenant list: %+v", r)
	}
}

func TestCLIParityRejectsBadInputWithOneLine(t *testing.T) {
	s := newCLIStore(t, ":8080 {\n\tkeygate\n}\n")
	s.ok("tenant", "create", "--name", "acme")
	s.ok("user", "create", "--tenant", "acme", "--email", "boss@acme.test", "--role", "tenant-admin")
	s.ok("user", "create", "--tenant", "acme", "--email", "dev@acme.test", "--role", "user")
	projectUID := strings.TrimSpace(s.ok("project", "create", "--tenant", "acme", "--name", "web"))
	var key struct{ UID string }
	s.json(&key, "apikey", "create", "--email", "dev@acme.test", "--name", "ci", "--expires", "7d")
	const unknown = "0123456789abcdef01234567"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "list", "--tenant", "nope"}, "tenant nope not found"},
		{[]string{"user", "show", "--email", "nobody@acme.test"}, "user nobody@acme.test not found"},
		{[]string{"user", "show"}, "--email is required"},
		{[]string{"user", "update", "--email", "dev@acme.test"}, "give --first-name or --last-name"},
		{[]string{"user", "set-role", "--email", "dev@acme.test", "--role", "root"}, `"root" is not tenant-admin or user`},
		{[]string{"user", "set-role", "--email", "boss@acme.test", "--role", "user"}, "at least one enabled tenant admin"},
		{[]string{"user", "set-role", "--email", "dev@acme.test"}, "--role is required"},
		{[]string{"user", "enable", "--email", "nobody@acme.test"}, "not found"},
		{[]string{"user", "delete", "--email", "boss@acme.test"}, "at least one enabled tenant admin"},
		{[]string{"user", "list", "--email", "dev@acme.test"}, "unknown flag: --email"},
		{[]string{"project", "list"}, "--tenant is required"},
		{[]string{"project", "show", "--project", unknown}, "not found"},
		{[]string{"project", "delete", "--project", unknown}, "not found"},
		{[]string{"project", "remove-member", "--project", projectUID, "--email", "nobody@acme.test"}, "not found"},
		{[]string{"project", "remove-member", "--project", projectUID, "--email", "dev@acme.test"}, "not found"},
		{[]string{"apikey", "list", "--email", "nobody@acme.test"}, "not found"},
		{[]string{"apikey", "show", "--uid", unknown}, "not found"},
		{[]string{"apikey", "edit", "--uid", key.UID}, "give --name, --description or --expires"},
		{[]string{"apikey", "edit", "--uid", key.UID, "--expires", "13d"}, `expiry "13d" is not 7d, 30d, 60d, 90d`},
		{[]string{"apikey", "edit", "--uid", unknown, "--name", "x"}, "not found"},
		{[]string{"apikey", "activate", "--uid", unknown}, "not found"},
		{[]string{"apikey", "delete", "--uid", unknown}, "not found"},
		{[]string{"audit", "list"}, "--tenant is required"},
		{[]string{"audit", "list", "--tenant", "nope"}, "tenant nope not found"},
		{[]string{"audit", "list", "--tenant", "acme", "--since", "yesterday"}, `--since "yesterday" is not an RFC 3339 time`},
		{[]string{"audit", "list", "--tenant", "acme", "--limit", "0"}, `--limit "0" is not a positive number`},
	} {
		r := s.run(tc.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want a non-zero exit and one line containing %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	// Nothing refused changed anything: the log holds the setup's changes only.
	var audit cliItems[cliAuditItem]
	s.json(&audit, "audit", "list", "--tenant", "acme")
	if len(audit.Items) != 5 {
		t.Errorf("audit log after refused commands: %+v", audit.Items)
	}
}

// operatorActions are the events' actions, each of which must be the operator's.
func operatorActions(t *testing.T, events []cliAuditItem) []string {
	t.Helper()
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Spec.Action)
		if e.Spec.Actor.UID != "operator" || !strings.HasPrefix(e.Spec.Actor.EmailID, "operator") {
			t.Errorf("%s by %+v, want the operator", e.Spec.Action, e.Spec.Actor)
		}
	}
	return actions
}

// wantTable checks a listing printed for people: a header row of the columns given
// (split on spaces), then rows lines, every column starting where its header does.
func wantTable(t *testing.T, out string, header []string, rows int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != rows+1 || strings.Join(strings.Fields(lines[0]), " ") != strings.Join(header, " ") {
		t.Fatalf("table with header %v and %d rows; got\n%s", header, rows, out)
	}
	// Aligned: where the header has a column break (two spaces then text), every row does.
	for i := 2; i < len(lines[0]); i++ {
		if lines[0][i-1] != ' ' || lines[0][i] == ' ' || lines[0][i-2] != ' ' {
			continue
		}
		for _, row := range lines[1:] {
			if len(row) <= i || row[i-1] != ' ' || row[i] == ' ' {
				t.Errorf("column at %d not aligned in\n%s", i, out)
				return
			}
		}
	}
}

// hasField reports whether out, as show prints a record, has the line "key: value".
func hasField(out, key, value string) bool {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && k == key && strings.TrimSpace(v) == value {
			return true
		}
	}
	return false
}
