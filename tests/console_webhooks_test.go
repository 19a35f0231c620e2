package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

// hookSection is the CSS selector of a receiver's card on the Webhooks page.
func hookSection(url string) string { return fmt.Sprintf(`section.webhook[data-url=%q]`, url) }

// registerInConsole fills the Add Webhook form (checking events, none for all) and
// returns the secret the console shows once, after checking the note and the copy button.
func (b *tab) registerInConsole(t *testing.T, url, description string, events ...string) string {
	t.Helper()
	b.do(t,
		chromedp.Click(chromedp.ID("add-webhook")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=url]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=url]"), url),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=description]"), description),
	)
	for _, e := range events {
		b.do(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(`dialog[open] input[name=event][value=%q]`, e))))
	}
	b.do(t,
		chromedp.Click(dialogButton("Register webhook")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] .key-output")),
	)
	if text := get(t, b, chromedp.Text(chromedp.CSS("dialog[open]"))); !strings.Contains(text, "shown once") {
		t.Fatalf("the secret's dialog lacks the shown-once note: %q", text)
	}
	secret := get(t, b, chromedp.Value(chromedp.CSS("dialog[open] .key-output")))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the console shows %q, not a signing secret", secret)
	}
	b.do(t, chromedp.Click(chromedp.CSS("dialog[open] .copy-btn")))
	b.waitFor(t, "the copy button to say Copied", `document.querySelector('dialog[open] .copy-label')?.textContent === 'Copied'`)
	copied, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || copied != secret {
		t.Fatalf("clipboard holds %q (%v), want the secret", copied, err)
	}
	b.do(t, chromedp.Click(dialogButton("Done")), chromedp.WaitVisible(chromedp.CSS(hookSection(url))))
	if text := b.pageText(t); strings.Contains(text, secret) {
		t.Fatalf("the page shows the secret after its dialog closed: %s", text)
	}
	return secret
}

// waitDelivery clicks Refresh and waits until the receiver's card shows a delivery of
// eventType whose row matches rowCSS and whose badge reads badge.
func (b *tab) waitDelivery(t *testing.T, url, eventType, rowCSS, badge string) {
	t.Helper()
	b.do(t, chromedp.Click(chromedp.ID("webhooks-refresh")))
	b.waitFor(t, fmt.Sprintf("a %s delivery of %s to %s", badge, eventType, url), fmt.Sprintf(`[...document.querySelectorAll(%q)].some((tr) =>
		tr.querySelector('.event-type')?.textContent === %q && tr.querySelector('.col-status')?.textContent.trim() === %q)`,
		hookSection(url)+" tr.delivery"+rowCSS, eventType, badge))
}

// A tenant admin registers receivers on the Webhooks page and sees each secret once;
// a refusal of the API is shown in the form. A key's creation then shows as delivered
// to the receiver that answers, and as retried, marked and with its error, to the one
// that answers 500. Deleting a receiver (after a confirmation) removes it.
func TestConsoleWebhooksRegisterDeliverAndDelete(t *testing.T) {
	g := startGatewayWith(t, webhookOptions, "")
	s := g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	ok, broken := newReceiver(t), newReceiver(t)
	broken.answer = func(n int, w http.ResponseWriter) bool {
		http.Error(w, "broken", http.StatusInternalServerError)
		return true
	}
	okURL, brokenURL := ok.URL+"/hooks", broken.URL+"/hooks"

	b := newBrowser(t, 1280, 900)
	b.allowClipboard(t, g.url)
	b.login(t, g, lee.Email)
	b.goTo(t, "Webhooks")
	b.do(t, chromedp.WaitVisible(chromedp.ID("webhooks-empty")))

	// A URL the gateway refuses: the API's message in the form, which stays open.
	b.do(t,
		chromedp.Click(chromedp.ID("add-webhook")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] input[name=url]")),
		chromedp.SendKeys(chromedp.CSS("dialog[open] input[name=url]"), "https://user:pw@hooks.example/x"),
		chromedp.Click(dialogButton("Register webhook")),
		chromedp.WaitVisible(chromedp.CSS("dialog[open] .alert-error .api-message")),
	)
	if msg := get(t, b, chromedp.Text(chromedp.CSS("dialog[open] .alert-error .api-message"))); msg == "" {
		t.Fatal("the refusal's message is empty")
	}
	b.do(t, chromedp.Click(dialogButton("Cancel")), chromedp.WaitNotPresent(chromedp.CSS("dialog[open]")))

	secret := b.registerInConsole(t, okURL, "audit sink")
	ok.mu.Lock()
	ok.secret = secret
	ok.mu.Unlock()
	brokenSecret := b.registerInConsole(t, brokenURL, "always fails", "apikey.created")
	broken.mu.Lock()
	broken.secret = brokenSecret
	broken.mu.Unlock()
	if secret == brokenSecret {
		t.Fatal("two receivers were shown the same secret")
	}
	if got := get(t, b, chromedp.Text(chromedp.CSS(hookSection(okURL)+" .webhook-events"))); got != "All events" {
		t.Errorf("the receiver with no event chosen gets %q", got)
	}
	if got := get(t, b, chromedp.Text(chromedp.CSS(hookSection(brokenURL)+" .webhook-events"))); got != "apikey.created" {
		t.Errorf("the receiver of apikey.created gets %q", got)
	}

	// A key is made: the working receiver gets it signed with the secret the console
	// showed, and the page says delivered; the broken one's is retried and marked.
	g.mustKey(t, s.user, "30d")
	ok.waitFor(t, "the key's creation at the working receiver", 10*time.Second, func(ds []delivered) bool {
		for _, d := range ds {
			if d.Type == "apikey.created" && d.SignatureOK {
				return true
			}
		}
		return false
	})
	broken.waitFor(t, "the key's creation at the broken receiver", 10*time.Second, func(ds []delivered) bool { return len(ds) >= 1 })
	b.waitDelivery(t, okURL, "apikey.created", ".delivery-delivered", "Delivered")
	b.waitDelivery(t, brokenURL, "apikey.created", ".delivery-failing", "Retrying")
	// Read in one evaluation: the page re-renders its deliveries every few seconds, and a
	// node read across a re-render reads empty.
	b.waitFor(t, "the failing delivery's last error naming the receiver's 500", fmt.Sprintf(
		`[...document.querySelectorAll(%q)].some((td) => td.textContent.includes('500'))`,
		hookSection(brokenURL)+" tr.delivery-failing .col-error"))
	if got := b.count(t, hookSection(okURL)+" tr.delivery-failing"); got != 0 {
		t.Errorf("%d deliveries to the working receiver are marked failing", got)
	}

	// Deleting the broken receiver, after the confirmation, removes it here and in the API.
	b.do(t,
		chromedp.Click(chromedp.CSS(hookSection(brokenURL)+" .webhook-delete")),
		chromedp.WaitVisible(dialogButton("Delete")),
		chromedp.Click(dialogButton("Delete")),
		chromedp.WaitNotPresent(chromedp.CSS(hookSection(brokenURL))),
		chromedp.WaitVisible(chromedp.CSS(hookSection(okURL))),
	)
	adminKey := g.mustKey(t, s.admin, "30d").Key
	var list struct{ Items []webhookAnswer }
	if code := g.api(t, adminKey, "GET", "/v1/webhooks", "", &list); code != http.StatusOK || len(list.Items) != 1 || list.Items[0].URL != okURL {
		t.Errorf("after the deletion the API lists %d: %+v", code, list.Items)
	}
}

// A key that works and ends within 7 days is marked "Expires soon", with its expiry in
// the tooltip, on My API Keys and on the tenant's API Keys page; a 30-day key and a
// revoked 7-day key are not, and the Status column still reads as before.
func TestConsoleWebhooksExpiresSoonBadge(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	ctx := context.Background()
	for _, k := range []struct{ name, expiry string }{{"soon", "7d"}, {"later", "30d"}, {"stopped", "7d"}} {
		made, err := g.admin.CreateAPIKey(ctx, manage.NewAPIKey{User: lee, Name: k.name, Expiry: k.expiry})
		if err != nil {
			t.Fatal(err)
		}
		if k.name == "stopped" {
			if _, err := g.admin.SetAPIKeyActive(ctx, made.Record.UID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)
	check := func(page string) {
		t.Helper()
		b.goTo(t, page)
		b.do(t, chromedp.WaitVisible(chromedp.CSS(row("later"))))
		if n := b.count(t, row("soon")+" .badge-expires-soon"); n != 1 {
			t.Fatalf("%s: the 7-day key has %d Expires soon badges (page: %s)", page, n, b.pageText(t))
		}
		mark := get(t, b, chromedp.Attributes(chromedp.CSS(row("soon")+" .badge-expires-soon")))
		if text := get(t, b, chromedp.Text(chromedp.CSS(row("soon")+" .badge-expires-soon"))); text != "Expires soon" {
			t.Errorf("%s: the badge reads %q", page, text)
		}
		if want := fmt.Sprint(time.Now().AddDate(0, 0, 7).Year()); !strings.HasPrefix(mark["title"], "Expires ") || !strings.Contains(mark["title"], want) {
			t.Errorf("%s: the badge's title is %q, want the expiry date", page, mark["title"])
		}
		for _, name := range []string{"later", "stopped"} {
			if n := b.count(t, row(name)+" .badge-expires-soon"); n != 0 {
				t.Errorf("%s: key %s is marked Expires soon", page, name)
			}
		}
		for name, want := range map[string]string{"soon": "Active", "later": "Active", "stopped": "Inactive"} {
			if got := b.status(t, name); got != want {
				t.Errorf("%s: %s's status reads %q, want %q", page, name, got, want)
			}
		}
	}
	check("My API Keys")
	check("API Keys")
}
