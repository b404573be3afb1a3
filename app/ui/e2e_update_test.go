package ui_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/release"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EAppSelfUpdate runs the real app binary, built as the release
// builds it with a throwaway update root linked in (-X
// main.updateRoots), against a real broker where IT published the next
// version (the same app, built as 2.0.0, signed with the release key of
// the root-signed key list). The app checks at start, downloads,
// verifies and applies in the background; signed in, the home screen
// offers the restart ($ARTIFACTS_DIR/app-update-ready-ja.png); the click
// restarts it: main starts the new binary, which begins its trial,
// reaches its sign-in window and confirms (the operation log's
// update.trial and update.confirmed), and the binary in the install
// directory is 2.0.0 with 1.0.0 kept beside it.
func TestE2EAppSelfUpdate(t *testing.T) {
	needDisplayTools(t)
	art := brokertest.ArtifactsDir(t)
	rootPub, rootPriv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	relPub, relPriv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	install := filepath.Join(t.TempDir(), "install")
	v1 := buildAppVersion(t, filepath.Join(install, "zaitaku"), "1.0.0", rootPub.String())
	v2 := buildAppVersion(t, filepath.Join(t.TempDir(), "zaitaku-2.0.0"), "2.0.0", rootPub.String())

	b := demoBroker(t)
	ctx := t.Context()
	rel := b.Services.Releases
	online, err := rel.InitOnlineKey(ctx, "cli:it")
	if err != nil {
		t.Fatal(err)
	}
	kl, _ := json.Marshal(api.KeyList{Serial: 1, Issued: b.Now(), Roots: []string{rootPub.String()},
		Release: []string{relPub.String()}, Online: []string{online}})
	if _, err := rel.AddKeyList(ctx, "cli:it", kl, string(minisign.Sign(rootPriv, kl))); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(v2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rel.Publish(ctx, "cli:it", release.PublishRequest{Version: "2.0.0", OS: runtime.GOOS, Arch: runtime.GOARCH,
		Channel: "stable", Rollout: 100, Signature: string(minisign.Sign(relPriv, body))}, body); err != nil {
		t.Fatal(err)
	}

	kr := keyringtest.Start(t)
	display := uitest.StartXvfb(t, 1024, 800)
	home := t.TempDir()
	data := filepath.Join(home, "data")
	app := startApp(t, v1, appEnv(kr, display, home), display, "-broker", b.URL, "-pin", b.Pin, "-lang", "ja",
		"-device", "e2e-update", "-data", data)
	app.waitLog(t, `reached sign-in window" version=1.0.0`, 20*time.Second)
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	time.Sleep(time.Second)
	signIn(t, display, app, "sato", nil)
	app.waitLog(t, "phase=ready", 20*time.Second)
	app.waitLog(t, "update phase=ready target=2.0.0", 60*time.Second)
	time.Sleep(time.Second)
	uitest.Screenshot(t, display, app.win, filepath.Join(art, "app-update-ready-ja.png"))

	// 再起動, the first button of the update line above the office PC.
	uitest.Click(t, display, app.win, restartX, restartY)
	app.waitLog(t, "restarting into the new version", 10*time.Second)
	m := regexp.MustCompile(`restarted as .*, pid (\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	var pid int
	for pid == 0 {
		if s := m.FindStringSubmatch(app.logs.String()); s != nil {
			pid, _ = strconv.Atoi(s[1])
		} else if time.Now().After(deadline) {
			t.Fatalf("the app did not restart; log:\n%s", app.logs.String())
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		// The new process is this test's through the old one.
		_ = syscall.Kill(pid, syscall.SIGKILL)
	})
	app.waitLog(t, "update trial", 20*time.Second)
	app.waitLog(t, `reached sign-in window" version=2.0.0`, 30*time.Second)
	win := uitest.WaitWindow(t, display, pid, 20*time.Second)
	time.Sleep(1500 * time.Millisecond)
	uitest.Screenshot(t, display, win, filepath.Join(art, "app-update-restarted-ja.png"))

	out, err := exec.Command(filepath.Join(install, "zaitaku"), "-h").CombinedOutput()
	if !strings.Contains(string(out), "-broker") {
		t.Fatalf("the installed binary does not run: %v\n%s", err, out)
	}
	if got, want := sha256Of(t, filepath.Join(install, "zaitaku")), sha256Of(t, v2); got != want {
		t.Fatal("the installed binary is not the published 2.0.0")
	}
	if _, err := os.Stat(filepath.Join(install, "zaitaku"+update.PreviousSuffix)); err != nil {
		t.Fatalf("1.0.0 was not kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "update-pending.json")); !os.IsNotExist(err) {
		t.Fatalf("the trial marker is still there after the sign-in window came up: %v", err)
	}
}

// Where the update line's Restart button is on the Japanese home screen
// (FYNE_SCALE=1, window 560 wide).
const (
	restartX = 60
	restartY = 144
)

// buildAppVersion builds the app as release.sh does: version and update
// roots linked in.
func buildAppVersion(t *testing.T, out, version, roots string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version+" -X main.updateRoots="+roots, "-o", out, ".")
	cmd.Dir = brokertest.RepoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build app %s: %v\n%s", version, err, b)
	}
	return out
}

func sha256Of(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
