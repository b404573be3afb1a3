package ui_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EAppBrokerRestart kills the broker (the real binary, kill -9) under
// a signed-in app: the app must say it is offline, keep its window alive
// and redrawing, and come back online by itself when the broker returns on
// the same address.
func TestE2EAppBrokerRestart(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	bin := buildApp(t)
	t.Setenv(daemon.DemoRDPPortEnv, strconv.Itoa(officePC(t)))
	p := brokertest.StartProcess(t, func(d *daemon.Broker) {
		if err := daemon.SeedDemo(context.Background(), d.Services, nil); err != nil {
			t.Fatalf("seed demo: %v", err)
		}
	})
	kr := keyringtest.Start(t)
	display := uitest.StartXvfb(t, 1024, 800)
	home := t.TempDir()
	args := []string{"-broker", p.URL, "-fingerprint", p.Fingerprint,
		"-lang", "ja", "-device", "e2e-restart", "-data", filepath.Join(home, "data")}
	app := startApp(t, bin, appEnv(kr, display, home), display, args...)
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	time.Sleep(time.Second)
	signIn(t, display, app, "suzuki", nil)
	app.waitLog(t, "online=true", 20*time.Second)

	p.Kill()
	app.waitLog(t, "online=false", 30*time.Second)
	time.Sleep(time.Second)
	shot := filepath.Join(art, "app-offline-ja.png")
	uitest.Screenshot(t, display, app.win, shot)
	t.Logf("screenshot %s", shot)
	if app.cmd.ProcessState != nil {
		t.Fatal("the app exited when the broker went away")
	}
	// The window still answers X requests (a frozen Fyne loop would too, so
	// also check the app keeps logging its own state: below).
	if _, err := uitest.X(display, "xdotool", "getwindowname", app.win); err != nil {
		t.Fatalf("window gone: %v", err)
	}

	onlineBefore := strings.Count(app.logs.String(), "online=true")
	time.Sleep(2 * time.Second) // let the backoff grow a little
	p.Restart()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(app.logs.String(), "online=true") <= onlineBefore {
		if time.Now().After(deadline) {
			t.Fatalf("the app did not come back online within 60s of the broker's restart; log:\n%s", app.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(app.logs.String()[strings.LastIndex(app.logs.String(), "online=false"):], "phase=signed_out") {
		t.Errorf("a broker restart must not sign the user out; log:\n%s", app.logs.String())
	}
	time.Sleep(time.Second)
	uitest.Screenshot(t, display, app.win, filepath.Join(art, "app-back-online-ja.png"))

	// Launching again (the desktop icon) brings the running app forward
	// instead of starting a second one.
	second := exec.Command(bin, args...)
	second.Env = appEnv(kr, display, home)
	out, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second launch: %v\n%s", err, out)
	}
	app.waitLog(t, "second launch: showing the window", 10*time.Second)
}
