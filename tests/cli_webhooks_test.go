package tests

import (
	"net/http"
	"strings"
	"testing"
)

// keygate webhook list|deliveries|delete: the operator sees a tenant's receivers (never
// their secrets) and what is on its way to each, and can delete one.
func TestCLIWebhooks(t *testing.T) {
	s, g := startCLIGateway(t)
	s.ok("tenant", "create", "--name", "acme")
	s.ok("user", "create", "--tenant", "acme", "--email", "boss@acme.test", "--role", "tenant-admin")
	var admin struct{ APIKey string }
	s.json(&admin, "apikey", "create", "--email", "boss@acme.test", "--name", "ops", "--expires", "30d")
	var hook webhookAnswer
	if code := g.api(t, admin.APIKey, http.MethodPost, "/v1/webhooks", `{"url":"https://203.0.113.7/hook","events":["apikey.created"]}`, &hook); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	out := s.ok("webhook", "list", "--tenant", "acme")
	wantTable(t, out, []string{"UID", "URL", "EVENTS", "CREATED"}, 1)
	if !strings.Contains(out, hook.UID) || !strings.Contains(out, "apikey.created") || strings.Contains(out, "whsec_") {
		t.Errorf("webhook list printed\n%s", out)
	}
	s.ok("apikey", "create", "--email", "boss@acme.test", "--name", "ci", "--expires", "7d") // an event for it
	var ds cliItems[struct{ EventType, Status string }]
	s.json(&ds, "webhook", "deliveries", "--webhook", hook.UID)
	if len(ds.Items) != 1 || ds.Items[0].EventType != "apikey.created" || ds.Items[0].Status != "pending" {
		t.Errorf("webhook deliveries --json = %+v; want the key's event, pending (the receiver is unreachable)", ds.Items)
	}
	s.ok("webhook", "delete", "--webhook", hook.UID)
	if r := s.run("webhook", "deliveries", "--webhook", hook.UID); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("deliveries of a deleted webhook: exit %d, %q", r.code, r.stderr)
	}
	wantTable(t, s.ok("webhook", "list", "--tenant", "acme"), []string{"UID", "URL", "EVENTS", "CREATED"}, 0)
}
