package credentials

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/storage/sqlite"
)

// Nodes starting at once on an empty store all sign with the same key, so a token from
// any of them verifies on the others straight away (not only after a keyring reread).
func TestNodesStartingTogetherShareOneSigningKey(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "k.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const nodes = 4
	kids := make([]string, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadKeyring(ctx, store, time.Now)
			if err != nil {
				t.Error(err)
				return
			}
			kids[i], _ = k.signing()
		}()
	}
	wg.Wait()
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("the store holds %d signing keys, want 1", len(keys))
	}
	for i, kid := range kids {
		if kid != keys[0].KID {
			t.Errorf("node %d signs with %q, want %q", i, kid, keys[0].KID)
		}
	}
}
