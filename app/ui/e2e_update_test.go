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
	pid := restartedPID(t, app)
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

// TestE2EAppRollback: a new version that started once and never reached
// its sign-in window (its trial began five minutes ago) is rolled back
// at its next start, before any window: main puts 1.0.0 back, starts it,
// and 1.0.0 tells its user once signed in
// ($ARTIFACTS_DIR/app-update-rolled-back-ja.png); the failed version is
// remembered and not offered again.
func TestE2EAppRollback(t *testing.T) {
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
	exe := filepath.Join(install, "zaitaku")
	buildAppVersion(t, exe, "2.0.0", rootPub.String())
	v1 := buildAppVersion(t, exe+update.PreviousSuffix, "1.0.0", rootPub.String())
	v1sum := sha256Of(t, v1)

	// The broker still offers 2.0.0, as it would the morning after.
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
	body, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rel.Publish(ctx, "cli:it", release.PublishRequest{Version: "2.0.0", OS: runtime.GOOS, Arch: runtime.GOARCH,
		Channel: "stable", Rollout: 100, Signature: string(minisign.Sign(relPriv, body))}, body); err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	data := filepath.Join(home, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	// The marker 1.0.0 wrote when it applied 2.0.0, and 2.0.0's first start.
	pending, _ := json.Marshal(map[string]any{"from": "1.0.0", "to": "2.0.0", "previous": exe + update.PreviousSuffix,
		"applied_at": time.Now().Add(-10 * time.Minute), "started_at": time.Now().Add(-5 * time.Minute)})
	if err := os.WriteFile(filepath.Join(data, "update-pending.json"), pending, 0o600); err != nil {
		t.Fatal(err)
	}

	kr := keyringtest.Start(t)
	display := uitest.StartXvfb(t, 1024, 800)
	logs := &brokertest.SyncBuffer{}
	cmd := exec.Command(exe, "-broker", b.URL, "-pin", b.Pin, "-lang", "ja", "-device", "e2e-rollback", "-data", data)
	cmd.Env, cmd.Stdout, cmd.Stderr = appEnv(kr, display, home), logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// 2.0.0 rolls itself back and exits without a window. (Not
	// cmd.Wait: the restored process holds the log pipe.)
	if ps, err := cmd.Process.Wait(); err != nil || !ps.Success() {
		t.Fatalf("2.0.0: %v %v\n%s", ps, err, logs.String())
	}
	app := &appProc{cmd: cmd, logs: logs}
	app.waitLog(t, "the new version failed to start last time", 10*time.Second)
	pid := restartedPID(t, app)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	app.win = uitest.WaitWindow(t, display, pid, 30*time.Second)
	app.waitLog(t, `reached sign-in window" version=1.0.0`, 20*time.Second)
	if got := sha256Of(t, exe); got != v1sum {
		t.Fatal("the installed binary is not 1.0.0 after the rollback")
	}
	app.waitLog(t, "phase=signed_out", 20*time.Second)
	time.Sleep(time.Second)
	signIn(t, display, app, "suzuki", nil)
	app.waitLog(t, "phase=ready", 20*time.Second)
	app.waitLog(t, "update phase=idle", 30*time.Second) // 2.0.0 is offered and skipped
	time.Sleep(time.Second)
	uitest.Screenshot(t, display, app.win, filepath.Join(art, "app-update-rolled-back-ja.png"))
	st, err := os.ReadFile(filepath.Join(data, "update-state.json"))
	if err != nil || !strings.Contains(string(st), `"2.0.0"`) {
		t.Fatalf("update state does not remember the failed version: %s %v", st, err)
	}
	if strings.Contains(logs.String(), "update phase=downloading") {
		t.Fatal("the failed version was downloaded again")
	}
}

// restartedPID waits for main's line naming the process it started.
func restartedPID(t *testing.T, app *appProc) int {
	t.Helper()
	m := regexp.MustCompile(`restarted as .*, pid (\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if s := m.FindStringSubmatch(app.logs.String()); s != nil {
			pid, _ := strconv.Atoi(s[1])
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app did not restart; log:\n%s", app.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
