package ui_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// snWatcher is a StatusNotifierWatcher, the part of a desktop's tray host
// (KDE, GNOME's AppIndicator extension, waybar...) that items register
// with: Xvfb has no tray, so the test is the host.
type snWatcher struct {
	mu    sync.Mutex
	items []string // "bus-name/path" as registered
}

func (w *snWatcher) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if strings.HasPrefix(service, "/") {
		service = string(sender) + service
	}
	w.items = append(w.items, service)
	return nil
}

func (w *snWatcher) RegisterStatusNotifierHost(string) *dbus.Error { return nil }

func (w *snWatcher) registered() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.items)
}

// trayItem reads a registered item the way a tray host does.
type trayItem struct {
	conn       *dbus.Conn
	dest, path string
}

type menuEntry struct {
	id      int32
	label   string
	enabled bool
}

// menu reads the item's dbusmenu layout (com.canonical.dbusmenu).
func (it trayItem) menu(t *testing.T) []menuEntry {
	t.Helper()
	var mpath dbus.ObjectPath
	v, err := it.conn.Object(it.dest, dbus.ObjectPath(it.path)).GetProperty("org.kde.StatusNotifierItem.Menu")
	if err != nil {
		t.Fatalf("tray item Menu property: %v", err)
	}
	if err := v.Store(&mpath); err != nil {
		t.Fatal(err)
	}
	var rev uint32
	var layout []any
	call := it.conn.Object(it.dest, mpath).Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{})
	if err := call.Store(&rev, &layout); err != nil {
		t.Fatalf("GetLayout: %v", err)
	}
	var out []menuEntry
	var walk func(node []any)
	walk = func(node []any) {
		if len(node) != 3 {
			return
		}
		id, _ := node[0].(int32)
		props, _ := node[1].(map[string]dbus.Variant)
		if label, ok := props["label"]; ok && id != 0 {
			e := menuEntry{id: id, enabled: true}
			_ = label.Store(&e.label)
			if en, ok := props["enabled"]; ok {
				_ = en.Store(&e.enabled)
			}
			out = append(out, e)
		}
		children, _ := node[2].([]dbus.Variant)
		for _, c := range children {
			if n, ok := c.Value().([]any); ok {
				walk(n)
			}
		}
	}
	walk(layout)
	return out
}

// icon returns a digest of the item's icon pixmaps (what the host draws)
// and keeps the largest as $ARTIFACTS_DIR/tray-<name>.png to look at.
func (it trayItem) icon(t *testing.T, name string) string {
	t.Helper()
	v, err := it.conn.Object(it.dest, dbus.ObjectPath(it.path)).GetProperty("org.kde.StatusNotifierItem.IconPixmap")
	if err != nil {
		t.Fatalf("tray item IconPixmap: %v", err)
	}
	var pixmaps []struct {
		W, H int32
		Data []byte
	}
	if err := v.Store(&pixmaps); err != nil {
		t.Fatalf("IconPixmap: %v", err)
	}
	if len(pixmaps) == 0 || pixmaps[0].W < 16 || len(pixmaps[0].Data) != int(pixmaps[0].W*pixmaps[0].H*4) {
		t.Fatalf("IconPixmap is not an icon: %d pixmaps", len(pixmaps))
	}
	// ARGB32 in network byte order, as the StatusNotifierItem spec says.
	p := pixmaps[0]
	img := image.NewNRGBA(image.Rect(0, 0, int(p.W), int(p.H)))
	for i := 0; i+3 < len(p.Data); i += 4 {
		copy(img.Pix[i:i+4], []byte{p.Data[i+1], p.Data[i+2], p.Data[i+3], p.Data[i]})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(brokertest.ArtifactsDir(t), "tray-"+name+".png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, p := range pixmaps {
		fmt.Fprintf(h, "%dx%d", p.W, p.H)
		h.Write(p.Data)
	}
	return fmt.Sprintf("%dx%d:%x", pixmaps[0].W, pixmaps[0].H, h.Sum(nil)[:6])
}

// settledIcon is the icon once the app has finished switching it: the app
// sets the menu and then the icon, and a panel may read in between, so the
// digest counts once three reads in a row agree.
func (it trayItem) settledIcon(t *testing.T, name string) string {
	t.Helper()
	last, same := "", 0
	for deadline := time.Now().Add(10 * time.Second); same < 3; {
		got := it.icon(t, name)
		if got == last {
			same++
		} else {
			last, same = got, 1
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s tray icon never settled (last %s)", name, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

// click sends the host's "clicked" event for the entry labelled label.
func (it trayItem) click(t *testing.T, label string) {
	t.Helper()
	for _, e := range it.menu(t) {
		if e.label == label {
			v, err := it.conn.Object(it.dest, dbus.ObjectPath(it.path)).GetProperty("org.kde.StatusNotifierItem.Menu")
			if err != nil {
				t.Fatal(err)
			}
			mpath := v.Value().(dbus.ObjectPath)
			call := it.conn.Object(it.dest, mpath).Call("com.canonical.dbusmenu.Event", 0,
				e.id, "clicked", dbus.MakeVariant(int32(0)), uint32(time.Now().Unix()))
			if call.Err != nil {
				t.Fatalf("click %q: %v", label, call.Err)
			}
			return
		}
	}
	t.Fatalf("no tray entry %q", label)
}

// lostClick is what the systray library logs when a click names an entry
// of a menu the app has since rebuilt (every rebuild renumbers entries).
const lostClick = "no menu item with ID"

// clickUntil clicks the entry labelled label until the app logs want after
// the click. A click that raced a menu rebuild is lost, as it would be for a
// host that had not yet fetched the new layout; the host then clicks again
// on what it shows, and so does the test, only for that reason.
func (it trayItem) clickUntil(t *testing.T, app *appProc, label, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for try := 1; ; try++ {
		from := len(app.logs.String())
		it.click(t, label)
		for {
			after := app.logs.String()[from:]
			if strings.Contains(after, want) {
				return
			}
			if strings.Contains(after, lostClick) && try < 5 {
				t.Logf("click %q raced a menu rebuild; clicking again", label)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after clicking %q the app did not log %q within %v; log:\n%s", label, want, timeout, app.logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		it.waitMenu(t, label, true)
	}
}

// waitMenu waits until the menu has an entry with label (and its state).
func (it trayItem) waitMenu(t *testing.T, label string, enabled bool) []menuEntry {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := it.menu(t)
		for _, e := range m {
			if e.label == label && e.enabled == enabled {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tray menu never had %q (enabled %t): %+v", label, enabled, m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestE2ETrayOnAStatusNotifierHost runs the real app with a real tray
// protocol: the test plays the desktop's StatusNotifier host on the app's
// session bus, reads the icon and menu as a panel would, and connects by
// clicking the tray menu. The tray must say the state at every step.
func TestE2ETrayOnAStatusNotifierHost(t *testing.T) {
	needDisplayTools(t)
	bin := buildApp(t)
	b := demoBroker(t)
	kr := keyringtest.Start(t)
	conn, err := dbus.Connect(kr.BusAddress)
	if err != nil {
		t.Fatalf("session bus: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &snWatcher{}
	if err := conn.Export(w, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.kde.StatusNotifierWatcher", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own the watcher name: %v %v", reply, err)
	}

	display := uitest.StartXvfb(t, 1024, 800)
	home := t.TempDir()
	app := startApp(t, bin, appEnv(kr, display, home), display, "-broker", b.URL, "-pin", b.Pin,
		"-lang", "ja", "-device", "e2e-tray", "-data", filepath.Join(home, "data"))
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	var it trayItem
	for deadline := time.Now().Add(20 * time.Second); ; {
		if r := w.registered(); len(r) > 0 {
			dest, path, _ := strings.Cut(r[0], "/")
			it = trayItem{conn: conn, dest: dest, path: "/" + path}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the app never registered a tray item with the StatusNotifierWatcher")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Signed out: open and quit only, and the signed-out icon.
	m := it.waitMenu(t, "終了", true)
	for _, e := range m {
		if e.label == "職場のパソコンに接続" {
			t.Errorf("connect offered while signed out: %+v", m)
		}
	}
	signedOut := it.settledIcon(t, "signed-out")

	signIn(t, display, app, "yamada", nil)
	// Ready means online too: offline, the tray shows the offline icon.
	app.waitLog(t, "phase=ready online=true", 20*time.Second)
	it.waitMenu(t, "職場のパソコンに接続", true)
	ready := it.settledIcon(t, "ready")
	if ready == signedOut {
		t.Errorf("the tray icon did not change when signed in (%s)", ready)
	}

	// Connect from the tray, as staff do with the window behind the RDP one.
	it.clickUntil(t, app, "職場のパソコンに接続", "phase=connected", 60*time.Second)
	m = it.waitMenu(t, "切断する", true)
	connected := it.settledIcon(t, "connected")
	if connected == ready || connected == signedOut {
		t.Errorf("the tray icon did not change when connected: %s", connected)
	}
	var status string
	for _, e := range m {
		if !e.enabled && strings.Contains(e.label, "接続中") {
			status = e.label
		}
	}
	if status == "" {
		t.Errorf("no status line saying connected in %+v", m)
	}
	t.Logf("tray: signed out %s, ready %s, connected %s; status line %q", signedOut, ready, connected, status)

	it.clickUntil(t, app, "切断する", "phase=ready", 30*time.Second)
	it.waitMenu(t, "職場のパソコンに接続", true)
	if got := it.settledIcon(t, "ready-again"); got != ready {
		t.Errorf("after disconnecting from the tray the icon is %s, want ready %s", got, ready)
	}
}
