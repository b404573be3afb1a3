package update_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/release"
)

// key is a throwaway minisign key pair.
type key struct {
	pub  minisign.PublicKey
	priv minisign.PrivateKey
}

func newKey(t *testing.T) key {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return key{pub, priv}
}

func (k key) String() string { return k.pub.String() }

func (k key) sign(b []byte) string { return string(minisign.Sign(k.priv, b)) }

// fixture is a real broker with a root key, a release key, the broker's
// online key and key list 1 naming them.
type fixture struct {
	b       *brokertest.Broker
	rel     *release.Service
	root    key
	release key
	online  string
}

func newFixture(t *testing.T, opts ...brokertest.Option) *fixture {
	t.Helper()
	b := brokertest.Start(t, opts...)
	f := &fixture{b: b, rel: b.Services.Releases, root: newKey(t), release: newKey(t)}
	var err error
	if f.online, err = f.rel.InitOnlineKey(t.Context(), "cli:it"); err != nil {
		t.Fatal(err)
	}
	f.addKeys(t, f.root, api.KeyList{Serial: 1, Roots: []string{f.root.String()}, Release: []string{f.release.String()},
		Online: []string{f.online}})
	return f
}

func (f *fixture) addKeys(t *testing.T, signer key, kl api.KeyList) {
	t.Helper()
	kl.Issued = f.b.Now()
	body, err := json.Marshal(kl)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rel.AddKeyList(t.Context(), "cli:it", body, signer.sign(body)); err != nil {
		t.Fatalf("key list %d: %v", kl.Serial, err)
	}
}

// script is an "app binary" that reports its version: the tests that
// are not end-to-end need no compiler.
func script(version string) []byte { return []byte("#!/bin/sh\necho " + version + "\n") }

func (f *fixture) publish(t *testing.T, version string, rollout int, signer key) api.Release {
	t.Helper()
	body := script(version)
	r, err := f.rel.Publish(t.Context(), "cli:it", release.PublishRequest{Version: version, OS: "linux", Arch: "amd64",
		Channel: "stable", Rollout: rollout, Signature: signer.sign(body)}, body)
	if err != nil {
		t.Fatalf("publish %s: %v", version, err)
	}
	return r
}

// events records what the updater writes to the operation log.
type events struct {
	mu   sync.Mutex
	got  []string
	also update.Recorder // the app's journal, when a test opens one
}

func (e *events) Record(event string, fields map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, event+" "+fields["reason"])
	if e.also != nil {
		return e.also.Record(event, fields)
	}
	return nil
}

func (e *events) has(t *testing.T, want ...string) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	all := strings.Join(e.got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no event %q in:\n%s", w, all)
		}
	}
}

// device is one laptop: an install directory with the running binary
// and a data directory with the updater's state.
type device struct {
	id, exe, state string
	ev             *events
}

func newDevice(t *testing.T, id, version string) *device {
	t.Helper()
	dir := t.TempDir()
	d := &device{id: id, exe: filepath.Join(dir, "install", "zaitaku"), state: filepath.Join(dir, "data"), ev: &events{}}
	if err := os.MkdirAll(filepath.Dir(d.exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.exe, script(version), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

type updOpt func(*update.Config)

func withNow(now func() time.Time) updOpt { return func(c *update.Config) { c.Now = now } }
func withSource(s update.Source) updOpt   { return func(c *update.Config) { c.Source = s } }

// updater is the device's updater as the given version runs it.
func (f *fixture) updater(t *testing.T, d *device, version string, opts ...updOpt) *update.Updater {
	t.Helper()
	cfg := update.Config{Source: f.b.Client(t), Roots: []string{f.root.String()}, StateDir: d.state, Exe: d.exe,
		Version: version, DeviceID: d.id, OS: "linux", Arch: "amd64", Now: f.b.Now, Recorder: d.ev}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := update.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// runs runs a binary and returns what it printed.
func runs(t *testing.T, exe string) string {
	t.Helper()
	out, err := exec.Command(exe).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", exe, err, out)
	}
	return strings.TrimSpace(string(out))
}

func check(t *testing.T, u *update.Updater) *update.Offer {
	t.Helper()
	o, err := u.Check(context.Background())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return o
}

func wantRefused(t *testing.T, err error, r update.Reason) {
	t.Helper()
	if !update.IsRefused(err, r) {
		t.Fatalf("err = %v, want a refusal for %s", err, r)
	}
}

// network is the path between the app and a real broker, which a test
// can break: cut a download short, lie about its length, or replay a
// manifest it kept from earlier.
type network struct {
	update.Source
	cutAt    int64 // > 0: the body ends with an error after this many bytes
	declared int64 // > 0: the length announced instead of the real one
	replay   *api.SignedDoc
}

func (n *network) ReleaseManifest(ctx context.Context, ch, goos, arch string) (*api.SignedDoc, error) {
	if n.replay != nil {
		return n.replay, nil
	}
	return n.Source.ReleaseManifest(ctx, ch, goos, arch)
}

func (n *network) DownloadRelease(ctx context.Context, path string) (io.ReadCloser, int64, error) {
	rc, size, err := n.Source.DownloadRelease(ctx, path)
	if err != nil {
		return nil, 0, err
	}
	if n.declared > 0 {
		size = n.declared
	}
	if n.cutAt > 0 {
		b, _ := io.ReadAll(rc)
		rc.Close()
		return io.NopCloser(io.MultiReader(bytes.NewReader(b[:n.cutAt]), errReader{})), size, nil
	}
	return rc, size, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) {
	return 0, fmt.Errorf("connection reset by peer: %w", io.ErrUnexpectedEOF)
}
