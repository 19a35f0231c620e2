package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// byUID is the CSS selector of a key's row by its uid: the two keys of a roll share a name.
func byUID(uid string) string { return fmt.Sprintf(`tr[data-uid=%q]`, uid) }

// rowMenuOf opens the three-dot menu of the row css selects and waits for item.
func (b *tab) rowMenuOf(t *testing.T, css, item string) {
	t.Helper()
	b.do(t, chromedp.Click(chromedp.CSS(css+" .col-actions button")), chromedp.WaitVisible(menuItem(item)))
}

// A user rolls a key in the console: picks the overlap, gets the new key once, and sees
// the two keys linked; the old one can be rolled no more. A tenant admin sees the link
// on the tenant's page too.
func TestConsoleRollsAKey(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	old, err := g.admin.CreateAPIKey(context.Background(), manage.NewAPIKey{User: ann, Name: "deploy", Description: "CD pipeline", Expiry: "60d"})
	if err != nil {
		t.Fatal(err)
	}
	revoked := g.mustKey(t, ann, "30d")
	if _, err := g.admin.SetAPIKeyActive(context.Background(), revoked.Record.UID, false); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, 1280, 800)
	b.login(t, g, ann.Email)

	// A revoked key offers no roll, and says why.
	b.rowMenuOf(t, byUID(revoked.Record.UID), "Roll")
	if item := get(t, b, chromedp.Attributes(menuItem("Roll"))); item["aria-disabled"] != "true" || !strings.Contains(item["title"], "revoked key cannot be rolled") {
		t.Fatalf("Roll of a revoked key: %v", item)
	}
	b.do(t, press("Escape"), chromedp.WaitNotPresent(menuItem("Roll")))

	b.rowMenuOf(t, byUID(old.Record.UID), "Roll")
	b.do(t,
		chromedp.Click(menuItem("Roll")),
		chromedp.WaitVisible(choice("1 hour")),
		chromedp.Click(choice("1 hour")),
		chromedp.Click(dialogButton("Roll key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] .key-output")),
	)
	if text := get(t, b, chromedp.Text(chromedp.CSS("dialog[open]"))); !strings.Contains(text, "It will not be shown again") {
		t.Fatalf("the one-time display lacks the warning: %q", text)
	}
	key := get(t, b, chromedp.Value(chromedp.CSS("dialog[open] .key-output")))
	if _, ok := authcore.ParseKey(key); !ok {
		t.Fatalf("the roll shows %q, not a key", key)
	}
	for name, k := range map[string]string{"the new key": key, "the old key in the overlap": old.Key} {
		if r := g.do(t, "/", map[string]string{"ApiKey": k}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Email") != ann.Email {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	b.do(t, chromedp.Click(dialogButton("Done")))
	b.waitFor(t, "the new key in the list", fmt.Sprintf(`document.querySelectorAll(%q).length === 2`, row("deploy")))

	// The rows name each other by their hints; the old one ends in an hour.
	rolled, err := g.store.APIKeyByUID(context.Background(), old.Record.UID)
	if err != nil || rolled.RolledTo == "" {
		t.Fatalf("the old key after the roll: %+v, %v", rolled, err)
	}
	fresh, err := g.store.APIKeyByUID(context.Background(), rolled.RolledTo)
	if err != nil || fresh.Name != "deploy" || fresh.Description != "CD pipeline" {
		t.Fatalf("the new key: %+v, %v", fresh, err)
	}
	if d := rolled.ExpiresAt.Sub(fresh.CreatedAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("the old key ends %v after the roll, want an hour", d)
	}
	if link := get(t, b, chromedp.Text(chromedp.CSS(byUID(old.Record.UID)+" .roll-link"))); link != "Rolled to "+fresh.Hint {
		t.Errorf("the old key's row says %q", link)
	}
	if link := get(t, b, chromedp.Text(chromedp.CSS(byUID(fresh.UID)+" .roll-link"))); link != "Replaces "+rolled.Hint {
		t.Errorf("the new key's row says %q", link)
	}
	b.rowMenuOf(t, byUID(old.Record.UID), "Roll")
	if item := get(t, b, chromedp.Attributes(menuItem("Roll"))); item["aria-disabled"] != "true" || !strings.Contains(item["title"], "rolled already") {
		t.Fatalf("Roll of a rolled key: %v", item)
	}
	b.do(t, press("Escape"), chromedp.WaitNotPresent(menuItem("Roll")))

	// The tenant's page shows the link as well.
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	admin := newBrowser(t, 1280, 800)
	admin.login(t, g, lee.Email)
	admin.goTo(t, "API Keys")
	admin.do(t, chromedp.WaitVisible(chromedp.CSS(byUID(fresh.UID))))
	if link := get(t, admin, chromedp.Text(chromedp.CSS(byUID(old.Record.UID)+" .roll-link"))); link != "Rolled to "+fresh.Hint {
		t.Errorf("the tenant page's old key row says %q", link)
	}
}
