package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/conformance"
	"github.com/keygate/keygate/storage/sqlite"
)

// open opens a store with o and closes it when the test ends.
func open(t *testing.T, o sqlite.Options) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("Open(%s): %v", o.Path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func tempPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "keygate.db")
}

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) storage.Store {
		// A short poll keeps the Watch tests quick; the defaults are exercised below.
		return open(t, sqlite.Options{Path: tempPath(t), PollInterval: 20 * time.Millisecond})
	})
}

func TestConformanceDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite with default options is slower")
	}
	conformance.Run(t, func(t *testing.T) storage.Store {
		return open(t, sqlite.Options{Path: tempPath(t)})
	})
}
