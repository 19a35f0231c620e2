package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// In a real browser: the console asks for the organisation, offers "Sign in with" its
// provider, and comes back from the provider's own login page signed in; a refused
// sign-in comes back to the sign-in page saying why.
func TestConsoleSignsInThroughTheOrganizationsProvider(t *testing.T) {
	x := startSSO(t)
	x.idp.setGroups(idpAnn, "ops")
	b := newBrowser(t, 1280, 900)
	signIn := func(u idpUser) {
		t.Helper()
		b.do(t,
			chromedp.Navigate(x.g.url+"/console/"),
			chromedp.WaitVisible(chromedp.ID("sso-org")),
			chromedp.SendKeys(chromedp.ID("sso-org"), "acme"),
			press("Enter"),
			chromedp.WaitVisible(chromedp.CSS("#sso-logins a")),
		)
		if label := get(t, b, chromedp.Text(chromedp.CSS("#sso-logins a"))); !strings.HasPrefix(label, "Sign in with ") {
			t.Fatalf("the console offers %q, want a Sign in with <provider> button", label)
		}
		b.do(t,
			chromedp.Click(chromedp.CSS("#sso-logins a")),
			chromedp.WaitVisible(chromedp.ID("username")), // the provider's login page
			chromedp.SendKeys(chromedp.ID("username"), u.username),
			chromedp.SendKeys(chromedp.ID("password"), idpPassword),
			press("Enter"),
		)
	}

	signIn(idpAnn)
	waitAcrossNavigations(t, b, "the console, signed in as ann", `(() => { const v = document.getElementById('app-view'), n = document.getElementById('account-name'); return !!v && !v.hidden && n.textContent === 'ann@acme.test' })()`)
	if c := b.tokenCookie(t, x.g.url); c == nil || !c.HTTPOnly {
		t.Fatalf("after the SSO sign-in the browser holds no HttpOnly Authorization cookie: %+v", c)
	}
	if strings.Contains(get(t, b, chromedp.Evaluate[string](`location.href`)), "code=") {
		t.Error("the console's address still holds the authorization code")
	}

	b.do(t, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-view")))
	signIn(idpBob) // the provider has not verified bob's email
	waitAcrossNavigations(t, b, "the sign-in page with the reason", `(() => { const v = document.getElementById('login-view'), e = document.getElementById('login-error'); return !!v && !v.hidden && e.textContent.includes('verified') })()`)
	if strings.Contains(get(t, b, chromedp.Evaluate[string](`location.href`)), "ssoError") {
		t.Error("the console's address still holds the error")
	}

	// An organisation without single sign-on says so.
	b.do(t,
		chromedp.Navigate(x.g.url+"/console/"),
		chromedp.WaitVisible(chromedp.ID("sso-org")),
		chromedp.SendKeys(chromedp.ID("sso-org"), "globex"),
		press("Enter"),
	)
	b.waitFor(t, "the password notice", `(() => { const e = document.getElementById('sso-error'); return !!e && e.textContent.includes('password') })()`)
}

// waitAcrossNavigations is tab.waitFor for a condition reached through page loads (the
// provider's redirects): a poll that a navigation interrupts is started again.
func waitAcrossNavigations(t *testing.T, b *tab, what, js string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s (%v; page: %s)", what, err, b.pageText(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
