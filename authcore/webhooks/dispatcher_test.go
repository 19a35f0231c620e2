package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
	"github.com/keygate/keygate/storage/sqlite"
)

// openStore is a real SQLite store with one tenant.
func openStore(t *testing.T) (storage.Store, storage.Tenant) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "kg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tn := storage.Tenant{UID: authcore.NewUID(), Name: "acme", CreatedAt: time.Now()}
	if err := st.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	return st, tn
}

var testKey = make([]byte, 32)

// endpoint registers url for the tenant with a fresh secret.
func endpoint(t *testing.T, st storage.Store, tenantUID, url string) storage.WebhookEndpoint {
	t.Helper()
	w := storage.WebhookEndpoint{UID: authcore.NewUID(), TenantUID: tenantUID, URL: url, CreatedAt: time.Now()}
	var err error
	if w.SealedSecret, err = SealSecret(testKey, w.UID, NewSecret()); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	return w
}

// A receiver that holds every request open gets at most two of them at a time from a
// node, however many of its events are due, and a healthy receiver's event is delivered
// meanwhile: one bad receiver cannot take every delivery slot.
func TestASlowReceiverHoldsTwoSlotsOnly(t *testing.T) {
	st, tn := openStore(t)
	release := make(chan struct{})
	var mu sync.Mutex
	holding, most := 0, 0
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		holding++
		most = max(most, holding)
		mu.Unlock()
		<-release
		mu.Lock()
		holding--
		mu.Unlock()
	}))
	defer slow.Close()
	releaseAll := sync.OnceFunc(func() { close(release) })
	defer releaseAll() // before the server closes: it waits for its handlers
	fastGot := make(chan string, 10)
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fastGot <- r.Header.Get("webhook-id")
	}))
	defer fast.Close()
	endpoint(t, st, tn.UID, slow.URL)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDispatcher(Config{Store: st, SecretKey: testKey, AllowPrivate: true, Timeout: time.Minute, PollInterval: 20 * time.Millisecond})
	done := make(chan struct{})
	for i := 0; i < 10; i++ {
		enqueue(t, st, tn.UID)
	}
	go func() { defer close(done); d.Run(ctx) }()
	waitUntil(t, "the slow receiver holds two requests", func() bool { mu.Lock(); defer mu.Unlock(); return holding == 2 })

	endpoint(t, st, tn.UID, fast.URL)
	id := enqueue(t, st, tn.UID)
	for got := ""; got != id; {
		select {
		case got = <-fastGot:
		case <-time.After(10 * time.Second):
			t.Fatal("the healthy receiver got nothing while the slow one held its requests")
		}
	}
	mu.Lock()
	if most != 2 {
		t.Errorf("the slow receiver held %d requests at once, want 2", most)
	}
	mu.Unlock()
	releaseAll()
	cancel()
	<-done
}

// enqueue writes an event for every endpoint of the tenant and returns its id.
func enqueue(t *testing.T, st storage.Store, tenantUID string) string {
	t.Helper()
	ev := storage.Event{ID: "msg_" + authcore.NewUID(), TenantUID: tenantUID, Type: "apikey.created", At: time.Now(), Payload: []byte(`{}`)}
	if err := st.EnqueueEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return ev.ID
}

func waitUntil(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A receiver that was public when registered but whose name now leads inside the network
// (here: an endpoint row naming 127.0.0.1, as after a DNS change) gets no connection: the
// check runs again at each dial, after DNS. The delivery records why and is retried.
func TestDeliveryRefusesAnInternalAddressAtConnectTime(t *testing.T) {
	st, tn := openStore(t)
	got := make(chan struct{}, 1)
	internal := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- struct{}{} }))
	defer internal.Close()
	w := endpoint(t, st, tn.UID, internal.URL)
	enqueue(t, st, tn.UID)

	outcomes := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := NewDispatcher(Config{Store: st, SecretKey: testKey, PollInterval: 20 * time.Millisecond, Outcome: func(o string) { outcomes <- o }})
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	select {
	case o := <-outcomes:
		if o != "retry" {
			t.Errorf("outcome %q, want retry", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no attempt was made")
	}
	cancel()
	<-done
	select {
	case <-got:
		t.Fatal("the internal receiver got a request")
	default:
	}
	ds, err := st.ListDeliveries(context.Background(), w.UID, 10)
	if err != nil || len(ds) != 1 || ds[0].Status != storage.DeliveryPending || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "loopback or private") {
		t.Errorf("the delivery after a refused connection: %+v, %v", ds, err)
	}
}
