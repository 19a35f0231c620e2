package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/storage"
)

// A tenant admin makes the tenant's SCIM token on the SCIM provisioning page: it is
// shown once with the base URL, and works; the page then shows only its hint. Rotating
// it (after a confirmation) stops the old one at once; deleting it ends provisioning.
func TestConsoleTenantAdminManagesTheSCIMToken(t *testing.T) {
	g := startGateway(t, "")
	g.seed(t)
	lee := g.consoleUser(t, "acme", "lee@acme.test", storage.RoleTenantAdmin)
	b := newBrowser(t, 1280, 800)
	b.login(t, g, lee.Email)
	shown := func() string {
		t.Helper()
		b.do(t, chromedp.WaitVisible(chromedp.CSS("dialog[open] input.key-output")))
		token := get(t, b, chromedp.Evaluate[string](`document.querySelector('dialog[open] input.key-output').value`))
		hint := get(t, b, chromedp.Text(chromedp.CSS("dialog[open] .hint")))
		if !strings.HasPrefix(token, "kgscim_") || !strings.Contains(hint, "/scim/v2") {
			t.Fatalf("the dialog shows token %q and hint %q: want a kgscim_ token and the base URL", token, hint)
		}
		b.do(t, chromedp.Click(dialogButton("Done")))
		// The page shows the new token's hint once it has rendered again: until then its
		// buttons are the old page's, about to be replaced.
		b.waitFor(t, "the page with the new token", fmt.Sprintf(`(document.getElementById('scim-hint')?.textContent || '').endsWith(%q)`, "…"+token[len(token)-4:]))
		return token
	}
	users := func(token string) int {
		code, _ := g.scim(t, token, http.MethodGet, "/Users", "", nil)
		return code
	}

	b.goTo(t, "SCIM provisioning")
	b.do(t,
		chromedp.WaitVisible(chromedp.Search(`//main//p[normalize-space()="No SCIM token"]`)),
		chromedp.Click(chromedp.ID("scim-rotate")),
	)
	first := shown()
	if code := users(first); code != http.StatusOK {
		t.Fatalf("the token the console showed: %d, want 200", code)
	}
	if text := b.pageText(t); strings.Contains(text, first) || !strings.Contains(text, "/scim/v2") {
		t.Errorf("the page after the dialog shows the secret, or no base URL:\n%s", text)
	}

	b.do(t, chromedp.Click(chromedp.ID("scim-rotate")), chromedp.Click(dialogButton("Rotate")))
	second := shown()
	if users(first) != http.StatusUnauthorized || users(second) != http.StatusOK {
		t.Fatalf("after the rotation: old %d, new %d; want 401 and 200", users(first), users(second))
	}

	b.do(t,
		chromedp.Click(chromedp.ID("scim-delete")),
		chromedp.Click(dialogButton("Delete")),
		chromedp.WaitVisible(chromedp.Search(`//main//p[normalize-space()="No SCIM token"]`)),
	)
	if code := users(second); code != http.StatusUnauthorized {
		t.Errorf("after the deletion: %d, want 401", code)
	}
}
