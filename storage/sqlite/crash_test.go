package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/storage/sqlite"
)

// helperEnv, when set, makes TestHelperProcess act as the child of TestCrashKeepsWrites,
// writing to the database it names.
const helperEnv = "KEYGATE_SQLITE_HELPER_DB"

// TestHelperProcess is not a test: it is the child process TestCrashKeepsWrites starts
// and kills. It creates a tenant, user and key, says "created" and waits to be killed.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		return
	}
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := seed(context.Background(), s, "crash"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("created")
	time.Sleep(time.Minute) // the parent kills us long before
	os.Exit(3)
}

// TestCrashKeepsWrites kills a process with SIGKILL right after its write returned, with
// the store still open, and checks that the write is there on reopening.
func TestCrashKeepsWrites(t *testing.T) {
	path := tempPath(t)
	cmd := startHelper(t, path)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred Close, no cleanup
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child exit: %v, want killed", err)
	}

	s := open(t, sqlite.Options{Path: path})
	g, err := s.KeyGrantByDigest(context.Background(), digestOf("crash"))
	if err != nil {
		t.Fatalf("key written before the kill: %v", err)
	}
	if g.Key.UID != "k-crash" || g.User.UID != "u-crash" || !g.Key.Active {
		t.Errorf("grant after the kill = key %s user %s active %v", g.Key.UID, g.User.UID, g.Key.Active)
	}
}

// startHelper starts TestHelperProcess on the store at path and returns once it has
// written, with the store still open in it. The test's end kills it.
func startHelper(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	created := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "created" {
				created <- true
				return
			}
		}
		created <- false
	}()
	select {
	case ok := <-created:
		if !ok {
			_ = cmd.Wait()
			t.Fatalf("child ended without creating: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not create within 30s: %s", stderr.String())
	}
	return cmd
}
