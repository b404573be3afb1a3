package releasetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// Release is one `make release` run: its output directory, version, the
// public half of the throwaway key that signed it, and the preset it put
// in the packages.
type Release struct {
	Dist, Version, PubKey string
	// RootKey is the self-update root public key ("RW...") built into
	// the apps ("" for a reused dist/ without ZAITAKU_TEST_ROOTKEY).
	RootKey string
	Preset  presetFile
}

type presetFile struct {
	Broker string   `json:"broker"`
	Pins   []string `json:"pins"`
}

// testVersion is what the tests build: above any real version, so that a
// laptop that somehow got it would be offered nothing older.
const testVersion = "0.9.7"

func (r *Release) path(name string) string {
	return filepath.Join(r.Dist, strings.ReplaceAll(name, "{v}", r.Version))
}

var (
	releaseOnce sync.Once
	release     *Release
	releaseErr  error
)

// needTools fails the test, naming the Debian package, when a command the
// test drives is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tp := range tools {
		tool, pkg, _ := strings.Cut(tp, ":")
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: apt-get install %s (make deps installs it)", tool, pkg)
		}
	}
}

// BuildRelease runs `make release` once per test process into dist/ of
// the checkout, signed with a throwaway minisign key (minisign -G -W) that
// lives in a temporary directory and is gone afterwards, with a preset
// for the packages. The Go build cache makes a rerun cost the links and
// the packaging (about a minute); the first Windows build is about six.
//
// ZAITAKU_TEST_DIST=dir ZAITAKU_TEST_PUBKEY=file reuse a dist/ made by an
// earlier run (its key's public half) instead of building.
func BuildRelease(t *testing.T) *Release {
	t.Helper()
	needTools(t, "make:make", "minisign:minisign", "x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64",
		"x86_64-w64-mingw32-g++:g++-mingw-w64-x86-64", "wixl:wixl", "dpkg-deb:dpkg", "xz:xz-utils")
	releaseOnce.Do(func() { release, releaseErr = buildRelease(brokertest.RepoRoot(t)) })
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	return release
}

func buildRelease(root string) (*Release, error) {
	pin := sha256.Sum256([]byte("zaitaku test preset")) // a well-formed pin of no key
	r := &Release{Dist: filepath.Join(root, "dist"), Version: testVersion,
		Preset: presetFile{Broker: "https://zaitaku.example.lg.jp:8443", Pins: []string{"sha256/" + base64.StdEncoding.EncodeToString(pin[:])}}}
	if d := os.Getenv("ZAITAKU_TEST_DIST"); d != "" {
		r.Dist, r.PubKey, r.RootKey = d, os.Getenv("ZAITAKU_TEST_PUBKEY"), os.Getenv("ZAITAKU_TEST_ROOTKEY")
		b, err := os.ReadFile(filepath.Join(d, "SHA256SUMS"))
		if err != nil {
			return nil, err
		}
		// Take the version from the names in the earlier run.
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.HasSuffix(f[1], "-windows-amd64.exe") {
				r.Version = strings.TrimSuffix(strings.TrimPrefix(f[1], "zaitaku-"), "-windows-amd64.exe")
			}
		}
		return r, nil
	}
	keys, err := os.MkdirTemp("", "zaitaku-release-key-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(keys)
	sec, pub := filepath.Join(keys, "release.key"), filepath.Join(os.TempDir(), fmt.Sprintf("zaitaku-release-test-%d.pub", os.Getpid()))
	if out, err := exec.Command("minisign", "-G", "-W", "-f", "-p", pub, "-s", sec).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("minisign -G: %v\n%s", err, out)
	}
	r.PubKey = pub
	// The self-update's root: its public half goes into the apps.
	rootPub := filepath.Join(keys, "root.pub")
	if out, err := exec.Command("minisign", "-G", "-W", "-f", "-p", rootPub, "-s", filepath.Join(keys, "root.key")).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("minisign -G (root): %v\n%s", err, out)
	}
	rb, err := os.ReadFile(rootPub)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSpace(string(rb)), "\n")
	r.RootKey = lines[len(lines)-1]
	preset := filepath.Join(keys, "zaitaku-app.json")
	b, _ := json.Marshal(r.Preset)
	if err := os.WriteFile(preset, b, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("make", "release", "VERSION="+r.Version)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ZAITAKU_SIGNING_KEY="+sec, "ZAITAKU_PRESET="+preset, "ZAITAKU_UPDATE_ROOTS="+rootPub, "ZAITAKU_UNSIGNED=")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	_ = os.WriteFile(filepath.Join(artifacts(), "release.log"), out, 0o644)
	if err != nil {
		return nil, fmt.Errorf("make release: %v\n%s", err, out)
	}
	fmt.Printf("make release took %s\n", time.Since(start).Round(time.Second))
	return r, nil
}

// artifacts is $ARTIFACTS_DIR/release, for evidence a person can read.
func artifacts() string {
	d := os.Getenv("ARTIFACTS_DIR")
	if d == "" {
		d = filepath.Join("..", "..", "artifacts") // the checkout's, as make sets it
	}
	d = filepath.Join(d, "release")
	_ = os.MkdirAll(d, 0o755)
	return d
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}
