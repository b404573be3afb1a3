package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"aead.dev/minisign"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestReleaseCLI: IT's release commands next to a running broker, from
// the online key to a pin. (TestE2ESelfUpdate in app/update does the same
// with the minisign command's keys and a real binary.)
func TestReleaseCLI(t *testing.T) {
	var dir string
	b := brokertest.Start(t, brokertest.WithSetup(func(db *daemon.Broker) { dir = db.Cfg.Data }))
	work := t.TempDir()
	rootPub, root, _ := minisign.GenerateKey(nil)
	relPub, rel, _ := minisign.GenerateKey(nil)
	write := func(name string, body []byte, k minisign.PrivateKey) string {
		t.Helper()
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".minisig", minisign.Sign(k, body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, errs, code := run(t, dir, "admin", "release", "online-key")
	if code != 0 || !strings.HasPrefix(out, "RW") || !strings.Contains(errs, "new online key") {
		t.Fatalf("online-key: %d %q %q", code, out, errs)
	}
	online := strings.TrimSpace(out)
	if again, _, _ := run(t, dir, "admin", "release", "online-key"); strings.TrimSpace(again) != online {
		t.Fatalf("a second online-key made a new key: %q", again)
	}
	kl, _ := json.Marshal(api.KeyList{Serial: 1, Roots: []string{rootPub.String()}, Release: []string{relPub.String()}, Online: []string{online}})
	keys := write("keys.json", kl, root)
	bin := write("zaitaku.exe", []byte("MZ new binary"), rel)
	var id string
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"keys without signature", []string{"keys", "--sig", filepath.Join(work, "none"), keys}, 1, "minisign -S"},
		{"keys", []string{"keys", keys}, 0, "key list 1: 1 root, 1 release, 1 online"},
		{"keys again", []string{"keys", keys}, 1, "serial 1, want 2"},
		{"publish signed by the root", []string{"publish", "--version", "2.0.0", "--os", "windows", "--sig", keys + ".minisig", bin}, 1, "refused"},
		{"publish", []string{"publish", "--version", "2.0.0", "--os", "windows", "--rollout", "10", bin}, 0, "published rel_"},
		{"publish older", []string{"publish", "--version", "1.0.0", "--os", "windows", bin}, 1, "2.0.0 is published"},
		{"list", []string{"list"}, 0, "10%"},
		{"pin", []string{"pin", "stable", "2.0.0"}, 0, `pin "2.0.0"`},
		{"minimum", []string{"minimum", "stable", "1.5.0"}, 0, `minimum "1.5.0"`},
		{"unpin", []string{"pin", "stable", "none"}, 0, `pin ""`},
		{"minimum not a version", []string{"minimum", "stable", "soon"}, 1, "version"},
		{"sign", []string{"sign"}, 0, "signed 1 manifests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := run(t, dir, append([]string{"admin", "release"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(out+errs, tc.wantOut) {
				t.Fatalf("exit %d, want %d; output %q %q, want %q", code, tc.wantCode, out, errs, tc.wantOut)
			}
			if tc.name == "publish" {
				id = strings.TrimSuffix(strings.Fields(out)[1], ":")
			}
		})
	}
	if out, errs, code := run(t, dir, "admin", "release", "rollout", id, "50"); code != 0 || !strings.Contains(out, "50%") {
		t.Fatalf("rollout: %d %q %q", code, out, errs)
	}
	l, err := b.Services.Releases.List(t.Context())
	if err != nil || len(l.Releases) != 1 || l.Releases[0].Rollout != 50 || l.Channels[0].MinVersion != "1.5.0" {
		t.Fatalf("the broker sees %+v %v", l, err)
	}
}
