package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/authcore"
	"github.com/keygate/keygate/storage"
)

// A user creates a key in the console, copies it, uses it, revokes, re-activates, edits
// and deletes it; the gateway follows each step.
func TestConsoleKeyLifecycle(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	ann := g.consoleUser(t, "acme", "ann@acme.test", storage.RoleUser)
	g.expiredKey(t, ann, "old")
	b := newBrowser(t, 1280, 800)
	b.allowClipboard(t, g.url)
	b.login(t, g, ann.Email)

	// An expired key says so, and cannot be re-activated: the item is disabled, with a
	// tooltip saying why.
	if got := b.status(t, "old"); got != "Expired" {
		t.Fatalf("expired key's status %q", got)
	}
	b.do(t, chromedp.Click(chromedp.CSS(`button[aria-label="Actions for old"]`)), chromedp.WaitVisible(menuItem("Re-activate")))
	item := get(t, b, chromedp.Attributes(menuItem("Re-activate")))
	if item["aria-disabled"] != "true" || !strings.Contains(item["title"], "cannot be re-activated") {
		t.Fatalf("Re-activate of an expired key: %v", item)
	}
	b.do(t, press("Escape"), chromedp.WaitNotPresent(menuItem("Re-activate")))
	b.waitFor(t, "Escape to give focus back to the menu button", `document.activeElement?.getAttribute('aria-label') === 'Actions for old'`)

	// The wizard: details, the 7-day preset, then the key shown once.
	b.do(t,
		chromedp.Click(chromedp.ID("add-key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "laptop"),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=description]"), "Ann's laptop"),
		chromedp.Click(choice("7 days")),
		chromedp.Click(dialogButton("Create key")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] .key-output")),
	)
	if text := get(t, b, chromedp.Text(chromedp.CSS("dialog[open]"))); !strings.Contains(text, "It will not be shown again") {
		t.Fatalf("the one-time display lacks the warning: %q", text)
	}
	key := get(t, b, chromedp.Value(chromedp.CSS("dialog[open] .key-output")))
	if _, ok := authcore.ParseKey(key); !ok {
		t.Fatalf("the wizard shows %q, not a key", key)
	}
	b.do(t, chromedp.Click(chromedp.CSS("dialog[open] .copy-btn")))
	b.waitFor(t, "the copy button to say Copied", `document.querySelector('dialog[open] .copy-label')?.textContent === 'Copied'`)
	copied, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || copied != key {
		t.Fatalf("clipboard holds %q (%v), want the key", copied, err)
	}

	// The copied key works through the gateway, as Ann.
	if r := g.do(t, "/", map[string]string{"ApiKey": copied}); r.status != http.StatusOK || r.echo.Header.Get("X-User-Email") != ann.Email {
		t.Fatalf("the copied key: %d %s", r.status, r.body)
	}
	b.do(t, chromedp.Click(dialogButton("Done")), chromedp.WaitVisible(chromedp.CSS(row("laptop"))))
	if got := b.status(t, "laptop"); got != "Active" {
		t.Fatalf("new key's status %q", got)
	}
	b.checkExpiry(t, "laptop", 7)

	// Revoke in the table: Inactive, and refused.
	b.menu(t, "laptop", "Revoke")
	b.waitStatus(t, "laptop", "Inactive")
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusUnauthorized || r.err.Code != "CredentialRevoked" {
		t.Fatalf("revoked key: %d %s", r.status, r.body)
	}

	// Re-activate with the keyboard alone: Enter opens the menu on its first item (Edit),
	// ArrowDown reaches Re-activate, Enter picks it.
	b.do(t,
		chromedp.Focus(chromedp.CSS(`button[aria-label="Actions for laptop"]`)),
		press("Enter"),
		chromedp.WaitVisible(menuItem("Re-activate")),
		press("ArrowDown"),
		press("Enter"),
	)
	b.waitStatus(t, "laptop", "Active")
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusOK {
		t.Fatalf("re-activated key: %d %s", r.status, r.body)
	}

	// Edit: a new name and 30 days.
	b.menu(t, "laptop", "Edit")
	b.do(t,
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.Clear(chromedp.CSS("dialog[open] input[name=name]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=name]"), "laptop-2"),
		chromedp.Click(choice("30 days")),
		chromedp.Click(dialogButton("Save")),
		chromedp.WaitVisible(chromedp.CSS(row("laptop-2"))),
	)
	b.checkExpiry(t, "laptop-2", 30)

	// Delete, after confirming.
	b.menu(t, "laptop-2", "Delete")
	b.do(t, chromedp.Click(dialogButton("Delete")), chromedp.WaitNotPresent(chromedp.CSS(row("laptop-2"))))
	if r := g.do(t, "/", map[string]string{"ApiKey": key}); r.status != http.StatusUnauthorized {
		t.Fatalf("deleted key: %d %s", r.status, r.body)
	}
}

// checkExpiry checks that a key's expiration date is days from now.
func (b *tab) checkExpiry(t *testing.T, name string, days int) {
	t.Helper()
	attr := get(t, b, chromedp.AttributeValue(chromedp.CSS(row(name)+" time"), "datetime"))
	exp, err := time.Parse(time.RFC3339, attr.Value)
	if want := time.Now().AddDate(0, 0, days); err != nil || exp.Sub(want).Abs() > time.Minute {
		t.Fatalf("%s expires %q (%v), want about %s", name, attr.Value, err, want)
	}
}

// expiredKey stores a key of u that expired an hour ago.
func (g *gateway) expiredKey(t *testing.T, u storage.User, name string) {
	t.Helper()
	_, digest, hint := authcore.NewKey()
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	if err := g.admin.Store.CreateAPIKey(context.Background(), storage.APIKey{UID: authcore.NewUID(), TenantUID: u.TenantUID, UserUID: u.UID, Name: name,
		Digest: digest[:], Hint: hint, ExpiresAt: past, Active: true, CreatedAt: past.Add(-time.Hour), UpdatedAt: past}); err != nil {
		t.Fatal(err)
	}
}
