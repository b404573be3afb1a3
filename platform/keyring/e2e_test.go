package keyring_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/platform/keyring"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// TestE2EKeyring stores, reads and wipes secrets in a real gnome-keyring
// (Secret Service over a private dbus), the way the app does on Linux.
//
// go-keyring's mock (used by the unit tests) replaces a process-wide
// provider for good, so the checks run in a fresh child process of this test
// binary, pointed at the private keyring.
func TestE2EKeyring(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		env := keyringtest.Start(t)
		cmd := exec.Command(os.Args[0], "-test.run=^TestE2EKeyring$", "-test.v", "-test.count=1")
		cmd.Env = append(append(os.Environ(), env.Vars()...), childEnv+"="+env.Home)
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("keyring checks failed: %v", err)
		}
		return
	}
	keyringChecks(t, os.Getenv(childEnv))
}

const childEnv = "ZAITAKU_E2E_KEYRING_HOME"

func keyringChecks(t *testing.T, home string) {

	noSecret := errors.New("no secret")
	s := keyring.New(keyring.WithNotFound(noSecret))
	if _, err := s.Get("refresh_token"); !errors.Is(err, keyring.ErrNotFound) || !errors.Is(err, noSecret) {
		t.Fatalf("Get before Set: %v, want not found", err)
	}
	secrets := map[string]string{
		"refresh_token": "rt-0123456789abcdef",
		"device_key":    "ZWQyNTUxOSBwcml2YXRlIGtleSBieXRlcyAodGVzdCk=",
		"device_id":     "dev-42",
	}
	for k, v := range secrets {
		if err := s.Set(k, v); err != nil {
			t.Fatalf("Set %s: %v", k, err)
		}
	}
	if err := s.Set("refresh_token", "rt-rotated"); err != nil {
		t.Fatalf("Set (replace): %v", err)
	}
	secrets["refresh_token"] = "rt-rotated"
	for k, want := range secrets {
		if got, err := s.Get(k); err != nil || got != want {
			t.Fatalf("Get %s = %q, %v; want %q", k, got, err, want)
		}
	}

	// Another service's entries must survive our wipe.
	other := keyring.New(keyring.WithService("zaitaku-e2e-other"))
	if err := other.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("device_id"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("device_id"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if err := s.Wipe(); err != nil {
		t.Fatalf("Wipe: %v", err)
	}
	for k := range secrets {
		if _, err := s.Get(k); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("Get %s after Wipe: %v", k, err)
		}
	}
	if v, err := other.Get("k"); err != nil || v != "v" {
		t.Fatalf("other service after Wipe: %q, %v", v, err)
	}

	// The secrets lived in the keyring file, never in a plain file of ours.
	files, _ := filepath.Glob(filepath.Join(home, ".local", "share", "keyrings", "*.keyring"))
	if len(files) == 0 {
		t.Fatal("no keyring file written under the temporary HOME")
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "rt-rotated") {
			t.Fatalf("%s holds the token in clear text", f)
		}
	}
	if out, err := exec.Command("ls", "-la", filepath.Dir(files[0])).CombinedOutput(); err == nil {
		t.Logf("keyring dir:\n%s", out)
	}
}
