// Package uitest runs the real app window for end-to-end tests and
// benchmarks: a private Xvfb display, waiting for a process's window,
// typing into it and taking screenshots with ImageMagick.
package uitest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Need fails the test with the Debian package to install when a binary is
// missing (DESIGN.md: never skip).
func Need(t testing.TB, bins map[string]string) {
	t.Helper()
	for bin, pkg := range bins {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install the Debian package %q (make deps)", bin, pkg)
		}
	}
}

// StartXvfb starts a private X server on a free display (-displayfd) and
// returns its DISPLAY value (":N"). It stops when the test ends.
func StartXvfb(t testing.TB, w, h int) string {
	t.Helper()
	Need(t, map[string]string{"Xvfb": "xvfb"})
	r, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{wr}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start Xvfb: %v", err)
	}
	wr.Close()
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	select {
	case n := <-line:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb printed display %q", n)
		}
		return ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not report a display in 20s")
	}
	return ""
}

// X runs an X client (xdotool, import, ...) on display and returns its
// trimmed output.
func X(display, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// WaitWindow waits until process pid has a visible window and returns its
// X window ID.
func WaitWindow(t testing.TB, display string, pid int, timeout time.Duration) string {
	t.Helper()
	Need(t, map[string]string{"xdotool": "xdotool"})
	deadline := time.Now().Add(timeout)
	for {
		out, err := X(display, "xdotool", "search", "--onlyvisible", "--pid", strconv.Itoa(pid))
		if err == nil && out != "" {
			return strings.Fields(out)[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window from pid %d on %s within %v", pid, display, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Screenshot saves the window (or "root") as a PNG.
func Screenshot(t testing.TB, display, window, path string) {
	t.Helper()
	Need(t, map[string]string{"import": "imagemagick"})
	if _, err := X(display, "import", "-window", window, path); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
}

// Type types text into the focused widget of window, then presses the keys
// (e.g. "Tab", "Return").
func Type(t testing.TB, display, window, text string, keys ...string) {
	t.Helper()
	if text != "" {
		if _, err := X(display, "xdotool", "type", "--delay", "20", "--window", window, text); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys {
		if _, err := X(display, "xdotool", "key", "--window", window, k); err != nil {
			t.Fatal(err)
		}
	}
}

// Click clicks at x,y relative to the window.
func Click(t testing.TB, display, window string, x, y int) {
	t.Helper()
	if _, err := X(display, "xdotool", "mousemove", "--window", window, strconv.Itoa(x), strconv.Itoa(y), "click", "1"); err != nil {
		t.Fatal(err)
	}
}

// Focus gives window the X input focus (there is no window manager to do it
// on click).
func Focus(t testing.TB, display, window string) {
	t.Helper()
	if _, err := X(display, "xdotool", "windowfocus", window); err != nil {
		t.Fatal(err)
	}
}
