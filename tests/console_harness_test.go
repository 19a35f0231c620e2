package tests

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/keygate/keygate/authcore/manage"
	"github.com/keygate/keygate/storage"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite the console screenshots in docs/")

// browserNames are the executables tried, in order: Debian's package first.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// tab is a tab of a headless Chromium with a tab open, and what its pages reported.
type tab struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors (CSP violations among them)
}

// newBrowser starts a headless Chromium for one test, ending in 60 s at most so that a
// hang fails the test instead of stalling CI. Without a browser the test is skipped,
// unless KEYGATE_REQUIRE_BROWSER is set (as in CI), where it fails.
func newBrowser(t *testing.T, width, height int) *tab {
	t.Helper()
	var path string
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("KEYGATE_REQUIRE_BROWSER") != "" {
			t.Fatalf("KEYGATE_REQUIRE_BROWSER is set but none of %v is installed (apt-get install chromium)", browserNames)
		}
		t.Skipf("browser test skipped: none of %v is installed (apt-get install chromium)", browserNames)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(width, height),
		// chromedp runs the browser with a fresh temporary user-data-dir and removes it.
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &tab{}
	tabCtx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
	ctx, cancelTimeout := context.WithTimeout(tabCtx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	b.ctx = ctx
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	if _, err := chromedp.Call(ctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser reported: %s", p)
		}
	})
	return b
}

func (b *tab) listen(ev any) {
	var p string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		p = "exception: " + e.ExceptionDetails.Text
		if ex := e.ExceptionDetails.Exception; ex != nil {
			p += " " + ex.Description
		}
	case *log.EventEntryAdded:
		// 401s and 403s the tests provoke are logged as failed loads; only other errors
		// (script errors, CSP violations) count.
		if e.Entry.Level == log.EntryLevelError && !strings.Contains(e.Entry.Text, "Failed to load resource") {
			p = fmt.Sprintf("%s: %s", e.Entry.Source, e.Entry.Text)
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

// do runs steps, failing the test at the first error.
func (b *tab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, b *tab, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// consolePassword is every console test user's password.
const consolePassword = "console-pw-123"

// consoleUser adds a user with consolePassword to the seeded tenant.
func (g *gateway) consoleUser(t *testing.T, tenant, email string, role storage.Role) storage.User {
	t.Helper()
	u, err := g.admin.CreateUser(context.Background(), manage.NewUser{TenantName: tenant, Email: email, Role: role, Password: consolePassword})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// login signs in through the console's form, submitting it with the Enter key.
func (b *tab) login(t *testing.T, g *gateway, email string) {
	t.Helper()
	b.do(t,
		chromedp.Navigate(g.url+"/console/"),
		chromedp.WaitVisible(chromedp.ID("login-email")),
		chromedp.SendKeys(chromedp.ID("login-email"), email),
		chromedp.SendKeys(chromedp.ID("login-password"), consolePassword),
		press("Enter"),
		chromedp.WaitVisible(chromedp.ID("app-view")),
		chromedp.WaitVisible(chromedp.CSS("#main h1")),
	)
}

// waitFor polls a JavaScript condition until it holds, for at most 10 s.
func (b *tab) waitFor(t *testing.T, what, js string) {
	t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: %v (page: %s)", what, err, b.pageText(t))
	}
}

func (b *tab) pageText(t *testing.T) string {
	t.Helper()
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	return strings.Join(strings.Fields(text), " ")
}

// row is the CSS selector of the table row for a named item.
func row(name string) string { return fmt.Sprintf(`tr[data-name=%q]`, name) }

// status is the Status column's text in a key's row.
func (b *tab) status(t *testing.T, name string) string {
	t.Helper()
	return get(t, b, chromedp.Text(chromedp.CSS(row(name)+" .col-status")))
}

// waitStatus waits until a key's Status column reads want.
func (b *tab) waitStatus(t *testing.T, name, want string) {
	t.Helper()
	b.waitFor(t, fmt.Sprintf("status of %s to become %s", name, want),
		fmt.Sprintf(`document.querySelector(%q)?.textContent.trim() === %q`, row(name)+" .col-status", want))
}

// menu opens a row's three-dot menu with the mouse and picks an item.
func (b *tab) menu(t *testing.T, name, item string) {
	t.Helper()
	b.do(t,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[aria-label=%q]`, "Actions for "+name))),
		chromedp.Click(menuItem(item)),
	)
}

// menuItem is the visible menu's item labelled item.
func menuItem(item string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//div[@role="menu" and not(@hidden)]//button[normalize-space()=%q]`, item))
}

// dialogButton is the open dialog's button labelled label.
func dialogButton(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//dialog[@open]//button[normalize-space()=%q]`, label))
}

// choice is the open dialog's radio option whose label starts with label.
func choice(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//dialog[@open]//label[span[normalize-space()=%q]]`, label))
}

// allowClipboard lets pages of origin write and read the clipboard, so the test can
// read what the copy button copied.
func (b *tab) allowClipboard(t *testing.T, origin string) {
	t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted,
			Origin:     origin,
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// keys are the keys press sends, with their DOM code and Windows key code.
var keys = map[string]struct {
	code string
	vk   int64
	text string
}{
	"Enter":     {"Enter", 13, "\r"},
	"Escape":    {"Escape", 27, ""},
	"ArrowDown": {"ArrowDown", 40, ""},
	"ArrowUp":   {"ArrowUp", 38, ""},
	"Tab":       {"Tab", 9, ""},
}

// press sends one key press to the focused element as a keyboard does: a key down (with
// its text, which makes the keypress that activates a button) and a key up. (KeyEvent
// adds a separate char event, which would press a second, newly focused button.)
func press(key string) chromedp.Action[chromedp.Void] {
	k := keys[key]
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventTypeKeyDown
		if k.text == "" {
			down = input.DispatchKeyEventTypeRawKeyDown
		}
		for _, typ := range []input.DispatchKeyEventType{down, input.DispatchKeyEventTypeKeyUp} {
			p := input.DispatchKeyEventParams{Type: typ, Key: key, Code: k.code, WindowsVirtualKeyCode: k.vk, NativeVirtualKeyCode: k.vk}
			if typ != input.DispatchKeyEventTypeKeyUp {
				p.Text = k.text
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// selectOption picks an option of a <select> as a user would, firing its change event.
func selectOption(css, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		el.value = %q;
		if (el.value !== %q) throw new Error('no option ' + %q);
		el.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, css, value, value, value))
}

// count is how many elements match css.
func (b *tab) count(t *testing.T, css string) int {
	t.Helper()
	return get(t, b, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, css)))
}

// tokenCookie is the browser's Authorization cookie for url, or nil.
func (b *tab) tokenCookie(t *testing.T, url string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "Authorization" {
			return c
		}
	}
	return nil
}

// goTo follows a link of the main menu.
func (b *tab) goTo(t *testing.T, label string) {
	t.Helper()
	b.do(t,
		chromedp.Click(chromedp.Search(fmt.Sprintf(`//nav//a[normalize-space()=%q]`, label))),
		chromedp.WaitVisible(chromedp.Search(fmt.Sprintf(`//main//h1[normalize-space()=%q]`, label))),
	)
}

// newTab opens another tab in b's browser: it shares b's cookies.
func (b *tab) newTab(t *testing.T) *tab {
	t.Helper()
	nt := &tab{}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(nt.listen))
	t.Cleanup(cancel)
	nt.ctx = ctx
	return nt
}
