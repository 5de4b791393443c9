package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/beckonhq/beckon/internal/netfault"
)

// The web demo of `beckon serve -demo`, driven in headless Chromium: tabs
// are devices, and each check reads the page as a person would see it.
const (
	// browserEnv=required makes a missing Chromium a failure (CI).
	browserEnv = "BECKON_BROWSER"
	// screenshotEnv names a file for the README's screenshot (docs/demo.png),
	// relative to the repository's root.
	screenshotEnv = "BECKON_SCREENSHOT"
	checkTimeout  = 10 * time.Second // one check: something on screen
	suiteTimeout  = 180 * time.Second
)

func TestBrowser(t *testing.T) {
	exe := findChromium(t)
	_, httpAddr := startServe(t, serveConfig{data: t.TempDir(), store: "memory", demo: true})
	b := newBrowser(t, exe, "http://"+httpAddr)

	t.Run("ring and accept", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		alice.wait(t, "a countdown", hasTextMatch(outCard("calling"), `Calling… \d+ s`))
		bob.wait(t, "a ringing call from alice", hasText(inCard("ringing")+" .who", "alice"))
		bob.click(t, inCard("ringing")+` [data-act="accept"]`)
		bob.wait(t, "answered", hasText(inCard("answered"), "Answered"))
		alice.wait(t, "answered by bob", hasText(outCard("answered"), "Answered by bob"))
		checkLog(t, alice, "answered", "bob")
		checkLog(t, bob, "accepted", "alice")
	})

	t.Run("reject", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		bob.click(t, inCard("ringing")+` [data-act="reject"]`)
		bob.wait(t, "declined", hasText(inCard("declined"), "Declined"))
		alice.wait(t, "declined", hasText(outCard("declined"), "Declined"))
		checkLog(t, alice, "declined", "bob")
	})

	t.Run("cancel", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		bob.wait(t, "ringing", has(inCard("ringing")))
		alice.click(t, outCard("calling")+` [data-act="cancel"]`)
		alice.wait(t, "cancelled", hasText(outCard("cancelled"), "Cancelled"))
		bob.wait(t, "cancelled by alice", hasText(inCard("cancelled"), "Cancelled by alice"))
		checkLog(t, bob, "cancelled", "alice")
	})

	t.Run("modify while ringing", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		bob.wait(t, "a video call", hasText(inCard("ringing")+` [data-role="media"]`, "Video call"))
		alice.click(t, outCard("calling")+` [data-act="modify"]`)
		bob.wait(t, "switched to audio", hasText(inCard("ringing")+` [data-role="media"]`, "Audio call"))
		bob.wait(t, "the change said", hasText(inCard("ringing")+` [data-role="status"]`, "changed by alice"))
		alice.click(t, outCard("calling")+` [data-act="cancel"]`)
		bob.wait(t, "cancelled", has(inCard("cancelled")))
	})

	t.Run("timeout", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 5, "bob")
		bob.wait(t, "ringing", has(inCard("ringing")))
		alice.wait(t, "no answer", hasText(outCard("unanswered"), "No answer"))
		bob.wait(t, "missed", hasText(inCard("missed"), "Missed"))
		checkLog(t, bob, "missed", "alice")
	})

	t.Run("two tabs of one user", func(t *testing.T) {
		alice, phone, laptop := b.open(t, "alice"), b.open(t, "bob"), b.open(t, "bob")
		alice.wait(t, "bob's two devices", hasText(`#online li:has(input[value="bob"])`, "2 devices"))
		alice.call(t, 30, "bob")
		phone.wait(t, "ringing", has(inCard("ringing")))
		laptop.wait(t, "ringing", has(inCard("ringing")))
		laptop.click(t, inCard("ringing")+` [data-act="accept"]`)
		laptop.wait(t, "answered here", hasText(inCard("answered")+` [data-role="status"]`, "Answered"))
		phone.wait(t, "answered elsewhere", hasText(inCard("answered"), "Answered on another device"))
	})

	t.Run("a tab opened while ringing rings (SYN-1)", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		bob.wait(t, "ringing", has(inCard("ringing")))
		late := b.open(t, "bob")
		late.wait(t, "ringing on the new tab", hasText(inCard("ringing")+" .who", "alice"))
		late.click(t, inCard("ringing")+` [data-act="reject"]`)
		bob.wait(t, "declined elsewhere", hasText(inCard("declined"), "Declined on another device"))
	})

	t.Run("reconnect resumes the session (REM-5)", func(t *testing.T) {
		lid := netfault.New(t, httpAddr)
		alice, bob := b.open(t, "alice"), b.openAt(t, "http://"+lid.Addr(), "bob", "")
		alice.call(t, 30, "bob")
		bob.wait(t, "a video call", hasText(inCard("ringing")+` [data-role="media"]`, "Video call"))
		lid.Hold(true)
		lid.Cut()
		bob.wait(t, "reconnecting", `document.body.dataset.conn === "reconnecting"`)
		alice.click(t, outCard("calling")+` [data-act="modify"]`)
		alice.wait(t, "switched to audio", hasText(outCard("calling")+` [data-role="media"]`, "Audio call"))
		alice.click(t, outCard("calling")+` [data-act="cancel"]`)
		alice.wait(t, "cancelled", has(outCard("cancelled")))
		bob.wait(t, "still ringing, offline", has(inCard("ringing"))+` && document.body.dataset.conn === "reconnecting"`)
		lid.Hold(false)
		bob.wait(t, "the session resumed", `document.body.dataset.session === "resumed" && document.body.dataset.connections === "2"`)
		bob.wait(t, "cancelled by alice", hasText(inCard("cancelled"), "Cancelled by alice"))
		bob.wait(t, "the change, shown", hasText(inCard("cancelled")+` [data-role="media"]`, "Audio call"))
		bob.wait(t, "each event once, in order", `document.querySelector(`+jsString(inCard("cancelled"))+`).dataset.events === "ReceiveNewInvitation InvitationModified InvitationCancelled"`)
		bob.wait(t, "the ringing stopped", `!document.title.startsWith("🔔")`)
		bob.wait(t, "reconnected", hasText("#conn", "reconnected")+` && document.getElementById("restarted").hidden`)
		bob.screenshot(t, "reconnected")
		checkLog(t, bob, "cancelled", "alice")
	})

	t.Run("a new session after the expiry (REM-6, SYN-1)", func(t *testing.T) {
		lid := netfault.New(t, httpAddr)
		// expiry=0: the session ends with its connection.
		alice, carol, bob := b.open(t, "alice"), b.open(t, "carol"), b.openAt(t, "http://"+lid.Addr(), "bob", "expiry=0")
		alice.call(t, 30, "bob")
		carol.call(t, 30, "bob")
		bob.wait(t, "two calls ringing", `document.querySelectorAll(`+jsString(inCard("ringing"))+`).length === 2`)
		lid.Hold(true)
		lid.Cut()
		bob.wait(t, "reconnecting", `document.body.dataset.conn === "reconnecting"`)
		alice.click(t, outCard("calling")+` [data-act="cancel"]`)
		alice.wait(t, "cancelled", has(outCard("cancelled")))
		lid.Hold(false)
		bob.wait(t, "a new session", `document.body.dataset.session === "new" && document.body.dataset.connections === "2"`)
		bob.wait(t, "the notice", `!document.getElementById("restarted").hidden`)
		bob.wait(t, "alice's call over", hasText(inCard("gone")+" .who", "alice"))
		bob.wait(t, "carol's call ringing again", hasText(inCard("ringing")+" .who", "carol"))
		bob.screenshot(t, "new-session")
		checkLog(t, bob, "cancelled", "alice")
		bob.click(t, inCard("ringing")+` [data-act="accept"]`)
		carol.wait(t, "answered by bob", hasText(outCard("answered"), "Answered by bob"))
	})

	t.Run("the caller's tab drops and resumes", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		bob.wait(t, "ringing", has(inCard("ringing")))
		alice.click(t, "#drop") // alice reconnects after a second; bob declines meanwhile or just after
		bob.click(t, inCard("ringing")+` [data-act="reject"]`)
		alice.wait(t, "the session resumed", `document.body.dataset.session === "resumed" && document.body.dataset.connections === "2"`)
		alice.wait(t, "declined", hasText(outCard("declined"), "Declined"))
		checkLog(t, alice, "declined", "bob")
	})

	t.Run("group call", func(t *testing.T) {
		alice, bob, carol := b.open(t, "alice"), b.open(t, "bob"), b.open(t, "carol")
		alice.call(t, 30, "bob", "carol")
		for _, tb := range []*tab{bob, carol} {
			tb.wait(t, "a group call from alice", hasText(inCard("ringing")+" .who", "alice · group call"))
		}
		bob.click(t, inCard("ringing")+` [data-act="accept"]`)
		carol.wait(t, "bob's answer", has(inCard("ringing")+` [data-invitee="bob"][data-state="accepted"]`))
		carol.click(t, inCard("ringing")+` [data-act="reject"]`)
		alice.wait(t, "answered by bob", hasText(outCard("answered"), "Answered by bob"))
		alice.wait(t, "carol declined", has(outCard("answered")+` [data-invitee="carol"][data-state="rejected"]`))
		alice.screenshot(t, "group-call")
		checkLog(t, carol, "rejected", "alice")
	})

	t.Run("screenshot", func(t *testing.T) {
		alice, bob := b.open(t, "alice"), b.open(t, "bob")
		alice.call(t, 30, "bob")
		bob.wait(t, "ringing", has(inCard("ringing")))
		bob.wait(t, "the call log", has(`#records li`))
		png := bob.screenshot(t, "bob-ringing")
		if path := os.Getenv(screenshotEnv); path != "" {
			if !filepath.IsAbs(path) {
				path = filepath.Join("..", "..", path) // the test runs in cmd/beckon
			}
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", path)
		}
		alice.click(t, outCard("calling")+` [data-act="cancel"]`)
	})
}

// findChromium returns the browser to drive, or skips the test (fails it
// with BECKON_BROWSER=required) when there is none.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium on PATH: the web demo's browser tests need it; install it " +
		"(apt-get install -y chromium) and run: BECKON_BROWSER=required go test ./cmd/beckon/ -run TestBrowser"
	if os.Getenv(browserEnv) == "required" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// browser is one headless Chromium; each tab is a device of the demo.
type browser struct {
	ctx   context.Context
	base  string
	shots string // screenshots of failures and of the last check
}

func newBrowser(t *testing.T, exe, base string) *browser {
	// The whole suite is bounded: the browser stops at suiteTimeout.
	suite, stop := context.WithTimeout(context.Background(), suiteTimeout)
	t.Cleanup(stop)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	actx, cancelAlloc := chromedp.NewExecAllocator(suite, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	shots, err := os.MkdirTemp("", "beckon-browser-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	return &browser{ctx: bctx, base: base, shots: shots}
}

// tab is one page of the demo, joined as one user: a device.
type tab struct {
	b    *browser
	user string
	ctx  context.Context

	mu     sync.Mutex
	errors []string // uncaught JavaScript exceptions
}

// open opens a tab joined as user, closed when t ends.
func (b *browser) open(t *testing.T, user string) *tab {
	t.Helper()
	return b.openAt(t, b.base, user, "")
}

// openAt opens a tab joined as user at base (the server, or a proxy to
// it), with query added to the page's address.
func (b *browser) openAt(t *testing.T, base, user, query string) *tab {
	t.Helper()
	tb := &tab{b: b, user: user}
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithListener(func(ev any) {
		if ex, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := ex.ExceptionDetails.Text
			if ex.ExceptionDetails.Exception != nil {
				msg += " " + ex.ExceptionDetails.Exception.Description
			}
			tb.mu.Lock()
			tb.errors = append(tb.errors, msg)
			tb.mu.Unlock()
		}
	}))
	tb.ctx = ctx
	t.Cleanup(func() {
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errors {
			t.Errorf("%s's tab: uncaught JavaScript exception: %s", user, e)
		}
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(420, 900),
		chromedp.Navigate(base+"/?user="+url.QueryEscape(user)+"&"+query)); err != nil {
		t.Fatalf("opening a tab for %s: %v", user, err)
	}
	tb.wait(t, "online", `document.body.dataset.conn === "online"`)
	return tb
}

// wait polls the JavaScript condition cond until it holds, for at most
// checkTimeout.
func (tb *tab) wait(t *testing.T, what, cond string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, checkTimeout)
	defer cancel()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			shown, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
			tb.screenshot(t, "failed")
			t.Fatalf("%s's tab: %s: not within %v (%v)\ncond: %s\ngot on screen:\n%s", tb.user, what, checkTimeout, err, cond, shown)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// click clicks the element sel once it is there.
func (tb *tab) click(t *testing.T, sel string) {
	t.Helper()
	tb.wait(t, "something to click: "+sel, has(sel)+" && !document.querySelector("+jsString(sel)+").disabled")
	ctx, cancel := context.WithTimeout(tb.ctx, checkTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`).click(), true`)); err != nil {
		t.Fatalf("%s's tab: click %s: %v", tb.user, sel, err)
	}
}

// call ticks users in the online list and calls them, ringing for timeout
// seconds, and waits for the outgoing call's card.
func (tb *tab) call(t *testing.T, timeout int, users ...string) {
	t.Helper()
	for _, u := range users {
		tb.click(t, `#online input[value=`+jsString(u)+`]`)
	}
	set := fmt.Sprintf(`(() => { const s = document.getElementById("timeout"); s.add(new Option("%d", "%d")); s.value = "%d"; return true })()`, timeout, timeout, timeout)
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](set)); err != nil {
		t.Fatal(err)
	}
	tb.click(t, "#call")
	tb.wait(t, "the outgoing call", has(outCard("calling")))
}

// screenshot saves the tab's page as name.png in the browser's directory.
func (tb *tab) screenshot(t *testing.T, name string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, checkTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("%s's tab: screenshot: %v", tb.user, err)
		return nil
	}
	path := filepath.Join(tb.b.shots, fmt.Sprintf("%s-%s-%s.png", filepath.Base(t.Name()), tb.user, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Log(err)
	}
	t.Logf("%s's tab: %s", tb.user, path)
	return png
}

// checkLog checks that the newest entry of the call log has outcome
// (REC-1) and names peer.
func checkLog(t *testing.T, tb *tab, outcome, peer string) {
	t.Helper()
	tb.wait(t, "the call log's newest entry", hasText(`#records li:first-child[data-outcome=`+jsString(outcome)+`] .peer`, peer))
}

func inCard(state string) string  { return `#calls .call[data-dir="in"][data-state="` + state + `"]` }
func outCard(state string) string { return `#calls .call[data-dir="out"][data-state="` + state + `"]` }

func jsString(s string) string { return fmt.Sprintf("%q", s) }

func has(sel string) string { return `(document.querySelector(` + jsString(sel) + `) !== null)` }

func hasText(sel, text string) string {
	return `(document.querySelector(` + jsString(sel) + `)?.textContent ?? "").includes(` + jsString(text) + `)`
}

func hasTextMatch(sel, re string) string {
	return `new RegExp(` + jsString(re) + `).test(document.querySelector(` + jsString(sel) + `)?.textContent ?? "")`
}
