package tests

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/postgres/pgtest"
)

// Two nodes on one PostgreSQL database both run the dispatcher: each event made on
// either is delivered once, by one of them.
func TestTwoNodesDeliverEachEventOnce(t *testing.T) {
	dsn := pgtest.Schema(t)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	nodes := startNodes(t, dsn, upstream.URL, webhookOptions, webhookOptions)
	c := seedCluster(t, dsn)
	r := newReceiver(t)
	registerWebhook(t, nodes[0].gateway, c.bossKey, r, "apikey.created", "apikey.revoked")

	const changes = 20
	var wg sync.WaitGroup
	for i := 0; i < changes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := nodes[i%2]
			res, body := n.call(t, "POST", "/v1/apiKeys", map[string]string{"ApiKey": c.bossKey}, keyBody(fmt.Sprintf("k%d", i), "expiryPreset", "7d", c.dev.UID))
			if res.StatusCode != http.StatusCreated {
				t.Errorf("create on %s: %d %s", n.name, res.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	r.waitFor(t, "every event", 20*time.Second, func(ds []delivered) bool { return len(countByID(ds)) >= changes })
	time.Sleep(2 * time.Second) // two polls: a duplicate would have come by now
	got := r.deliveries()
	for id, n := range countByID(got) {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(got) != changes {
		t.Errorf("%d deliveries for %d changes", len(got), changes)
	}
	for _, d := range got {
		if !d.SignatureOK || d.Type != "apikey.created" {
			t.Errorf("delivery %+v", d)
		}
	}
}

// Expiry reminders go out once per key and threshold although two nodes sweep for them at
// the same moment: a key 5 days from expiry gets the 7-day reminder, one 12 hours from it
// the 1-day reminder only (it missed the 7-day window), one that expired an hour ago
// apikey.expired, and a 7-day key none (it never had 7 days to go).
func TestExpiryRemindersOnceAcrossNodes(t *testing.T) {
	dsn := pgtest.Schema(t)
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	first := startNodes(t, dsn, upstream.URL, webhookOptions)[0]
	c := seedCluster(t, dsn)
	r := newReceiver(t)
	registerWebhook(t, first.gateway, c.bossKey, r, "apikey.expiring", "apikey.expired")

	now := time.Now()
	day := 24 * time.Hour
	in5d := fixtureKey(t, c.store, c.dev, now.Add(-25*day), now.Add(5*day))
	in12h := fixtureKey(t, c.store, c.dev, now.Add(-30*day), now.Add(12*time.Hour))
	gone := fixtureKey(t, c.store, c.dev, now.Add(-30*day), now.Add(-time.Hour))
	short := fixtureKey(t, c.store, c.dev, now.Add(-6*day), now.Add(day/2+time.Hour)) // lived 7 days: a 1-day reminder only

	// Two more nodes start at once; each sweeps as it starts. (The first swept before
	// the keys existed and sweeps again only in a minute.)
	startNodes(t, dsn, upstream.URL, webhookOptions, webhookOptions)
	r.waitFor(t, "the reminders", 20*time.Second, func(ds []delivered) bool { return len(ds) >= 4 })
	time.Sleep(2 * time.Second)
	got := r.deliveries()
	want := map[string]string{in5d.UID: "apikey.expiring", in12h.UID: "apikey.expiring", gone.UID: "apikey.expired", short.UID: "apikey.expiring"}
	seen := map[string]int{}
	for _, d := range got {
		if d.Payload.Data.Key == nil {
			t.Errorf("a reminder without its key: %s", d.Body)
			continue
		}
		uid := d.Payload.Data.Key.UID
		seen[uid]++
		if want[uid] != d.Type || !d.SignatureOK || d.Payload.Data.Actor.UID != "system" || d.Payload.Data.Key.ExpiresAt == "" {
			t.Errorf("reminder %s for key %s: %s", d.Type, uid, d.Body)
		}
	}
	for uid := range want {
		if seen[uid] != 1 {
			t.Errorf("key %s got %d reminders, want 1", uid, seen[uid])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d reminders, want %d", len(got), len(want))
	}
}

// fixtureKey puts a key made at created and expiring at expires straight into the store:
// a key of an age no API request can make.
func fixtureKey(t *testing.T, store storage.Store, u storage.User, created, expires time.Time) storage.APIKey {
	t.Helper()
	uid := authcore.NewUID()
	digest := sha256.Sum256([]byte("fixture " + uid))
	k := storage.APIKey{
		UID: uid, TenantUID: u.TenantUID, UserUID: u.UID, Name: "fixture", Digest: digest[:], Hint: "kg_fix…",
		ExpiresAt: expires, Active: true, CreatedAt: created, UpdatedAt: created, Tagged: true,
	}
	if err := store.CreateAPIKey(context.Background(), k, 0); err != nil {
		t.Fatal(err)
	}
	return k
}

// sqliteNodeConfig is a SQLite-backed gateway process's Caddyfile.
const sqliteNodeConfig = `{
	admin off
	persist_config off
	auto_https off
	keygate {
		storage sqlite %s
		webhook_private_targets allow
		webhook_timeout 2s
	}
}
http://127.0.0.1:%d {
	keygate
	reverse_proxy %s
}
`

// A gateway killed (SIGKILL) while delivering an event loses nothing: the delivery is in
// the store, written with the change, and the restarted gateway sends it again, with the
// same webhook-id, once the dead one's lease runs out.
func TestDeliverySurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "keygate.db")
	upstream := newEchoServer()
	t.Cleanup(upstream.Close)
	port := freePort(t)
	cfg := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(sqliteNodeConfig, db, port, upstream.Listener.Addr())), 0o600); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{"XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
	first := runNode(t, "gateway", url, cfg, env...)
	first.waitReady(t)

	admin, store := openAdmin(t, db)
	ctx := context.Background()
	if _, err := admin.CreateTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	boss := (&gateway{admin: admin}).mustUser(t, "boss@acme.test", storage.RoleTenantAdmin)
	bossKey := (&gateway{admin: admin}).mustKey(t, boss, "30d").Key

	r := newReceiver(t)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) }) // runs before the receiver closes
	r.answer = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			<-hold // the first attempt never gets an answer: the gateway dies waiting
		}
		return false
	}
	registerWebhook(t, first.gateway, bossKey, r, "apikey.created")
	(&gateway{admin: admin}).mustKey(t, boss, "7d")

	inFlight := r.waitFor(t, "the first attempt", 10*time.Second, func(ds []delivered) bool { return len(ds) == 1 })
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	hooks, err := store.ListWebhooks(ctx, boss.TenantUID)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks after the kill: %v %v", hooks, err)
	}
	pending, err := store.ListDeliveries(ctx, hooks[0].UID, 10)
	if err != nil || len(pending) != 1 || pending[0].Status != storage.DeliveryPending {
		t.Fatalf("the outbox after the kill: %+v %v; want the delivery pending", pending, err)
	}

	second := runNode(t, "restarted gateway", url, cfg, env...)
	second.waitReady(t)
	got := r.waitFor(t, "the delivery after the restart", 20*time.Second, func(ds []delivered) bool { return len(ds) >= 2 })
	if got[1].ID != inFlight[0].ID || !got[1].SignatureOK || got[1].Type != "apikey.created" {
		t.Errorf("after the restart the receiver got %+v; want the same event %s again, signed", got[1], inFlight[0].ID)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds, _ := store.ListDeliveries(ctx, hooks[0].UID, 10)
		if len(ds) == 1 && ds[0].Status == storage.DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery is not marked delivered: %+v", ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
