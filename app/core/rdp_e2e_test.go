package core_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/platform/rdp"
)

// Colours of the office PC's screen: the top-left quarter and the rest.
var (
	officeTopLeft = color.RGBA{224, 160, 0, 255}
	officeRest    = color.RGBA{32, 96, 192, 255}
)

// TestE2ERDPThroughTunnel runs the whole RDP path with real parts: a
// broker on loopback; freerdp-shadow-cli on its own Xvfb display as the
// office PC; the app's tunnel listener; the real xfreerdp, started by
// platform/rdp on a second Xvfb display, connecting through the tunnel.
// Evidence (both programs' logs, the client's screenshot, a summary) goes
// to $ARTIFACTS_DIR/rdp-e2e/.
func TestE2ERDPThroughTunnel(t *testing.T) {
	needRDPTools(t)
	art, note := evidence(t, "rdp-e2e")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	rdpPort, shadowLog := startOfficePC(t, ctx, art)

	// The broker, IT pairing the PC, and the member of staff's slot.
	b := brokertest.Start(t, brokertest.WithRealClock())
	it := b.Signin(t, "e2e-it", api.RoleAdmin)
	user := b.Signin(t, "e2e-yamada")
	term, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{Name: "総務課 PC-07", Address: "127.0.0.1", RDPPort: rdpPort,
		MAC: "00:1a:2b:3c:4d:5e", WakeAddr: "127.0.0.1", WakePort: 9, UserID: "e2e-yamada"})
	if err != nil {
		t.Fatal(err)
	}
	slot, err := user.RequestSlot(ctx, api.SlotRequest{Device: "e2e laptop"})
	if err != nil {
		t.Fatal(err)
	}
	if slot.State != api.SlotGranted {
		t.Fatalf("slot %s is %s, want granted", slot.ID, slot.State)
	}
	note("slot %s granted for %s on office PC %s (127.0.0.1:%d)", slot.ID, user.User.ID, term.ID, rdpPort)
	// The app keeps its lease with heartbeats while connected.
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	defer stopHeartbeat()
	go func() {
		every := time.Duration(max(slot.HeartbeatSeconds, 1)) * time.Second
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-time.After(every):
			}
			if _, err := user.Heartbeat(hbCtx, slot.ID, api.HeartbeatRequest{Active: true}); err != nil && hbCtx.Err() == nil {
				t.Errorf("heartbeat: %v", err)
				return
			}
		}
	}()

	// The app's side: tunnel listener and the real RDP client.
	tun, err := core.OpenTunnel(ctx, user.Client, slot.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	laptop := startXvfb(t, "1024x768x24")
	clientLog := newLogFile(t, filepath.Join(art, "xfreerdp.log"))
	spec := rdp.Spec{Host: "127.0.0.1", Port: tun.Port(), User: user.User.ID, Width: 1024, Height: 768, Title: term.Name}
	note("xfreerdp %s", strings.Join(rdp.XFreeRDPArgs(spec), " "))
	lctx, stopClient := context.WithCancel(ctx)
	defer stopClient()
	type result struct {
		code int
		err  error
	}
	exited := make(chan result, 1)
	go func() {
		code, err := rdp.LaunchWith(lctx, spec, rdp.Options{Output: clientLog, Extra: []string{"/log-level:DEBUG"},
			Env: []string{"DISPLAY=" + laptop}})
		exited <- result{code, err}
	}()

	// Established: each side says so in its own log.
	const clientActive = "CONNECTION_STATE_FINALIZATION --> CONNECTION_STATE_ACTIVE"
	const serverActive = "is activated (1024x768"
	waitUntil(t, ctx, "both logs to show an active RDP session", func() bool {
		select {
		case r := <-exited:
			t.Fatalf("xfreerdp exited early (code %d, %v); see %s", r.code, r.err, clientLog.Name())
		default:
		}
		return clientLog.contains(clientActive) && shadowLog.contains(serverActive)
	})
	note("client log: %s", clientLog.line(clientActive))
	// The LGWAN profile: the clipboard channel is never loaded.
	if l := clientLog.line("loading channelEx cliprdr"); l != "" || !clientLog.contains("loading channelEx") {
		t.Fatalf("clipboard channel state unexpected (want channels logged, cliprdr absent): %q", l)
	}
	note("server log: %s", shadowLog.line(serverActive))

	// What the user sees: the office PC's picture inside xfreerdp.
	shot := filepath.Join(art, "xfreerdp-screen.png")
	var img image.Image
	waitUntil(t, ctx, "xfreerdp to show the office screen", func() bool {
		img, err = screenshot(laptop, shot)
		return err == nil && near(img.At(256, 192), officeTopLeft) && near(img.At(768, 576), officeRest)
	})
	note("screenshot %s: (256,192)=%v (768,576)=%v", shot, img.At(256, 192), img.At(768, 576))
	if live := b.Services.Relay.Live(); live[slot.ID] < 1 {
		t.Fatalf("relay shows no tunnel for the slot: %v", live)
	}

	// The user closes the client; the app releases the slot.
	stopClient()
	r := <-exited
	note("xfreerdp ended: exit code %d, err %v", r.code, r.err)
	waitUntil(t, ctx, "the tunnel connection to end", func() bool {
		return tun.Ended() >= 1 && len(b.Services.Relay.Live()) == 0
	})
	appUp, appDown := tun.Bytes()
	sessions, err := it.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var counted *api.Slot
	for i := range sessions.Sessions {
		if sessions.Sessions[i].ID == slot.ID {
			counted = &sessions.Sessions[i]
		}
	}
	if counted == nil {
		t.Fatalf("slot %s not among live sessions: %+v", slot.ID, sessions)
	}
	note("bytes: app up %d down %d; broker counted up %d down %d", appUp, appDown, counted.BytesUp, counted.BytesDown)
	if counted.BytesUp < 1000 || counted.BytesDown < 10000 || appDown < 10000 {
		t.Fatalf("too few bytes counted for an RDP session: broker up %d down %d, app down %d", counted.BytesUp, counted.BytesDown, appDown)
	}
	if counted.BytesDown < appDown {
		t.Fatalf("broker counted %d bytes down, but the app received %d through it", counted.BytesDown, appDown)
	}
	stopHeartbeat()
	if err := user.ReleaseSlot(ctx, slot.ID); err != nil {
		t.Fatal(err)
	}
	st, err := user.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Slot != nil && st.Slot.State != api.SlotEnded {
		t.Fatalf("after release the user still holds slot %+v", st.Slot)
	}
	after, err := it.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range after.Sessions {
		if s.ID == slot.ID {
			t.Fatalf("slot %s still live after release", slot.ID)
		}
	}
	note("slot released: %d sessions in use", after.Used)
	// The listener is still there, but the broker refuses the ended slot.
	before := tun.Ended()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(tun.Port())))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitUntil(t, ctx, "the refused tunnel to be reported", func() bool { return tun.Ended() > before })
	if e := api.AsError(tun.LastError()); e == nil || e.Status/100 != 4 {
		t.Fatalf("tunnel after release: %v, want a refusal", tun.LastError())
	}
	note("tunnel after release refused: %v", tun.LastError())
}

func needRDPTools(t *testing.T) {
	t.Helper()
	for bin, pkg := range map[string]string{"Xvfb": "xvfb", "freerdp-shadow-cli": "freerdp2-shadow-x11",
		"xfreerdp": "freerdp2-x11", "import": "imagemagick", "display": "imagemagick", "stdbuf": "coreutils"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install the Debian package %s", bin, pkg)
		}
	}
}

// evidence makes the test's artifacts folder and a note function whose
// lines go to the test log and to summary.txt there (written at cleanup).
func evidence(t *testing.T, name string) (string, func(format string, args ...any)) {
	t.Helper()
	art := artifacts(t, name)
	var mu sync.Mutex // guards summary: notes may come from the flow's goroutines
	var summary bytes.Buffer
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		_ = os.WriteFile(filepath.Join(art, "summary.txt"), summary.Bytes(), 0o644)
	})
	return art, func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(&summary, format+"\n", args...)
		mu.Unlock()
		t.Logf(format, args...)
	}
}

func artifacts(t *testing.T, name string) string {
	t.Helper()
	art := filepath.Join(brokertest.ArtifactsDir(t), name)
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	return art
}

// startOfficePC starts the office PC stand-in: a display showing a known
// picture, shared by the FreeRDP shadow server. It returns the RDP port
// and the server's log.
func startOfficePC(t *testing.T, ctx context.Context, art string) (int, *logFile) {
	t.Helper()
	office := startXvfb(t, "1024x768x24")
	pattern := filepath.Join(t.TempDir(), "office.png")
	writePattern(t, pattern, 1024, 768)
	startProc(t, nil, []string{"DISPLAY=" + office}, "display", "-geometry", "+0+0", pattern)
	waitUntil(t, ctx, "the office display to show the picture", func() bool {
		img, err := screenshot(office, filepath.Join(t.TempDir(), "office.png"))
		return err == nil && near(img.At(100, 100), officeTopLeft) && near(img.At(900, 700), officeRest)
	})
	rdpPort := freePort(t)
	shadowLog := newLogFile(t, filepath.Join(art, "shadow-server.log"))
	// stdbuf: the server's log goes through C stdio, which would hold it
	// back in a buffer while it goes to a pipe.
	startProc(t, shadowLog, []string{"DISPLAY=" + office, "WLOG_LEVEL=INFO"},
		"stdbuf", "-oL", "-eL", "freerdp-shadow-cli", "/port:"+strconv.Itoa(rdpPort), "/bind-address:127.0.0.1", "-auth")
	waitUntil(t, ctx, "the shadow server to listen", func() bool {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(rdpPort)), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	return rdpPort, shadowLog
}

// startXvfb starts a private X display and returns its name (":N").
func startXvfb(t *testing.T, screen string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatalf("Xvfb (package xvfb): %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		r.Close()
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not report a display")
		}
		return ":" + n
	case <-time.After(30 * time.Second):
		t.Fatal("Xvfb did not start within 30s")
		return ""
	}
}

// startProc runs a helper program until the test ends.
func startProc(t *testing.T, out *logFile, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitUntil polls cond; the limit is ctx's, a guard against a hung test.
func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		if cond() {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func writePattern(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := officeRest
			if x < w/2 && y < h/2 {
				c = officeTopLeft
			}
			img.SetRGBA(x, y, c)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// screenshot saves display's root window as PNG at path and decodes it.
func screenshot(display, path string) (image.Image, error) {
	cmd := exec.Command("import", "-window", "root", path)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("import: %v: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return png.Decode(f)
}

// near compares colours with room for the codec's rounding.
func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, b uint8) int {
		v := int(a>>8) - int(b)
		if v < 0 {
			v = -v
		}
		return v
	}
	return d(r, want.R) <= 12 && d(g, want.G) <= 12 && d(b, want.B) <= 12
}

// logFile is a program's log kept as evidence and searched while it runs.
type logFile struct {
	mu  sync.Mutex // guards f, buf
	f   *os.File
	buf bytes.Buffer
}

func newLogFile(t *testing.T, path string) *logFile {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &logFile{f: f}
}

func (l *logFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	return l.f.Write(p)
}

func (l *logFile) Name() string { return l.f.Name() }

func (l *logFile) contains(s string) bool { return l.line(s) != "" }

func (l *logFile) line(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ln := range strings.Split(l.buf.String(), "\n") {
		if strings.Contains(ln, s) {
			return strings.TrimSpace(ln)
		}
	}
	return ""
}

// xfreerdpLauncher runs platform/rdp for core, as the app's main does,
// on a given display and with the client's log kept.
type xfreerdpLauncher struct {
	display string
	log     *logFile
}

func (l xfreerdpLauncher) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	return rdp.LaunchWith(ctx, rdp.Spec{Host: t.Host, Port: t.Port, User: t.User, Width: 1024, Height: 768,
		Policy: rdp.Policy(t.Policy)},
		rdp.Options{Output: l.log, Extra: []string{"/log-level:DEBUG"}, Env: []string{"DISPLAY=" + l.display}})
}

// TestE2ERDPAppFlowEndedByIT runs the app's own connect flow (core:
// slot, wake check, tunnel, xfreerdp) against the office PC stand-in,
// then IT ends the session: the broker closes the tunnel, the app stops
// the RDP client and returns to Ready with the reason. Evidence goes to
// $ARTIFACTS_DIR/rdp-e2e-flow/.
func TestE2ERDPAppFlowEndedByIT(t *testing.T) {
	needRDPTools(t)
	art, note := evidence(t, "rdp-e2e-flow")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	rdpPort, shadowLog := startOfficePC(t, ctx, art)
	b := brokertest.Start(t, brokertest.WithRealClock())
	it := b.Signin(t, "flow-it", api.RoleAdmin)
	u := b.CreateUser(t, "flow-sato")
	if _, err := it.CreateTerminal(ctx, api.CreateTerminalRequest{Name: "税務課 PC-12", Address: "127.0.0.1", RDPPort: rdpPort,
		UserID: u.ID}); err != nil {
		t.Fatal(err)
	}

	laptop := startXvfb(t, "1024x768x24")
	clientLog := newLogFile(t, filepath.Join(art, "xfreerdp.log"))
	// A laptop set up before key pins: its certificate fingerprint still
	// works, and the first contact hands the key pin over for keeping.
	learned := make(chan string, 4)
	app, err := core.New(core.Config{BrokerURL: b.URL, Fingerprint: b.Fingerprint, DeviceName: "e2e laptop", DataDir: t.TempDir()},
		core.Deps{Launcher: xfreerdpLauncher{display: laptop, log: clientLog}, PinLearned: func(pin string) { learned <- pin }})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if _, err := app.Login(ctx, u.ID, u.Password, b.Code(t, u), false); err != nil {
		t.Fatal(err)
	}
	var phases []string
	var mu sync.Mutex // guards phases
	unsub := app.Subscribe(func(s core.State) {
		mu.Lock()
		defer mu.Unlock()
		if p := fmt.Sprint(s.Phase); len(phases) == 0 || phases[len(phases)-1] != p {
			phases = append(phases, p)
		}
	})
	defer unsub()
	app.Connect()
	waitUntil(t, ctx, "the app to be connected", func() bool {
		st := app.State()
		if st.Phase == core.Failed {
			t.Fatalf("connect failed: %v", st.Err)
		}
		return st.Phase == core.Connected
	})
	const clientActive = "CONNECTION_STATE_FINALIZATION --> CONNECTION_STATE_ACTIVE"
	waitUntil(t, ctx, "both logs to show an active RDP session", func() bool {
		return clientLog.contains(clientActive) && shadowLog.contains("is activated (1024x768")
	})
	shot := filepath.Join(art, "xfreerdp-screen.png")
	waitUntil(t, ctx, "xfreerdp to show the office screen", func() bool {
		img, err := screenshot(laptop, shot)
		return err == nil && near(img.At(256, 192), officeTopLeft) && near(img.At(768, 576), officeRest)
	})
	note("connected; client: %s", clientLog.line(clientActive))

	// IT ends the session.
	list, err := it.Sessions(ctx)
	if err != nil || len(list.Sessions) != 1 {
		t.Fatalf("sessions: %+v, %v", list, err)
	}
	slotID := list.Sessions[0].ID
	if err := it.EndSession(ctx, slotID, "maintenance"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the app to be back at Ready", func() bool { return app.State().Phase == core.Ready })
	st := app.State()
	if st.EndReason != api.EndAdmin {
		t.Fatalf("end reason %q, want %q", st.EndReason, api.EndAdmin)
	}
	waitUntil(t, ctx, "the relay to drop the tunnel", func() bool { return len(b.Services.Relay.Live()) == 0 })
	if l := clientLog.line("CONNECTION_STATE_ACTIVE --> "); l == "" && !clientLog.contains("Caught signal") {
		t.Fatalf("xfreerdp's log shows neither the session ending nor the client being stopped")
	}
	after, err := it.Sessions(ctx)
	if err != nil || len(after.Sessions) != 0 {
		t.Fatalf("sessions after IT ended it: %+v, %v", after, err)
	}
	// The broker's own record of the tunnel, as IT finds it in the
	// operation log.
	var closed api.OplogRecord
	waitUntil(t, ctx, "the tunnel's audit record", func() bool {
		page, err := it.SearchOplogs(ctx, api.OplogQuery{Type: "relay.tunnel_closed", User: u.ID})
		if err != nil || len(page.Events) == 0 {
			return false
		}
		closed = page.Events[0]
		return true
	})
	if closed.Target != slotID || closed.Fields["bytes_down"] == "" || closed.Fields["bytes_down"] == "0" {
		t.Fatalf("audit record of the tunnel: %+v", closed)
	}
	note("audit: %s slot %s %v", closed.Type, closed.Target, closed.Fields)
	page, err := it.SearchOplogs(ctx, api.OplogQuery{Type: "relay.tunnel_opened", User: u.ID})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("tunnel-opened record: %+v %v", page, err)
	}
	if f := page.Events[0].Fields; f["binding"] != "tls-exporter" || !strings.HasPrefix(f["protocol"], "TLS 1.3 ") {
		t.Fatalf("the tunnel ran unbound or not on TLS 1.3: %v", f)
	}
	note("audit: %s %v", page.Events[0].Type, page.Events[0].Fields)
	select {
	case pin := <-learned:
		if pin != b.Pin {
			t.Fatalf("learned pin %s, the broker's is %s", pin, b.Pin)
		}
		note("key pin learned from the certificate fingerprint: %s", pin)
	default:
		t.Fatal("the certificate fingerprint was not turned into a key pin")
	}
	mu.Lock()
	note("phases: %s", strings.Join(phases, " → "))
	mu.Unlock()
	note("ended by IT: reason %s; relay tunnels left: %d", st.EndReason, len(b.Services.Relay.Live()))
}
