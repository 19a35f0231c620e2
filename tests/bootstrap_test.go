package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/authcore/protect"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// bootstrapGateway starts Caddy with bootstrap_admin and a log file, and returns the
// log's path once Caddy has stopped again.
func bootstrapGateway(t *testing.T, dir, passwordArg string) (logPath string) {
	t.Helper()
	logPath = filepath.Join(dir, fmt.Sprintf("caddy-%d.log", freePort(t)))
	loadCaddyfile(t, fmt.Sprintf(`{
	admin off
	persist_config off
	log {
		output file %s
		level DEBUG
	}
	keygate {
		storage sqlite %s
		bootstrap_admin Admin@Example.com %s
	}
}
http://127.0.0.1:%d {
	keygate
	respond ok
}
`, logPath, filepath.Join(dir, "kg.db"), passwordArg, freePort(t)))
	stopCaddy()
	return logPath
}

func bootstrapAdmin(t *testing.T, dir string) (storage.User, []storage.Tenant) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "kg.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	users, err := store.UsersByEmail(context.Background(), "admin@example.com")
	if err != nil || len(users) != 1 {
		t.Fatalf("bootstrap admins: %v, %v", users, err)
	}
	tenant, err := store.TenantByUID(context.Background(), users[0].TenantUID)
	if err != nil || tenant.Name != "default" || users[0].Role != storage.RoleTenantAdmin {
		t.Fatalf("admin %+v in tenant %+v (%v)", users[0], tenant, err)
	}
	if _, err := store.TenantByName(context.Background(), "default"); err != nil {
		t.Fatal(err)
	}
	return users[0], []storage.Tenant{tenant}
}

func TestBootstrapWithoutPasswordWritesAPrivateFileAndLogsNoSecret(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("KEYGATE_TEST_UNSET_PASSWORD", "")
	logPath := bootstrapGateway(t, dir, "{env.KEYGATE_TEST_UNSET_PASSWORD}")

	pwFile := filepath.Join(dir, "caddy", "keygate-admin-password")
	info, err := os.Stat(pwFile)
	if err != nil {
		t.Fatalf("no password file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("password file mode %v, want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(pwFile)
	password := strings.TrimSpace(string(raw))
	admin, _ := bootstrapAdmin(t, dir)
	if len(password) < 20 || !protect.VerifyPassword(admin.PasswordHash, password) {
		t.Fatalf("the password in the file (%d chars) does not verify", len(password))
	}
	logs, _ := os.ReadFile(logPath)
	if !strings.Contains(string(logs), "created the first tenant") || !strings.Contains(string(logs), pwFile) {
		t.Errorf("the log does not report the bootstrap and name the file:\n%s", logs)
	}
	if strings.Contains(string(logs), password) {
		t.Fatal("the generated password appears in the log")
	}

	// A second start with a populated store changes nothing.
	bootstrapGateway(t, dir, "{env.KEYGATE_TEST_UNSET_PASSWORD}")
	again, _ := os.ReadFile(pwFile)
	if string(again) != string(raw) {
		t.Fatal("the second start rewrote the password file")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "caddy", "*.tmp")); len(leftovers) > 0 {
		t.Fatalf("staged password files left behind: %v", leftovers)
	}
	bootstrapAdmin(t, dir) // still exactly one admin
}

func TestBootstrapWithPasswordFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("KEYGATE_TEST_ADMIN_PASSWORD", "from-the-env-123")
	logPath := bootstrapGateway(t, dir, "{env.KEYGATE_TEST_ADMIN_PASSWORD}")
	admin, _ := bootstrapAdmin(t, dir)
	if !protect.VerifyPassword(admin.PasswordHash, "from-the-env-123") {
		t.Fatal("the admin's password is not the one from the environment")
	}
	if _, err := os.Stat(filepath.Join(dir, "caddy", "keygate-admin-password")); !os.IsNotExist(err) {
		t.Fatal("a password file was written although a password was given")
	}
	if logs, _ := os.ReadFile(logPath); strings.Contains(string(logs), "from-the-env-123") {
		t.Fatal("the password appears in the log")
	}
}
