package ui_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EAppScreenshots runs the real app binary under its own Xvfb against
// a real broker (demo data) and a real gnome-keyring, in Japanese and in
// English. It signs in through the window the way staff do (staff ID,
// password, then the one-time code the broker asks for), checks that "keep
// me signed in" put the refresh token and device key in the OS keyring,
// restarts the app (which must sign in from the keyring alone) and connects.
// Screenshots of each step go to $ARTIFACTS_DIR/app-<step>-<lang>.png.
func TestE2EAppScreenshots(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	bin := buildApp(t)
	b := demoBroker(t)

	for i, lang := range []string{"ja", "en"} {
		user := []string{"yamada", "sato"}[i] // one-time codes are single-use per account
		t.Run(lang, func(t *testing.T) {
			kr := keyringtest.Start(t)
			display := uitest.StartXvfb(t, 1024, 800)
			home := t.TempDir()
			env := appEnv(kr, display, home)
			run := func(extra ...string) *appProc {
				args := append([]string{"-broker", b.URL, "-pin", b.Pin, "-lang", lang,
					"-device", "e2e-" + lang, "-data", filepath.Join(home, "data")}, extra...)
				return startApp(t, bin, env, display, args...)
			}
			shot := func(p *appProc, name string) {
				path := filepath.Join(art, fmt.Sprintf("app-%s-%s.png", name, lang))
				uitest.Screenshot(t, display, p.win, path)
				t.Logf("screenshot %s", path)
			}

			app := run()
			app.waitLog(t, "phase=signed_out", 20*time.Second)
			time.Sleep(time.Second) // the saved-sign-in check ends; fonts settle
			shot(app, "login")

			signIn(t, display, app, user, func() { shot(app, "otp") })
			app.waitLog(t, "phase=ready", 20*time.Second)
			time.Sleep(time.Second)
			shot(app, "home")
			// Settings and Help, through the buttons at the top right.
			w := windowWidth(t, display, app.win)
			uitest.Click(t, display, app.win, w-130, 27)
			time.Sleep(700 * time.Millisecond)
			shot(app, "settings")
			uitest.Click(t, display, app.win, 45, 35) // Back
			time.Sleep(700 * time.Millisecond)
			uitest.Click(t, display, app.win, w-45, 27)
			time.Sleep(700 * time.Millisecond)
			shot(app, "about")
			uitest.Click(t, display, app.win, 45, 35)
			for _, key := range []string{"refresh-token", "device-key"} {
				if ok, err := kr.Has("zaitaku", key); err != nil || !ok {
					t.Errorf("keyring entry %q after sign-in with \"keep me signed in\": %v, %v", key, ok, err)
				}
			}
			app.stop(t)

			// A restart signs in from the keyring alone, then connects (-connect).
			app = run("-connect")
			app.waitLog(t, "phase=ready", 20*time.Second)
			app.waitLog(t, "phase=connected", 60*time.Second)
			time.Sleep(3 * time.Second) // let the elapsed time tick
			shot(app, "connected")
		})
	}

	// The demo office PC as a newcomer meets it: before Connect the home
	// screen says it is awake (the broker's probe found its RDP port);
	// Connect opens the real xfreerdp full screen on the demo desktop,
	// which names the PC; closing that window is a normal end, not an
	// error.
	t.Run("demo-pc", func(t *testing.T) {
		uitest.Need(t, map[string]string{"freerdp-shadow-cli": "freerdp2-shadow-x11", "xfreerdp": "freerdp2-x11"})
		ctx := context.Background()
		port := demoOfficePC(t, "福祉課-01")
		if _, err := b.Services.Terminals.Update(ctx, "e2e", "fukushi-01", api.UpdateTerminalRequest{RDPPort: &port}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if pc, err := b.Services.Terminals.Get(ctx, "fukushi-01"); err == nil && pc.State == api.TerminalAwake {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the broker's probe did not find the demo office PC awake")
			}
			time.Sleep(100 * time.Millisecond)
		}
		kr := keyringtest.Start(t)
		display := uitest.StartXvfb(t, 1024, 800)
		home := t.TempDir()
		env := appEnv(kr, display, home)
		for i, e := range env {
			if e == "ZAITAKU_RDP_STUB=1" {
				env[i] = "ZAITAKU_RDP_STUB=0" // the real RDP client this time
			}
		}
		run := func(extra ...string) *appProc {
			return startApp(t, bin, env, display, append([]string{"-broker", b.URL, "-fingerprint", b.Fingerprint, "-lang", "ja",
				"-device", "e2e-demo-pc", "-data", filepath.Join(home, "data")}, extra...)...)
		}
		shot := func(window, name string) {
			path := filepath.Join(art, name)
			uitest.Screenshot(t, display, window, path)
			t.Logf("screenshot %s", path)
		}
		app := run()
		app.waitLog(t, "phase=signed_out", 20*time.Second)
		time.Sleep(time.Second)
		signIn(t, display, app, "suzuki", nil)
		app.waitLog(t, "phase=ready", 20*time.Second)
		time.Sleep(time.Second)
		shot(app.win, "home-pc-awake-ja.png")
		app.stop(t)

		app = run("-connect")
		app.waitLog(t, "phase=connected", 60*time.Second)
		rdpWin := waitXFreeRDPWindow(t, display)
		time.Sleep(3 * time.Second) // the first frames of the office desktop
		shot("root", "demo-office-pc-xfreerdp-ja.png")
		uitest.CloseWindow(t, display, rdpWin)
		app.waitLog(t, "phase=ready", 30*time.Second)
		time.Sleep(time.Second)
		shot(app.win, "session-ended-ja.png")
		if strings.Contains(app.logs.String(), "phase=failed") {
			t.Fatalf("closing the RDP window was reported as a failure; log:\n%s", app.logs.String())
		}
	})

	// First run on a laptop nobody set up: type the broker address, check
	// the self-signed certificate's fingerprint, confirm it, save; then sign
	// in through the pinned connection. Keyboard only, as in a kiosk setup.
	t.Run("firstrun", func(t *testing.T) {
		kr := keyringtest.Start(t)
		display := uitest.StartXvfb(t, 1024, 800)
		home := t.TempDir()
		app := startApp(t, bin, appEnv(kr, display, home), display, "-lang", "ja", "-data", filepath.Join(home, "data"))
		time.Sleep(1500 * time.Millisecond)
		uitest.Focus(t, display, app.win)                       // the address field has the app's focus
		uitest.Type(t, display, app.win, b.URL, "Tab", "space") // "check certificate"
		time.Sleep(1500 * time.Millisecond)
		path := filepath.Join(art, "app-firstrun-ja.png")
		uitest.Screenshot(t, display, app.win, path)
		t.Logf("screenshot %s", path)
		uitest.Type(t, display, app.win, "", "space") // focus moved to "matches": tick it
		uitest.Type(t, display, app.win, "", "Tab", "ctrl+a")
		uitest.Type(t, display, app.win, "e2e-firstrun", "Tab", "space") // device name, save
		app.waitLog(t, "phase=signed_out", 20*time.Second)
		time.Sleep(time.Second)
		signIn(t, display, app, "tanaka", nil)
		app.waitLog(t, "phase=ready", 20*time.Second)
	})

	// A new account: temporary password, then the forced password change and
	// the one-time-code setup (QR code), all in the window.
	t.Run("setup", func(t *testing.T) {
		ctx := context.Background()
		a := b.Services.Auth
		created, err := a.CreateUser(ctx, "e2e", api.CreateUserRequest{ID: "takahashi", Name: "高橋 陽子",
			Department: "市民課", Roles: []api.Role{api.RoleStaff}})
		if err != nil || created.TemporaryPassword == "" {
			t.Fatalf("create user: %v (%+v)", err, created)
		}
		kr := keyringtest.Start(t)
		display := uitest.StartXvfb(t, 1024, 800)
		home := t.TempDir()
		app := startApp(t, bin, appEnv(kr, display, home), display, "-broker", b.URL, "-pin", b.Pin,
			"-lang", "ja", "-device", "e2e-setup", "-data", filepath.Join(home, "data"))
		shot := func(name string) {
			path := filepath.Join(art, "app-"+name+"-ja.png")
			uitest.Screenshot(t, display, app.win, path)
			t.Logf("screenshot %s", path)
		}
		app.waitLog(t, "phase=signed_out", 20*time.Second)
		time.Sleep(time.Second)
		uitest.Focus(t, display, app.win)
		uitest.Type(t, display, app.win, "takahashi", "Tab")
		uitest.Type(t, display, app.win, created.TemporaryPassword, "Return")
		app.waitLog(t, "stage=change_password", 20*time.Second)
		time.Sleep(time.Second)
		shot("password")
		const newPw = "Sora-Mado-Kumo-2026"
		uitest.Type(t, display, app.win, newPw, "Tab")
		uitest.Type(t, display, app.win, newPw, "Return")
		app.waitLog(t, "stage=enroll_totp", 20*time.Second)
		time.Sleep(time.Second)
		shot("enroll")
		secret, err := a.UserTOTPSecret(ctx, "takahashi")
		if err != nil {
			t.Fatal(err)
		}
		code, err := auth.TOTPCode(secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		uitest.Type(t, display, app.win, code, "Return")
		app.waitLog(t, "phase=ready", 20*time.Second)
		time.Sleep(time.Second)
		shot("home-new-account")
	})
}

// signIn types staff ID and password into the login window, then the
// one-time code once the broker asks for it; atOTP runs at that step.
func signIn(t *testing.T, display string, app *appProc, user string, atOTP func()) {
	t.Helper()
	uitest.Focus(t, display, app.win) // the staff ID field has the app's focus already
	uitest.Type(t, display, app.win, user, "Tab")
	uitest.Type(t, display, app.win, daemon.DemoPassword, "Return")
	app.waitLog(t, "code=otp_required", 20*time.Second) // the code field appears, focused
	time.Sleep(300 * time.Millisecond)
	if atOTP != nil {
		atOTP()
	}
	code, err := auth.TOTPCode(daemon.DemoTOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	uitest.Type(t, display, app.win, code, "Return")
}

// officePC listens where the demo office PCs are (127.0.0.1) and answers
// like an RDP server once a client speaks, so the broker finds the PC awake
// and the app sees the session's bytes. It returns the port.
func officePC(t *testing.T) int {
	t.Helper()
	pc, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		for {
			c, err := pc.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 64)
				if _, err := c.Read(buf); err == nil {
					_, _ = c.Write([]byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 0x02, 0, 0x08, 0, 0x02, 0, 0, 0})
				}
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return pc.Addr().(*net.TCPAddr).Port
}

// appEnv is the environment of one app run: its own display, HOME and
// keyring, a light theme for readable screenshots, the RDP stub.
func appEnv(kr keyringtest.Env, display, home string) []string {
	env := append(os.Environ(), kr.Vars()...)
	return append(env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "FYNE_THEME=light", "FYNE_SCALE=1",
		"ZAITAKU_RDP_STUB=1", "LANG=ja_JP.UTF-8")
}

// demoBroker starts a broker with the demo data (real clock, for the
// one-time codes typed into the window), its office PCs answering on
// officePC.
func demoBroker(t *testing.T) *brokertest.Broker {
	t.Helper()
	t.Setenv(daemon.DemoRDPPortEnv, strconv.Itoa(officePC(t)))
	return brokertest.Start(t, brokertest.WithRealClock(), brokertest.WithSetup(func(d *daemon.Broker) {
		if err := daemon.SeedDemo(context.Background(), d.Services, nil); err != nil {
			t.Fatalf("seed demo: %v", err)
		}
	}))
}

// buildApp builds the app binary as `go run .` would.
func buildApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zaitaku")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = brokertest.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build app: %v\n%s", err, out)
	}
	return bin
}

func needDisplayTools(t *testing.T) {
	uitest.Need(t, map[string]string{"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick", "fc-list": "fontconfig"})
	if out, _ := exec.Command("fc-list", ":lang=ja").Output(); len(strings.TrimSpace(string(out))) == 0 {
		t.Fatal("no Japanese font: install the Debian package \"fonts-noto-cjk\" (make deps)")
	}
}

func windowWidth(t *testing.T, display, win string) int {
	t.Helper()
	out, err := uitest.X(display, "xdotool", "getwindowgeometry", "--shell", win)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "WIDTH="); ok {
			w, _ := strconv.Atoi(v)
			return w
		}
	}
	t.Fatalf("no width in %q", out)
	return 0
}

type appProc struct {
	cmd  *exec.Cmd
	logs *brokertest.SyncBuffer
	win  string
}

func startApp(t *testing.T, bin string, env []string, display string, args ...string) *appProc {
	t.Helper()
	p := &appProc{cmd: exec.Command(bin, args...), logs: &brokertest.SyncBuffer{}}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("app log:\n%s", p.logs.String())
		}
	})
	p.win = uitest.WaitWindow(t, display, p.cmd.Process.Pid, 30*time.Second)
	return p
}

func (p *appProc) stop(t *testing.T) {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

func (p *appProc) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("app did not log %q within %v; log:\n%s", s, timeout, p.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// demoOfficePC starts what `make demo` starts as an office PC: a display
// with the demo desktop (packaging/demo-desktop.sh) shared by
// freerdp-shadow-cli on a free loopback port. It returns the port.
func demoOfficePC(t *testing.T, name string) int {
	t.Helper()
	display := uitest.StartXvfb(t, 1280, 800)
	paint := exec.Command(filepath.Join(brokertest.RepoRoot(t), "packaging", "demo-desktop.sh"), display, name)
	if out, err := paint.CombinedOutput(); err != nil {
		t.Fatalf("demo desktop: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	shadow := exec.Command("freerdp-shadow-cli", "/port:"+strconv.Itoa(port), "/bind-address:127.0.0.1", "-auth")
	shadow.Env = append(os.Environ(), "DISPLAY="+display)
	logs := &brokertest.SyncBuffer{}
	shadow.Stdout, shadow.Stderr = logs, logs
	if err := shadow.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = shadow.Process.Kill()
		_ = shadow.Wait()
		if t.Failed() {
			t.Logf("freerdp-shadow-cli:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			c.Close()
			return port
		}
		if time.Now().After(deadline) {
			t.Fatalf("freerdp-shadow-cli did not listen on %d", port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitXFreeRDPWindow finds the RDP client's window on display.
func waitXFreeRDPWindow(t *testing.T, display string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := uitest.X(display, "xdotool", "search", "--onlyvisible", "--class", "xfreerdp")
		if f := strings.Fields(out); err == nil && len(f) > 0 {
			return f[len(f)-1]
		}
		if time.Now().After(deadline) {
			t.Fatal("no xfreerdp window")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
