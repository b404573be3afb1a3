package releasetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// releaseScript runs packaging/release.sh with only the given ZAITAKU_*
// and VERSION settings, into a temporary DIST.
func releaseScript(t *testing.T, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join("..", "release.sh"))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ZAITAKU_") && !strings.HasPrefix(e, "VERSION=") && !strings.HasPrefix(e, "DIST=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, append([]string{"DIST=" + filepath.Join(t.TempDir(), "dist")}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestReleaseRefuses: the recipe stops before building anything without a
// signing key, with one inside the checkout, with a version the update
// cannot order, or without the self-update's root key for the apps.
func TestReleaseRefuses(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "release.key")
	if err := os.WriteFile(outside, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"no signing key", nil, "set ZAITAKU_SIGNING_KEY"},
		{"key in the checkout", []string{"ZAITAKU_SIGNING_KEY=" + filepath.Join("..", "..", "go.mod")}, "must live outside the checkout"},
		{"unreadable key", []string{"ZAITAKU_SIGNING_KEY=" + outside + ".missing"}, "is not readable"},
		{"bad version", []string{"VERSION=1.4", "ZAITAKU_SIGNING_KEY=" + outside}, "use MAJOR.MINOR.PATCH"},
		{"no update root", []string{"ZAITAKU_SIGNING_KEY=" + outside}, "set ZAITAKU_UPDATE_ROOTS"},
		{"update root file without a key", []string{"ZAITAKU_SIGNING_KEY=" + outside, "ZAITAKU_UPDATE_ROOTS=" + outside}, "holds no minisign public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := releaseScript(t, tc.env...)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("release.sh: %v, want a refusal saying %q:\n%s", err, tc.want, out)
			}
			if strings.Contains(out, "release: broker") {
				t.Fatalf("it built before refusing:\n%s", out)
			}
		})
	}
}
