package ui_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/ui/uitest"
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
	uitest.Need(t, map[string]string{"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick", "fc-list": "fontconfig"})
	if out, _ := exec.Command("fc-list", ":lang=ja").Output(); len(strings.TrimSpace(string(out))) == 0 {
		t.Fatal("no Japanese font: install the Debian package \"fonts-noto-cjk\" (make deps)")
	}
	root := brokertest.RepoRoot(t)
	art := brokertest.ArtifactsDir(t)
	bin := filepath.Join(t.TempDir(), "zaitaku")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build app: %v\n%s", err, out)
	}
	// The demo office PCs live on 127.0.0.1; this listener answers on their
	// RDP port so the broker finds them awake (the app's RDP client is a stub).
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
				// Answer like an RDP server: a greeting once the client speaks.
				buf := make([]byte, 64)
				if _, err := c.Read(buf); err == nil {
					_, _ = c.Write([]byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 0x02, 0, 0x08, 0, 0x02, 0, 0, 0})
				}
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	t.Setenv(daemon.DemoRDPPortEnv, strconv.Itoa(pc.Addr().(*net.TCPAddr).Port))
	b := brokertest.Start(t, brokertest.WithRealClock(), brokertest.WithSetup(func(d *daemon.Broker) {
		if err := daemon.SeedDemo(context.Background(), d, nil); err != nil {
			t.Fatalf("seed demo: %v", err)
		}
	}))
	_, coreConnects := reflect.TypeOf(&core.Client{}).MethodByName("Connect")

	for i, lang := range []string{"ja", "en"} {
		user := []string{"yamada", "sato"}[i] // one-time codes are single-use per account
		t.Run(lang, func(t *testing.T) {
			kr := keyringtest.Start(t)
			display := uitest.StartXvfb(t, 1024, 800)
			home := t.TempDir()
			env := append(os.Environ(), kr.Vars()...)
			env = append(env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
				"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "FYNE_THEME=light", "FYNE_SCALE=1",
				"ZAITAKU_RDP_STUB=1", "LANG=ja_JP.UTF-8")
			run := func(extra ...string) *appProc {
				args := append([]string{"-broker", b.URL, "-fingerprint", b.Fingerprint, "-lang", lang,
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

			uitest.Focus(t, display, app.win) // the staff ID field has the app's focus already
			uitest.Type(t, display, app.win, user, "Tab")
			uitest.Type(t, display, app.win, daemon.DemoPassword, "Return")
			time.Sleep(2 * time.Second) // the broker asks for the code; its field appears focused
			shot(app, "otp")
			code, err := auth.TOTPCode(daemon.DemoTOTPSecret, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			uitest.Type(t, display, app.win, code, "Return")
			app.waitLog(t, "phase=ready", 20*time.Second)
			time.Sleep(time.Second)
			shot(app, "home")
			for _, key := range []string{"refresh-token", "device-key"} {
				if ok, err := kr.Has("zaitaku", key); err != nil || !ok {
					t.Errorf("keyring entry %q after sign-in with \"keep me signed in\": %v, %v", key, ok, err)
				}
			}
			app.stop(t)

			// A restart signs in from the keyring alone, then connects (-connect).
			app = run("-connect")
			app.waitLog(t, "phase=ready", 20*time.Second)
			if !coreConnects {
				t.Log("app/core has no Connect yet: the connected screenshot waits for it")
				return
			}
			app.waitLog(t, "phase=connected", 60*time.Second)
			time.Sleep(3 * time.Second) // let the elapsed time tick
			shot(app, "connected")
		})
	}
}

type appProc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	win  string
}

func startApp(t *testing.T, bin string, env []string, display string, args ...string) *appProc {
	t.Helper()
	p := &appProc{cmd: exec.Command(bin, args...), logs: &syncBuffer{}}
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

type syncBuffer struct {
	mu sync.Mutex // guards b: the app's stdout and stderr copy in from two goroutines
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
