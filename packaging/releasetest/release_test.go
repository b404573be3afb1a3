package releasetest

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The files `make release` writes, {v} the version.
var releaseFiles = []string{
	"zaitaku-{v}-linux-amd64",
	"zaitaku-{v}-linux-amd64.tar.xz",
	"zaitaku-{v}-windows-amd64.exe",
	"zaitaku-{v}-windows-amd64.msi",
	"zaitaku-broker-{v}-linux-amd64",
	"zaitaku-broker-{v}-linux-arm64",
	"zaitaku-broker_{v}_amd64.deb",
	"zaitaku-broker_{v}_arm64.deb",
	"SHA256SUMS",
}

// TestE2ERelease: every artifact is there, listed in SHA256SUMS with its
// hash and signed by the release key (checked with the minisign command);
// the brokers are static binaries for their architecture and report the
// version; the Linux app runs here.
func TestE2ERelease(t *testing.T) {
	r := BuildRelease(t)
	entries, err := os.ReadDir(r.Dist)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	t.Logf("dist/: %s", strings.Join(names, " "))
	want := map[string]bool{}
	for _, f := range releaseFiles {
		want[r.path(f)] = true
		want[r.path(f)+".minisig"] = true
	}
	for p := range want {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("missing %s", filepath.Base(p))
		}
	}
	for _, n := range names {
		if !want[filepath.Join(r.Dist, n)] {
			t.Errorf("dist/ has %s, which the release does not list", n)
		}
	}

	t.Run("checksums", func(t *testing.T) {
		sums := map[string]string{}
		f, err := os.Open(r.path("SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) == 2 {
				sums[fs[1]] = fs[0]
			}
		}
		for _, name := range releaseFiles {
			if name == "SHA256SUMS" {
				continue
			}
			name = filepath.Base(r.path(name))
			if got := sha256File(t, filepath.Join(r.Dist, name)); sums[name] != got {
				t.Errorf("SHA256SUMS says %s for %s, the file is %s", sums[name], name, got)
			}
		}
		cmd := exec.Command("sha256sum", "--check", "--strict", "SHA256SUMS")
		cmd.Dir = r.Dist
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum --check: %v\n%s", err, out)
		}
	})

	t.Run("signatures", func(t *testing.T) {
		if r.PubKey == "" {
			t.Fatal("no public key to verify with (ZAITAKU_TEST_PUBKEY)")
		}
		for _, name := range releaseFiles {
			out := run(t, "minisign", "-V", "-p", r.PubKey, "-m", r.path(name))
			if !strings.Contains(out, "Trusted comment: zaitaku "+r.Version) {
				t.Errorf("%s: trusted comment does not name the version:\n%s", name, out)
			}
		}
		// A changed byte is refused.
		tampered := filepath.Join(t.TempDir(), "SHA256SUMS")
		b, _ := os.ReadFile(r.path("SHA256SUMS"))
		b[0] ^= 1
		_ = os.WriteFile(tampered, b, 0o644)
		sig, _ := os.ReadFile(r.path("SHA256SUMS.minisig"))
		_ = os.WriteFile(tampered+".minisig", sig, 0o644)
		if out, err := exec.Command("minisign", "-V", "-p", r.PubKey, "-m", tampered).CombinedOutput(); err == nil {
			t.Errorf("minisign accepted a tampered SHA256SUMS:\n%s", out)
		}
	})

	t.Run("brokers", func(t *testing.T) {
		for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
			p := r.path("zaitaku-broker-{v}-linux-" + arch)
			f, err := elf.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != machine {
				t.Errorf("%s: machine %v, want %v", arch, f.Machine, machine)
			}
			for _, prog := range f.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Errorf("%s: has an ELF interpreter: not a static (cgo-free) binary", arch)
				}
			}
			f.Close()
		}
		out := run(t, r.path("zaitaku-broker-{v}-linux-amd64"), "version")
		if !strings.Contains(out, r.Version) {
			t.Errorf("broker version: %q does not name %s", out, r.Version)
		}
	})

	t.Run("debs", func(t *testing.T) {
		for _, arch := range []string{"amd64", "arm64"} {
			deb := r.path("zaitaku-broker_{v}_" + arch + ".deb")
			if got := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, "Architecture")); got != arch {
				t.Errorf("%s: Architecture %s", arch, got)
			}
			if got := strings.TrimSpace(run(t, "dpkg-deb", "-f", deb, "Version")); got != strings.Replace(r.Version, "-", "~", 1) {
				t.Errorf("%s: Version %s", arch, got)
			}
			dir := t.TempDir()
			run(t, "dpkg-deb", "-x", deb, dir)
			if sha256File(t, filepath.Join(dir, "usr", "bin", "zaitaku-broker")) != sha256File(t, r.path("zaitaku-broker-{v}-linux-"+arch)) {
				t.Errorf("%s: the .deb's broker is not the release's linux/%s broker", arch, arch)
			}
		}
	})

	t.Run("refuses a preset without pins", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "zaitaku-app.json")
		_ = os.WriteFile(bad, []byte(`{"broker": "https://zaitaku.example.lg.jp:8443"}`), 0o644)
		key := filepath.Join(t.TempDir(), "release.key")
		_ = os.WriteFile(key, []byte("unused"), 0o600)
		roots := filepath.Join(t.TempDir(), "root.pub")
		_ = os.WriteFile(roots, []byte("untrusted comment: minisign public key\nRW"+strings.Repeat("A", 54)+"\n"), 0o644)
		out, err := releaseScript(t, "ZAITAKU_SIGNING_KEY="+key, "ZAITAKU_UPDATE_ROOTS="+roots, "ZAITAKU_PRESET="+bad, "VERSION="+r.Version)
		if err == nil || !strings.Contains(out, `no "pins"`) || strings.Contains(out, "release: broker") {
			t.Errorf("release.sh with a preset without pins: %v\n%s", err, out)
		}
	})

	t.Run("linux app", func(t *testing.T) {
		f, err := elf.Open(r.path("zaitaku-{v}-linux-amd64"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != elf.EM_X86_64 {
			t.Errorf("machine %v", f.Machine)
		}
		// -h parses the flags and exits before any window: the binary
		// and its shared libraries load here.
		out, _ := exec.Command(r.path("zaitaku-{v}-linux-amd64"), "-h").CombinedOutput()
		if !strings.Contains(string(out), "-broker") {
			t.Errorf("zaitaku -h:\n%s", out)
		}
	})

	// The self-update trusts the root key the release was built with
	// (ZAITAKU_UPDATE_ROOTS, linked in as main.updateRoots).
	t.Run("update root built in", func(t *testing.T) {
		if r.RootKey == "" {
			t.Fatal("no root key to look for (ZAITAKU_TEST_ROOTKEY)")
		}
		for _, app := range []string{"zaitaku-{v}-linux-amd64", "zaitaku-{v}-windows-amd64.exe"} {
			b, err := os.ReadFile(r.path(app))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(r.RootKey)) {
				t.Errorf("%s does not carry the update root key %s", filepath.Base(r.path(app)), r.RootKey)
			}
		}
	})
}
