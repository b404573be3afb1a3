// Package headless starts Debian's Chromium for the tests of the pages
// the broker serves (meeting, office, console), with the flags they all
// need, so that a flag learnt in one (a throttled background page, a
// certificate the broker signed itself) holds in every one.
package headless

import (
	"context"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Path finds Debian's chromium; a missing browser fails the test with
// the package to install.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: install the Debian package chromium (make deps)")
	return ""
}

// Start starts a headless Chromium with its profile in dataDir ("" for a
// new temporary one) and returns its first tab; it is closed when the test
// ends. extra options come after the common ones, so that a test's own
// window size or language wins. Root needs no-sandbox; the broker's test
// certificate is self-signed, so certificate errors are ignored (a test
// that must check a certificate passes its own flags); every page here is
// a background one, so none may be throttled.
func Start(t testing.TB, name, dataDir string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Path(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dataDir),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("lang", "ja-JP"),
		chromedp.WindowSize(1280, 900),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: start chromium: %v", name, err)
	}
	return ctx
}
