package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// webhookOptions lets the gateway deliver to the test's receivers on 127.0.0.1.
const webhookOptions = "webhook_private_targets allow"

// Each kind of change reaches a registered receiver as its event, with a signature the
// receiver verifies with the secret it was shown once, the same webhook-id in the header
// and the body's type, and nothing secret in the body. An endpoint subscribed to some
// types gets only those.
func TestEveryChangeIsDeliveredSigned(t *testing.T) {
	g := startGatewayWith(t, webhookOptions, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	all, onlyRevoked := newReceiver(t), newReceiver(t)
	registerWebhook(t, g, adminKey, all)
	registerWebhook(t, g, adminKey, onlyRevoked, "apikey.revoked")

	ctx := context.Background()
	k := g.mustKey(t, s.user, "30d")
	steps := []struct {
		event string
		do    func() error
	}{
		{"apikey.created", func() error { return nil }}, // k, just made
		{"apikey.updated", func() error {
			_, err := g.admin.EditAPIKey(ctx, k.Record.UID, manage.APIKeyEdit{Name: "renamed"})
			return err
		}},
		{"apikey.revoked", func() error { _, err := g.admin.SetAPIKeyActive(ctx, k.Record.UID, false); return err }},
		{"apikey.reactivated", func() error { _, err := g.admin.SetAPIKeyActive(ctx, k.Record.UID, true); return err }},
		{"apikey.rolled", func() error { _, err := g.admin.RollAPIKey(ctx, k.Record.UID, "1h"); return err }},
		{"apikey.deleted", func() error { return g.admin.DeleteAPIKey(ctx, k.Record.UID) }},
		{"user.created", func() error {
			_, err := g.admin.CreateUser(ctx, manage.NewUser{TenantName: "acme", Email: "new@acme.test", Role: storage.RoleUser})
			return err
		}},
		{"user.updated", func() error {
			u, err := g.admin.FindUser(ctx, "new@acme.test", "acme")
			if err == nil {
				_, err = g.admin.UpdateUser(ctx, u, manage.UserRequest{FirstName: "New", LastName: "Person"})
			}
			return err
		}},
		{"user.deleted", func() error {
			u, err := g.admin.FindUser(ctx, "new@acme.test", "acme")
			if err == nil {
				err = g.admin.DeleteUser(ctx, u)
			}
			return err
		}},
		{"project.created", func() error { _, err := g.admin.CreateProject(ctx, "acme", "shop"); return err }},
		{"project.member_added", func() error { _, err := g.admin.AddProjectMember(ctx, s.project.UID, "dev@acme.test"); return err }},
		{"project.deleted", func() error { return g.admin.DeleteProject(ctx, s.project.UID) }},
		{"session.revoked", func() error {
			_, token, _ := g.login(t, "", "", map[string]string{"ApiKey": s.userKey})
			res, body := g.call(t, "POST", "/v1/users/auth/tokens/revoke", map[string]string{"Authorization": token}, `{"tokens":["`+token+`"]}`)
			if res.StatusCode >= 300 {
				t.Fatalf("revoke: %d %s", res.StatusCode, body)
			}
			return nil
		}},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.event, err)
		}
	}
	got := all.waitFor(t, "every event", 15*time.Second, func(ds []delivered) bool {
		for _, step := range steps {
			if !slices.ContainsFunc(ds, func(d delivered) bool { return d.Type == step.event }) {
				return false
			}
		}
		return true
	})
	for _, d := range got {
		if !d.SignatureOK || !strings.HasPrefix(d.ID, "msg_") || d.Payload.Data.TenantUID != s.tenant.UID || d.Payload.Timestamp == "" {
			t.Errorf("%s: delivery %+v: want a valid signature, a msg_ id, the tenant", d.Type, d)
		}
		if strings.Contains(d.Body, k.Key) || strings.Contains(d.Body, adminKey) || strings.Contains(d.Body, "whsec_") {
			t.Errorf("%s: a secret is in the body: %s", d.Type, d.Body)
		}
	}
	if got := all.deliveries(); slices.ContainsFunc(got, func(d delivered) bool { return d.Type == "webhook.create" || d.Type == "" }) {
		t.Errorf("the receiver got a delivery that is no event type: %+v", got)
	}
	for id, n := range countByID(all.deliveries()) {
		if n != 1 {
			t.Errorf("event %s delivered %d times to a receiver that answers 204", id, n)
		}
	}
	revoked := onlyRevoked.waitFor(t, "the revoked-only receiver", 10*time.Second, func(ds []delivered) bool { return len(ds) >= 1 })
	time.Sleep(1500 * time.Millisecond) // a poll's worth: nothing else may follow
	if revoked = onlyRevoked.deliveries(); len(revoked) != 1 || revoked[0].Type != "apikey.revoked" || !revoked[0].SignatureOK {
		t.Errorf("the receiver subscribed to apikey.revoked got %+v", revoked)
	}
}

// A receiver that fails four times gets the fifth attempt, and no other: one event id,
// five deliveries, the same signature scheme on each. The deliveries listing shows it
// delivered after five attempts. The clock moves so that the backoff's waits pass at
// once.
func TestFailingReceiverGetsRetriesWithTheSameID(t *testing.T) {
	clock := useMovableClock(t)
	g := startGatewayWith(t, webhookOptions, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	r := newReceiver(t)
	r.answer = func(n int, w http.ResponseWriter) bool {
		if n <= 4 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	hook := registerWebhook(t, g, adminKey, r, "apikey.created")
	g.mustKey(t, s.user, "30d")

	for attempt := 1; attempt <= 5; attempt++ {
		r.waitFor(t, "attempt", 10*time.Second, func(ds []delivered) bool { return len(ds) >= attempt })
		if attempt == 1 {
			time.Sleep(200 * time.Millisecond)
			if n := len(r.deliveries()); n != 1 {
				t.Fatalf("%d attempts before the backoff's first wait passed", n)
			}
		}
		clock.advance(11 * time.Minute) // past the next wait (5s, 30s, 2m, 10m)
	}
	time.Sleep(1500 * time.Millisecond)
	clock.advance(5 * time.Hour)
	time.Sleep(1500 * time.Millisecond)
	got := r.deliveries()
	ids := countByID(got)
	if len(got) != 5 || len(ids) != 1 {
		t.Fatalf("the receiver got %d deliveries of %d event ids, want 5 of 1: %v", len(got), len(ids), ids)
	}
	for i, d := range got {
		if !d.SignatureOK || d.Type != "apikey.created" {
			t.Errorf("attempt %d: %+v", i+1, d)
		}
	}
	var list struct {
		Items []struct {
			EventID, Status, LastAttemptAt string
			Attempts, LastStatus           int
		}
	}
	if code := g.api(t, adminKey, "GET", "/v1/webhooks/"+hook.UID+"/deliveries", "", &list); code != http.StatusOK {
		t.Fatalf("deliveries: %d", code)
	}
	if len(list.Items) != 1 || list.Items[0].Status != "delivered" || list.Items[0].Attempts != 5 || list.Items[0].LastStatus != 204 || list.Items[0].EventID != got[0].ID {
		t.Errorf("deliveries listing = %+v; want one delivered after 5 attempts", list.Items)
	}
}

// Without webhook_private_targets allow, a receiver on a loopback or private address is
// refused by name, and so is a URL with credentials in it; the API lists, shows and
// deletes receivers, and another tenant's is not found.
func TestWebhookTargetsAreChecked(t *testing.T) {
	g := startGateway(t, "")
	s := g.seed(t)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	for _, url := range []string{"http://127.0.0.1:9/hook", "http://localhost/hook", "https://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest/meta-data"} {
		res, body := g.call(t, "POST", "/v1/webhooks", map[string]string{"ApiKey": adminKey}, `{"url":"`+url+`"}`)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "webhook_private_targets") {
			t.Errorf("POST %s: %d %s; want 400 naming webhook_private_targets", url, res.StatusCode, body)
		}
	}
	for _, bad := range []string{`{"url":"ftp://hooks.example/x"}`, `{"url":"https://u:p@hooks.example/x"}`, `{"url":"https://hooks.example/x","events":["apikey.nope"]}`, `{}`} {
		if res, body := g.call(t, "POST", "/v1/webhooks", map[string]string{"ApiKey": adminKey}, bad); res.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s; want 400", bad, res.StatusCode, body)
		}
	}
	if code := g.api(t, s.userKey, "POST", "/v1/webhooks", `{"url":"https://hooks.example/x"}`, nil); code != http.StatusForbidden {
		t.Errorf("a user who is no admin registered a webhook: %d", code)
	}
	var made webhookAnswer
	if code := g.api(t, adminKey, "POST", "/v1/webhooks", `{"url":"https://203.0.113.7/hook","events":["apikey.expiring"]}`, &made); code != http.StatusCreated {
		t.Fatalf("a public receiver: %d", code)
	}
	var list struct{ Items []webhookAnswer }
	g.api(t, adminKey, "GET", "/v1/webhooks", "", &list)
	if len(list.Items) != 1 || list.Items[0].UID != made.UID || list.Items[0].Secret != "" || !slices.Equal(list.Items[0].Events, []string{"apikey.expiring"}) {
		t.Errorf("listing = %+v; want the receiver without its secret", list.Items)
	}
	var one webhookAnswer
	if code := g.api(t, adminKey, "GET", "/v1/webhooks/"+made.UID, "", &one); code != http.StatusOK || one.Secret != "" || one.URL != "https://203.0.113.7/hook" {
		t.Errorf("GET = %d %+v", code, one)
	}
	if code := g.api(t, adminKey, "DELETE", "/v1/webhooks/"+made.UID, "", nil); code != http.StatusNoContent {
		t.Errorf("DELETE = %d", code)
	}
	if code := g.api(t, adminKey, "GET", "/v1/webhooks/"+made.UID, "", nil); code != http.StatusNotFound {
		t.Errorf("GET after delete = %d", code)
	}
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), "whsec_") {
		t.Errorf("a listing shows a secret: %s", raw)
	}
}
