package ui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EAppScreenshots runs the real app binary under its own Xvfb against
// a real broker (demo data), signs in through the window the way staff do
// (typing staff ID, password and one-time code), and saves screenshots of
// the login and home screens in Japanese and English to $ARTIFACTS_DIR.
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

	b := brokertest.Start(t, brokertest.WithRealClock(), brokertest.WithSetup(func(d *daemon.Broker) {
		if err := daemon.SeedDemo(context.Background(), d, nil); err != nil {
			t.Fatalf("seed demo: %v", err)
		}
	}))
	kr := keyringtest.Start(t)

	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			display := uitest.StartXvfb(t, 1024, 800)
			home := t.TempDir()
			env := append(os.Environ(), kr.Vars()...)
			env = append(env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
				"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "FYNE_THEME=light", "FYNE_SCALE=1",
				"ZAITAKU_RDP_STUB=1", "LANG=ja_JP.UTF-8")
			var logs strings.Builder
			app := exec.Command(bin, "-broker", b.URL, "-fingerprint", b.Fingerprint, "-lang", lang,
				"-device", "e2e-"+lang, "-data", filepath.Join(home, "data"))
			app.Env, app.Stdout, app.Stderr = env, &logs, &logs
			if err := app.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = app.Process.Kill()
				_, _ = app.Process.Wait()
				if t.Failed() {
					t.Logf("app log:\n%s", logs.String())
				}
			})
			win := uitest.WaitWindow(t, display, app.Process.Pid, 30*time.Second)
			time.Sleep(1500 * time.Millisecond) // first frames, fonts
			shot := func(name string) {
				p := filepath.Join(art, fmt.Sprintf("app-%s-%s.png", name, lang))
				uitest.Screenshot(t, display, win, p)
				t.Logf("screenshot %s", p)
			}
			shot("login")

			// Sign in through the window: focus is on the staff ID field.
			uitest.Click(t, display, win, 280, 120)
			uitest.Type(t, display, win, "yamada", "Tab")
			uitest.Type(t, display, win, daemon.DemoPassword, "Return")
			time.Sleep(2 * time.Second) // the broker answers otp_required; the code field appears focused
			shot("otp")
			code, err := auth.TOTPCode(daemon.DemoTOTPSecret, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			uitest.Type(t, display, win, code, "Return")
			time.Sleep(3 * time.Second)
			shot("home")
		})
	}
}
