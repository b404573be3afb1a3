package ui

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"fyne.io/fyne/v2/test"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/release"
)

// TestE2EUpdateOffer: the app's self-update wiring against a real
// broker, as main.go builds it: a core client for the broker feeds an
// update.Switch and gives the laptop's key for the rollout; the agent
// checks, downloads and applies a release IT published (signed with a
// throwaway release key under a root the app trusts), and the signed-in
// home screen offers the restart; pressing it asks main for the restart,
// and the binary in the install directory is the new one.
func TestE2EUpdateOffer(t *testing.T) {
	b := brokertest.Start(t)
	rel := b.Services.Releases
	ctx := t.Context()
	root, relKey := newMinisignKey(t), newMinisignKey(t)
	online, err := rel.InitOnlineKey(ctx, "cli:it")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(api.KeyList{Serial: 1, Issued: b.Now(), Roots: []string{root.pub.String()},
		Release: []string{relKey.pub.String()}, Online: []string{online}})
	if _, err := rel.AddKeyList(ctx, "cli:it", body, root.sign(body)); err != nil {
		t.Fatal(err)
	}
	bin := []byte("#!/bin/sh\necho 2.0.0\n")
	if _, err := rel.Publish(ctx, "cli:it", release.PublishRequest{Version: "2.0.0", OS: "linux", Arch: "amd64",
		Channel: "stable", Rollout: 100, Signature: relKey.sign(bin)}, bin); err != nil {
		t.Fatal(err)
	}

	// The laptop: the running binary in a per-user install directory.
	exe := filepath.Join(t.TempDir(), "install", "zaitaku")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho 1.0.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := core.New(core.Config{BrokerURL: b.URL, Pins: []string{b.Pin}, DeviceName: "e2e-update", Version: "1.0.0"}, core.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src := &update.Switch{}
	up, err := update.New(update.Config{Source: src, Roots: []string{root.pub.String()}, StateDir: t.TempDir(), Exe: exe,
		Version: "1.0.0", OS: "linux", Arch: "amd64", Now: b.Now,
		Device: func() string { return hex.EncodeToString(c.DeviceKey()) }})
	if err != nil {
		t.Fatal(err)
	}
	agent := update.NewAgent(up, time.Hour)

	restarts := 0
	fc := &fakeClient{st: core.State{Phase: core.SignedOut, Online: true}, resume: true}
	a := &trayApp{App: test.NewTempApp(t)}
	u := New(a, Options{Lang: "ja", Preset: profile, Updates: agent, Restart: func() { restarts++ },
		NewClient: func(Profile) (Client, error) { return fc, nil },
		Now:       func() time.Time { return testNow }})
	u.async, u.every = func(f func()) { f() }, 0
	u.Start()

	src.Set(c.API()) // main: the client for the profile exists
	agent.Once(ctx)
	if st := agent.Status(); st.Phase != update.PhaseReady || st.Target != "2.0.0" {
		t.Fatalf("agent status %+v", st)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !u.home.upd.root.Visible() || !u.home.upd.restart.Visible() {
		if time.Now().After(deadline) {
			t.Fatalf("no restart offer on the home screen: %q", u.home.upd.text.Text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := "新しいバージョン（2.0.0）の準備ができました"; !strings.Contains(u.home.upd.text.Text, want) {
		t.Fatalf("home says %q, want %q", u.home.upd.text.Text, want)
	}
	test.Tap(u.home.upd.restart)
	if restarts != 1 {
		t.Fatalf("main was asked to restart %d times", restarts)
	}
	out, err := exec.Command(exe).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "2.0.0" {
		t.Fatalf("the installed binary reports %q (%v), want 2.0.0", out, err)
	}
	if _, err := os.Stat(exe + update.PreviousSuffix); err != nil {
		t.Fatalf("the old binary was not kept: %v", err)
	}
}

type minisignKey struct {
	pub  minisign.PublicKey
	priv minisign.PrivateKey
}

func newMinisignKey(t *testing.T) minisignKey {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return minisignKey{pub, priv}
}

func (k minisignKey) sign(b []byte) string { return string(minisign.Sign(k.priv, b)) }
