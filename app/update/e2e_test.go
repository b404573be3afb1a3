package update_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/cli"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/release"
)

// TestE2ESelfUpdate: IT makes throwaway keys and signatures with the
// minisign command, signs a key list with the root key and publishes a
// real Go binary with `broker admin release publish`; a laptop running
// the old binary verifies and applies it with minio/selfupdate, and the
// replaced binary reports the new version. A tampered binary is refused
// by the broker at publish and, slipped in behind its back, by the app.
func TestE2ESelfUpdate(t *testing.T) {
	if _, err := exec.LookPath("minisign"); err != nil {
		t.Fatal("minisign is not installed (Debian package minisign, in the Makefile's DEB_PACKAGES)")
	}
	work := t.TempDir()
	sh := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	pubKey := func(file string) string {
		b, err := os.ReadFile(filepath.Join(work, file))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return lines[len(lines)-1]
	}
	// -W: no password, as a throwaway key for a test may be.
	sh("minisign", "-G", "-W", "-p", "root.pub", "-s", "root.key")
	sh("minisign", "-G", "-W", "-p", "release.pub", "-s", "release.key")

	var data string
	b := brokertest.Start(t, brokertest.WithRealClock(), brokertest.WithSetup(func(db *daemon.Broker) { data = db.Cfg.Data }))
	admin := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		env := func(k string) string {
			if k == "ZAITAKU_DATA" {
				return data
			}
			return ""
		}
		if code := cli.Main(append([]string{"admin", "release"}, args...), env, &out, &errb); code != wantCode {
			t.Fatalf("broker admin release %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	var online string
	for _, l := range strings.Split(admin(0, "online-key"), "\n") {
		if strings.HasPrefix(l, "RW") {
			online = l
		}
	}
	kl, err := json.Marshal(api.KeyList{Serial: 1, Issued: time.Now(), Roots: []string{pubKey("root.pub")},
		Release: []string{pubKey("release.pub")}, Online: []string{online}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "keys.json"), kl, 0o600); err != nil {
		t.Fatal(err)
	}
	sh("minisign", "-S", "-s", "root.key", "-m", "keys.json")
	if out := admin(0, "keys", filepath.Join(work, "keys.json")); !strings.Contains(out, "key list 1") {
		t.Fatalf("keys: %s", out)
	}

	build := func(version string) string {
		t.Helper()
		out := filepath.Join(work, "zaitaku-"+version)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, "./testdata/fakeapp")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", version, err, b)
		}
		return out
	}
	v1, v2, v3 := build("1.0.0"), build("2.0.0"), build("3.0.0")
	sh("minisign", "-S", "-s", "release.key", "-m", v2)
	publish := func(wantCode int, version, file string) string {
		return admin(wantCode, "publish", "--version", version, "--os", runtime.GOOS, "--arch", runtime.GOARCH, file)
	}
	if out := publish(0, "2.0.0", v2); !strings.Contains(out, "published") {
		t.Fatalf("publish: %s", out)
	}

	// The laptop: the old binary in a per-user install directory.
	exe := filepath.Join(t.TempDir(), "install", "zaitaku")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(v1, exe); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, exe); got != "1.0.0" {
		t.Fatalf("old binary reports %q", got)
	}
	ev := &events{}
	state := t.TempDir()
	newUpdater := func(version string) *update.Updater {
		u, err := update.New(update.Config{Source: b.Client(t), Roots: []string{pubKey("root.pub")}, StateDir: state, Exe: exe,
			Version: version, DeviceID: "dev-e2e", Recorder: ev})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u := newUpdater("1.0.0")
	o := check(t, u)
	if o == nil || o.Target.Version != "2.0.0" {
		t.Fatalf("offer = %+v", o)
	}
	if err := u.Apply(t.Context(), o, nil); err != nil {
		t.Fatal(err)
	}
	if got := runs(t, exe); got != "2.0.0" {
		t.Fatalf("the replaced binary reports %q, want 2.0.0", got)
	}
	u2 := newUpdater("2.0.0")
	if s, err := u2.Startup(); err != nil || s != update.StartTrial {
		t.Fatalf("start of 2.0.0: %v %v", s, err)
	}
	if err := u2.Confirm(); err != nil {
		t.Fatal(err)
	}
	ev.has(t, "update.verified", "update.applied", "update.trial", "update.confirmed")

	t.Run("a tampered binary is refused", func(t *testing.T) {
		sh("minisign", "-S", "-s", "release.key", "-m", v3)
		good, err := os.ReadFile(v3)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(good)
		bad[len(bad)/2] ^= 0xff
		if err := os.WriteFile(v3, bad, 0o755); err != nil {
			t.Fatal(err)
		}
		// IT's publish checks the signature.
		if out := publish(1, "3.0.0", v3); !strings.Contains(out, "refused") {
			t.Fatalf("tampered publish: %s", out)
		}
		// A broker that does not (or an attacker with its database and
		// online key) gets no further: the app checks the release key's
		// signature itself.
		sig, err := os.ReadFile(v3 + ".minisig")
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(bad)
		r := release.Record{Release: api.Release{ID: "rel_tampered", Version: "3.0.0", OS: runtime.GOOS, Arch: runtime.GOARCH,
			Channel: "stable", Size: int64(len(bad)), SHA256: hex.EncodeToString(sum[:]), Rollout: 100, PublishedAt: time.Now()},
			Signature: string(sig)}
		if err := b.Store.Releases().AddRelease(t.Context(), r, bytes.NewReader(bad)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Services.Releases.SignManifests(t.Context()); err != nil {
			t.Fatal(err)
		}
		u := newUpdater("2.0.0")
		o := check(t, u)
		if o == nil || o.Target.Version != "3.0.0" {
			t.Fatalf("offer = %+v", o)
		}
		wantRefused(t, u.Apply(t.Context(), o, nil), update.ReasonSignature)
		if got := runs(t, exe); got != "2.0.0" {
			t.Fatalf("after the refusal the binary reports %q", got)
		}
		ev.has(t, "update.refused signature")
	})
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
