package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/storage"
)

var webhookTests = []suiteTest{
	{"Webhooks/EnqueueFansOutToSubscribers", testEnqueueFansOut},
	{"Webhooks/ClaimLeasesOnce", testClaimLeasesOnce},
	{"Webhooks/FinishAndRetry", testFinishAndRetry},
	{"Webhooks/ClaimSkipsBusyEndpoints", testClaimSkips},
	{"Webhooks/DeleteTakesDeliveries", testDeleteWebhookTakesDeliveries},
	{"Webhooks/EnqueueRollsBackWithItsChange", testEnqueueRollsBack},
	{"Reminders/OncePerThreshold", testRemindedOnce},
	{"Reminders/KeysToRemind", testKeysToRemind},
}

func mustWebhook(t *testing.T, s storage.Store, tenantUID string, types ...string) storage.WebhookEndpoint {
	t.Helper()
	w := storage.WebhookEndpoint{
		UID: newUID("wh"), TenantUID: tenantUID, URL: "https://hooks.example/" + tenantUID, Description: "d",
		EventTypes: types, SealedSecret: []byte{9, 8, 7}, CreatedAt: t0, UpdatedAt: t0,
	}
	mustOK(t, "CreateWebhook", s.CreateWebhook(ctx(t), w))
	return w
}

func event(tenantUID, typ string, at time.Time) storage.Event {
	return storage.Event{ID: newUID("ev"), TenantUID: tenantUID, Type: typ, At: at, Payload: []byte(`{"type":"` + typ + `"}`)}
}

// testEnqueueFansOut: an event becomes one delivery per endpoint of its tenant that takes
// its type (an endpoint with no types takes all), and none for other tenants.
func testEnqueueFansOut(t *testing.T, s storage.Store) {
	tn, other := mustTenant(t, s, "acme"), mustTenant(t, s, "globex")
	all := mustWebhook(t, s, tn.UID)
	created := mustWebhook(t, s, tn.UID, "apikey.created", "apikey.revoked")
	deleted := mustWebhook(t, s, tn.UID, "apikey.deleted")
	foreign := mustWebhook(t, s, other.UID)

	got, err := s.ListWebhooks(ctx(t), tn.UID)
	mustOK(t, "ListWebhooks", err)
	if len(got) != 3 || got[1].UID != created.UID || len(got[1].EventTypes) != 2 || got[1].EventTypes[1] != "apikey.revoked" {
		t.Fatalf("ListWebhooks = %+v", got)
	}
	ev := event(tn.UID, "apikey.created", t0)
	mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), ev))
	for _, w := range []struct {
		ep   storage.WebhookEndpoint
		want int
	}{{all, 1}, {created, 1}, {deleted, 0}, {foreign, 0}} {
		ds, err := s.ListDeliveries(ctx(t), w.ep.UID, 10)
		mustOK(t, "ListDeliveries", err)
		if len(ds) != w.want {
			t.Errorf("endpoint types %v: %d deliveries, want %d", w.ep.EventTypes, len(ds), w.want)
			continue
		}
		if w.want == 1 && (ds[0].EventID != ev.ID || ds[0].Status != storage.DeliveryPending || string(ds[0].Payload) != string(ev.Payload) || ds[0].NextAttemptAt.UnixMilli() != t0.UnixMilli()) {
			t.Errorf("delivery = %+v", ds[0])
		}
	}
}

// testClaimLeasesOnce: callers racing to claim due deliveries get each one once; a lease
// keeps it from others until it passes, and what is not yet due is not claimed.
func testClaimLeasesOnce(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	mustWebhook(t, s, tn.UID)
	for i := 0; i < 20; i++ {
		mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), event(tn.UID, "user.created", t0.Add(time.Duration(i)*time.Millisecond))))
	}
	mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), event(tn.UID, "user.created", t0.Add(time.Hour))))

	now, lease := t0.Add(time.Minute), t0.Add(2*time.Minute)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(ctx(t), now, lease, 3)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.UID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Errorf("claimed %d distinct deliveries, want the 20 due", len(seen))
	}
	for uid, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s claimed %d times", uid, n)
		}
	}
	after, err := s.ClaimDeliveries(ctx(t), lease, lease.Add(time.Minute), 100)
	mustOK(t, "ClaimDeliveries after the lease", err)
	if len(after) != 20 {
		t.Errorf("after the lease passed %d deliveries were claimable again, want 20", len(after))
	}
}

// testClaimSkips: a claim leaves the deliveries of the endpoints it is told to skip.
func testClaimSkips(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	busy, free, other := mustWebhook(t, s, tn.UID), mustWebhook(t, s, tn.UID), mustWebhook(t, s, tn.UID)
	mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), event(tn.UID, "user.created", t0)))
	got, err := s.ClaimDeliveries(ctx(t), t0, t0.Add(time.Minute), 10, busy.UID, other.UID)
	mustOK(t, "ClaimDeliveries", err)
	if len(got) != 1 || got[0].EndpointUID != free.UID {
		t.Errorf("claim skipping two endpoints = %+v; want the third's delivery only", got)
	}
	if none, _ := s.ClaimDeliveries(ctx(t), t0, t0.Add(time.Minute), 10, busy.UID, other.UID); len(none) != 0 {
		t.Errorf("a second claim got %+v", none)
	}
	rest, _ := s.ClaimDeliveries(ctx(t), t0, t0.Add(time.Minute), 10)
	if len(rest) != 2 {
		t.Errorf("without skipping, %d deliveries were left; want the 2 skipped", len(rest))
	}
}

// testFinishAndRetry: a failed attempt is claimable again at its next attempt time, a
// delivered one never.
func testFinishAndRetry(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	mustWebhook(t, s, tn.UID)
	mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), event(tn.UID, "user.created", t0)))
	ds, err := s.ClaimDeliveries(ctx(t), t0, t0.Add(time.Minute), 10)
	mustOK(t, "ClaimDeliveries", err)
	if len(ds) != 1 {
		t.Fatalf("claimed %d, want 1", len(ds))
	}
	d := ds[0]
	d.Attempts, d.LastAttemptAt, d.LastStatus, d.LastError = 1, t0, 500, "HTTP 500"
	d.NextAttemptAt = t0.Add(5 * time.Second)
	mustOK(t, "FinishAttempt", s.FinishAttempt(ctx(t), d))
	early, _ := s.ClaimDeliveries(ctx(t), t0.Add(time.Second), t0.Add(time.Minute), 10)
	if len(early) != 0 {
		t.Errorf("a retry was claimable before its time: %+v", early)
	}
	again, err := s.ClaimDeliveries(ctx(t), t0.Add(5*time.Second), t0.Add(time.Minute), 10)
	mustOK(t, "ClaimDeliveries at the retry", err)
	if len(again) != 1 || again[0].Attempts != 1 || again[0].LastStatus != 500 || again[0].LastError != "HTTP 500" {
		t.Fatalf("retry claim = %+v", again)
	}
	d = again[0]
	d.Status, d.Attempts = storage.DeliveryDelivered, 2
	mustOK(t, "FinishAttempt", s.FinishAttempt(ctx(t), d))
	if later, _ := s.ClaimDeliveries(ctx(t), t0.Add(time.Hour), t0.Add(2*time.Hour), 10); len(later) != 0 {
		t.Errorf("a delivered event was claimed again: %+v", later)
	}
	mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), event(tn.UID, "user.deleted", t0))) // still pending
	if n, err := s.PruneDeliveries(ctx(t), t0.Add(time.Second)); n != 1 || err != nil {
		t.Errorf("PruneDeliveries = %d, %v; want the delivered one only", n, err)
	}
	if pending, _ := s.ClaimDeliveries(ctx(t), t0.Add(time.Hour), t0.Add(2*time.Hour), 10); len(pending) != 1 || pending[0].EventType != "user.deleted" {
		t.Errorf("after pruning, the pending delivery is %+v", pending)
	}
}

func testDeleteWebhookTakesDeliveries(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	w := mustWebhook(t, s, tn.UID)
	mustOK(t, "EnqueueEvent", s.EnqueueEvent(ctx(t), event(tn.UID, "user.created", t0)))
	mustOK(t, "DeleteWebhook", s.DeleteWebhook(ctx(t), w.UID))
	wantErr(t, "DeleteWebhook again", s.DeleteWebhook(ctx(t), w.UID), storage.ErrNotFound)
	_, err := s.WebhookByUID(ctx(t), w.UID)
	wantErr(t, "WebhookByUID(deleted)", err, storage.ErrNotFound)
	if ds, _ := s.ClaimDeliveries(ctx(t), t0, t0.Add(time.Minute), 10); len(ds) != 0 {
		t.Errorf("a deleted endpoint's delivery was claimed: %+v", ds)
	}
}

// testEnqueueRollsBack: an event enqueued in a transaction that fails is never delivered.
func testEnqueueRollsBack(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	w := mustWebhook(t, s, tn.UID)
	err := s.Update(ctx(t), func(tx storage.Tx) error {
		mustOK(t, "EnqueueEvent", tx.EnqueueEvent(ctx(t), event(tn.UID, "user.created", t0)))
		return storage.ErrConflict
	})
	wantErr(t, "Update", err, storage.ErrConflict)
	if ds, _ := s.ListDeliveries(ctx(t), w.UID, 10); len(ds) != 0 {
		t.Errorf("a rolled back event left deliveries: %+v", ds)
	}
}

func testRemindedOnce(t *testing.T, s storage.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.MarkReminded(ctx(t), "key-1", 24*time.Hour, t0)
			if err != nil {
				t.Errorf("MarkReminded: %v", err)
			}
			if ok {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d of 6 racing MarkReminded calls were first, want 1", firsts)
	}
	if ok, err := s.MarkReminded(ctx(t), "key-1", 7*24*time.Hour, t0); !ok || err != nil {
		t.Errorf("another threshold of the same key = %v, %v; want true", ok, err)
	}
}

// testKeysToRemind: keys in the window, active, living longer than the threshold, and
// not yet reminded for it.
func testKeysToRemind(t *testing.T, s storage.Store) {
	tn := mustTenant(t, s, "acme")
	u := mustUser(t, s, tn.UID, "a@acme.example", 0)
	mk := func(life, left time.Duration) storage.APIKey {
		k := newKey(u)
		k.CreatedAt, k.ExpiresAt = t0.Add(left-life), t0.Add(left)
		mustOK(t, "CreateAPIKey", s.CreateAPIKey(ctx(t), k, 0))
		return k
	}
	day := 24 * time.Hour
	soon, sooner := mk(30*day, 5*time.Hour), mk(30*day, 2*time.Hour)
	short := mk(20*time.Hour, 3*time.Hour) // lived less than a day: no one-day reminder
	later := mk(30*day, 3*day)             // outside the window
	revoked := mk(30*day, 4*time.Hour)
	reminded := mk(30*day, 6*time.Hour)
	rolledFrom := mk(30*day, 7*time.Hour)
	mustOK(t, "RollAPIKey", s.Update(ctx(t), func(tx storage.Tx) error {
		to := newKey(u)
		return tx.RollAPIKey(ctx(t), rolledFrom.UID, rolledFrom.ExpiresAt, to, 0)
	}))
	mustOK(t, "SetAPIKeyActive", s.SetAPIKeyActive(ctx(t), revoked.UID, false))
	if ok, err := s.MarkReminded(ctx(t), reminded.UID, day, t0); !ok || err != nil {
		t.Fatalf("MarkReminded = %v, %v", ok, err)
	}
	got, err := s.KeysToRemind(ctx(t), day, t0, t0.Add(day), 10)
	mustOK(t, "KeysToRemind", err)
	var uids []string
	for _, k := range got {
		uids = append(uids, k.UID)
	}
	if len(got) != 2 || got[0].UID != sooner.UID || got[1].UID != soon.UID {
		t.Errorf("KeysToRemind(1 day) = %v; want [%s %s] (not short %s, later %s, revoked %s, reminded %s, rolled %s)",
			uids, sooner.UID, soon.UID, short.UID, later.UID, revoked.UID, reminded.UID, rolledFrom.UID)
	}
	if got, _ := s.KeysToRemind(ctx(t), 0, t0, t0.Add(8*time.Hour), 10); len(got) != 5 {
		t.Errorf("KeysToRemind(expired) over the window = %d keys; want the 5 active ones, the rolled key among them", len(got))
	}
	if got, _ := s.KeysToRemind(ctx(t), day, t0, t0.Add(day), 1); len(got) != 1 {
		t.Errorf("limit 1 gave %d", len(got))
	}
}
