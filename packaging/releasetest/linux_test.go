package releasetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDesktopFileValid: the menu entry in the recipe passes
// desktop-file-validate.
func TestDesktopFileValid(t *testing.T) {
	needTools(t, "desktop-file-validate:desktop-file-utils")
	validate(t, filepath.Join("..", "linux", "jp.lg.zaitaku.desktop"))
}

func validate(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("desktop-file-validate", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("desktop-file-validate %s: %v\n%s", path, err, out)
	}
}

// TestE2ELinuxTarball unpacks the Linux tarball, checks what it holds,
// installs it for a user (a temporary HOME) with its install.sh, checks
// the installed menu entry with desktop-file-validate and runs the
// installed app, upgrades over it, and uninstalls.
func TestE2ELinuxTarball(t *testing.T) {
	needTools(t, "desktop-file-validate:desktop-file-utils", "tar:tar", "xz:xz-utils")
	r := BuildRelease(t)
	dir := t.TempDir()
	run(t, "tar", "-C", dir, "-xJf", r.path("zaitaku-{v}-linux-amd64.tar.xz"))
	top := filepath.Join(dir, "zaitaku-"+r.Version+"-linux-amd64")
	listing := run(t, "tar", "-tvJf", r.path("zaitaku-{v}-linux-amd64.tar.xz"))
	_ = os.WriteFile(filepath.Join(artifacts(), "linux-tarball.txt"), []byte(listing), 0o644)
	for _, l := range strings.Split(strings.TrimSpace(listing), "\n") {
		if !strings.Contains(l, " 0/0 ") {
			t.Errorf("tarball entry not owned by 0/0: %s", l)
		}
	}
	for _, f := range []string{"zaitaku", "install.sh", "jp.lg.zaitaku.desktop", "README.txt", "zaitaku-app.json",
		"icons/hicolor/scalable/apps/jp.lg.zaitaku.svg", "icons/hicolor/48x48/apps/jp.lg.zaitaku.png", "icons/hicolor/256x256/apps/jp.lg.zaitaku.png"} {
		if _, err := os.Stat(filepath.Join(top, f)); err != nil {
			t.Errorf("tarball lacks %s", f)
		}
	}
	if sha256File(t, filepath.Join(top, "zaitaku")) != sha256File(t, r.path("zaitaku-{v}-linux-amd64")) {
		t.Error("the tarball's zaitaku is not the release's linux binary")
	}
	validate(t, filepath.Join(top, "jp.lg.zaitaku.desktop"))

	home := filepath.Join(t.TempDir(), "home of staff") // a space, as some homes have
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	install := func(args ...string) string {
		cmd := exec.Command(filepath.Join(top, "install.sh"), args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Log(install())
	data := filepath.Join(home, ".local", "share")
	installed := []string{
		filepath.Join(data, "zaitaku", "zaitaku"),
		filepath.Join(data, "zaitaku", "zaitaku-app.json"),
		filepath.Join(data, "applications", "jp.lg.zaitaku.desktop"),
		filepath.Join(data, "icons", "hicolor", "128x128", "apps", "jp.lg.zaitaku.png"),
		filepath.Join(data, "icons", "hicolor", "scalable", "apps", "jp.lg.zaitaku.svg"),
		filepath.Join(home, ".local", "bin", "zaitaku"),
	}
	for _, p := range installed {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("not installed: %s", p)
		}
	}
	desktop := filepath.Join(data, "applications", "jp.lg.zaitaku.desktop")
	validate(t, desktop)
	b, _ := os.ReadFile(desktop)
	exe := filepath.Join(data, "zaitaku", "zaitaku")
	if !strings.Contains(string(b), "\nExec=\""+exe+"\"\n") || !strings.Contains(string(b), "\nTryExec="+exe+"\n") {
		t.Errorf("installed entry does not start %s:\n%s", exe, b)
	}
	// The user owns the binary, so the app can replace it when it updates.
	if st, err := os.Stat(exe); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("installed binary: %v, mode %v, want 0755", err, st.Mode())
	}
	out, _ := exec.Command(filepath.Join(home, ".local", "bin", "zaitaku"), "-h").CombinedOutput()
	if !strings.Contains(string(out), "-broker") {
		t.Errorf("installed zaitaku -h:\n%s", out)
	}

	install() // an upgrade over an install
	t.Log(install("--uninstall"))
	for _, p := range installed {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("left after --uninstall: %s", p)
		}
	}
}
