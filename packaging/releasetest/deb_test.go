package releasetest

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
)

const (
	debPkg   = "zaitaku-broker"
	unitPath = "/lib/systemd/system/zaitaku-broker.service"
	dataDir  = "/var/lib/zaitaku"
)

// dpkg runs dpkg, waiting while another apt or dpkg holds its lock.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, err := exec.Command("dpkg", args...).CombinedOutput()
		if err == nil {
			return string(out)
		}
		if strings.Contains(string(out), "lock") && time.Now().Before(deadline) {
			time.Sleep(3 * time.Second)
			continue
		}
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func debInstalled() bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", debPkg).Output()
	return err == nil && strings.Contains(string(out), "installed") && !strings.Contains(string(out), "not-installed")
}

// unitValues reads Key=Value lines of a unit's [Service] section.
func unitValues(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vals := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = l
		case section == "[Service]":
			k, v, _ := strings.Cut(l, "=")
			vals[k] = append(vals[k], v)
		}
	}
	return vals
}

// brokerRun is the unit's ExecStart started by hand.
type brokerRun struct {
	cmd  *exec.Cmd
	pin  string
	addr string
	out  *lockedBuffer
	done chan error
}

// startAsUnit runs the unit's ExecStart as its User and Group the way
// systemd would: from /, with the unit's UMask, a small environment, the
// listen address moved to a free loopback port (the environment wins over
// the config file, as a drop-in's Environment= would).
func startAsUnit(t *testing.T, unit map[string][]string) *brokerRun {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	exec_ := strings.Fields(unit["ExecStart"][0])
	args := append([]string{"--reuid=" + unit["User"][0], "--regid=" + unit["Group"][0], "--init-groups", "--inh-caps=-all", "--"}, exec_...)
	script := "umask " + unit["UMask"][0] + " && exec setpriv \"$@\""
	cmd := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"HOME=" + dataDir, "USER=" + unit["User"][0], "LOGNAME=" + unit["User"][0], "ZAITAKU_LISTEN=" + addr,
		// Meeting media on free loopback ports too, like the listener.
		"ZAITAKU_MEET_UDP=127.0.0.1:0", "ZAITAKU_MEET_TURN_TCP=127.0.0.1:0"}
	b := &brokerRun{cmd: cmd, addr: addr, out: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { b.done <- cmd.Wait() }()
	t.Cleanup(func() { b.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for b.pin == "" {
		select {
		case err := <-b.done:
			t.Fatalf("the broker exited before it served: %v\n%s", err, b.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		for _, l := range strings.Split(b.out.String(), "\n") {
			if v, ok := strings.CutPrefix(l, "Public key pin (SHA-256 of SPKI): "); ok {
				b.pin = strings.TrimSpace(v)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no key pin printed within a minute:\n%s", b.out.String())
		}
	}
	return b
}

func (b *brokerRun) stop(t *testing.T) error {
	if b.cmd.ProcessState != nil {
		return nil
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-b.done:
		return err
	case <-time.After(45 * time.Second): // the unit's TimeoutStopSec
		_ = b.cmd.Process.Kill()
		return fmt.Errorf("the broker did not stop on SIGTERM within 45 s:\n%s", b.out.String())
	}
}

// get fetches a path over TLS that must present the printed key pin.
func (b *brokerRun) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, // the pin below is the check
		VerifyConnection: func(cs tls.ConnectionState) error {
			pin, err := api.CertKeyPin(cs.PeerCertificates[0].Raw)
			if err != nil || pin != b.pin {
				return fmt.Errorf("key pin %s (%v), want %s", pin, err, b.pin)
			}
			return nil
		}}}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+b.addr+path, nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// asUser runs a command as the broker's user.
func asUser(t *testing.T, name string, args ...string) string {
	t.Helper()
	return run(t, "setpriv", append([]string{"--reuid=zaitaku", "--regid=zaitaku", "--init-groups", "--", name}, args...)...)
}

// TestE2EBrokerDeb installs the broker .deb with dpkg and checks the
// system user, the directories and their modes; the unit passes
// `systemd-analyze verify` and its hardening `systemd-analyze security`;
// the unit's ExecStart, started by hand as the unit's user (no systemd
// runs here), serves /healthz and /readyz with the key pin it printed; the
// database is backed up online with sqlite3 while it serves and restored;
// zaitaku-admin works; `dpkg --purge` leaves nothing behind.
func TestE2EBrokerDeb(t *testing.T) {
	needTools(t, "dpkg:dpkg", "systemd-analyze:systemd", "setpriv:util-linux", "sqlite3:sqlite3", "adduser:adduser")
	if os.Geteuid() != 0 {
		t.Fatal("TestE2EBrokerDeb installs a package: run it as root (CI does)")
	}
	r := BuildRelease(t)
	if debInstalled() {
		t.Log("zaitaku-broker was installed (an earlier run?): purging it first")
		dpkg(t, "--purge", debPkg)
	}
	t.Cleanup(func() {
		if debInstalled() {
			_, _ = exec.Command("dpkg", "--purge", debPkg).CombinedOutput()
		}
	})
	evidence := &strings.Builder{}
	note := func(format string, args ...any) { fmt.Fprintf(evidence, format+"\n", args...) }
	defer func() {
		_ = os.WriteFile(filepath.Join(artifacts(), "broker-deb.txt"), []byte(evidence.String()), 0o644)
	}()

	deb := r.path("zaitaku-broker_{v}_amd64.deb")
	note("$ dpkg-deb --info\n%s", run(t, "dpkg-deb", "--info", deb))
	note("$ dpkg -i\n%s", dpkg(t, "-i", deb))
	files := strings.Fields(run(t, "dpkg-query", "-L", debPkg))
	note("$ dpkg -L\n%s", strings.Join(files, "\n"))

	// The system user, the data directory, the config.
	u, err := user.Lookup("zaitaku")
	if err != nil {
		t.Fatalf("no zaitaku user after install: %v", err)
	}
	if passwd := run(t, "getent", "passwd", "zaitaku"); !strings.HasSuffix(strings.TrimSpace(passwd), ":/var/lib/zaitaku:/usr/sbin/nologin") {
		t.Errorf("zaitaku user: %s (want home /var/lib/zaitaku, no login shell)", passwd)
	}
	if uid, _ := strconv.Atoi(u.Uid); uid >= 1000 || uid == 0 {
		t.Errorf("zaitaku uid %d is not a system uid", uid)
	}
	checkOwner(t, dataDir, u, "zaitaku", 0o750)
	checkOwner(t, "/etc/zaitaku/broker.json", nil, "zaitaku", 0o640)
	if !strings.Contains(run(t, "dpkg-query", "-W", "-f=${Conffiles}", debPkg), "/etc/zaitaku/broker.json") {
		t.Error("/etc/zaitaku/broker.json is not a conffile: an upgrade would overwrite IT's changes")
	}

	// The unit.
	verify, err := exec.Command("systemd-analyze", "verify", unitPath).CombinedOutput()
	note("$ systemd-analyze verify %s\n%s", unitPath, verify)
	if err != nil || len(strings.TrimSpace(string(verify))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, verify)
	}
	sec, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--threshold=20", unitPath).CombinedOutput()
	note("$ systemd-analyze security --offline=yes\n%s", sec)
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 (%v):\n%s", err, lastLines(string(sec), 2))
	}
	unit := unitValues(t, unitPath)
	for k, want := range map[string]string{"User": "zaitaku", "Group": "zaitaku", "NoNewPrivileges": "yes",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "ReadWritePaths": dataDir, "UMask": "0077"} {
		if got := unit[k]; len(got) != 1 || got[0] != want {
			t.Errorf("unit %s=%v, want %s", k, got, want)
		}
	}
	if _, err := os.Lstat("/etc/systemd/system/multi-user.target.wants/zaitaku-broker.service"); err != nil {
		t.Errorf("the unit is not enabled for boot: %v", err)
	}

	// The unit's ExecStart, by hand, as its user.
	b := startAsUnit(t, unit)
	note("broker output:\n%s", b.out.String())
	code, body := b.get(t, "/healthz")
	note("GET /healthz: %d %s", code, body)
	var h api.Health
	if code != 200 || json.Unmarshal(body, &h) != nil || h.Status != "ok" || h.Version != r.Version {
		t.Fatalf("GET /healthz = %d %s, want ok and version %s", code, body, r.Version)
	}
	if code, body := b.get(t, "/readyz"); code != 200 {
		t.Errorf("GET /readyz = %d %s (the database takes no writes?)", code, body)
	}
	for _, f := range []string{"zaitaku.db", "secret.key", "tls-key.pem"} {
		checkOwner(t, filepath.Join(dataDir, f), u, "zaitaku", 0o600)
	}
	note("$ zaitaku-admin users list\n%s", run(t, "/usr/sbin/zaitaku-admin", "users", "list"))

	// Online backup while it serves, as the README says.
	// Not under t.TempDir(), whose parent only root may enter.
	backups, err := os.MkdirTemp("", "zaitaku-backup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(backups) })
	if err := os.Chown(backups, mustAtoi(u.Uid), mustAtoi(u.Gid)); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(backups, 0o700)
	backup := filepath.Join(backups, "zaitaku.db")
	asUser(t, "sqlite3", filepath.Join(dataDir, "zaitaku.db"), ".backup '"+backup+"'")
	asUser(t, "sqlite3", filepath.Join(dataDir, "zaitaku.db"), "VACUUM INTO '"+filepath.Join(backups, "vacuumed.db")+"'")
	for _, db := range []string{backup, filepath.Join(backups, "vacuumed.db")} {
		if out := asUser(t, "sqlite3", db, "PRAGMA integrity_check"); strings.TrimSpace(out) != "ok" {
			t.Errorf("integrity_check of %s: %s", db, out)
		}
	}
	tables := asUser(t, "sqlite3", backup, "SELECT count(*) FROM sqlite_master WHERE type='table'")
	note("online backup: %s tables", strings.TrimSpace(tables))
	if n, _ := strconv.Atoi(strings.TrimSpace(tables)); n < 5 {
		t.Errorf("the backup holds %s tables", tables)
	}
	if err := b.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}

	// Restore: with the broker stopped, the backup replaces the database
	// (and its WAL), and the broker serves again with the same key.
	for _, f := range []string{"zaitaku.db-wal", "zaitaku.db-shm"} {
		_ = os.Remove(filepath.Join(dataDir, f))
	}
	asUser(t, "cp", backup, filepath.Join(dataDir, "zaitaku.db"))
	b2 := startAsUnit(t, unit)
	if b2.pin != b.pin {
		t.Errorf("key pin after restore %s, before %s", b2.pin, b.pin)
	}
	if code, body := b2.get(t, "/readyz"); code != 200 {
		t.Errorf("after restore: GET /readyz = %d %s", code, body)
	}
	if err := b2.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}

	// Upgrade: a newer package keeps IT's change to the config, the user
	// and the data (the same key pin).
	conf := "/etc/zaitaku/broker.json"
	orig, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(orig), `// "log_level": "info",`, `"log_level": "warn",`, 1)
	if edited == string(orig) {
		t.Fatal("the packaged config has no commented log_level line to switch on")
	}
	if err := os.WriteFile(conf, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	next := repackVersion(t, deb, "0.9.8")
	note("$ dpkg -i (upgrade to 0.9.8)\n%s", dpkg(t, "-i", next))
	if v := run(t, "dpkg-query", "-W", "-f=${Version}", debPkg); v != "0.9.8" {
		t.Errorf("version after upgrade %q", v)
	}
	if after, _ := os.ReadFile(conf); string(after) != edited {
		t.Errorf("the upgrade replaced IT's config:\n%s", after)
	}
	if u2, err := user.Lookup("zaitaku"); err != nil || u2.Uid != u.Uid {
		t.Errorf("zaitaku user after upgrade: %v %v (uid was %s)", u2, err, u.Uid)
	}
	checkOwner(t, "/etc/zaitaku/broker.json", nil, "zaitaku", 0o640)
	b3 := startAsUnit(t, unit)
	if b3.pin != b.pin {
		t.Errorf("key pin after upgrade %s, before %s", b3.pin, b.pin)
	}
	if code, body := b3.get(t, "/readyz"); code != 200 {
		t.Errorf("after upgrade: GET /readyz = %d %s", code, body)
	}
	if err := b3.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}

	// Purge: nothing of the package is left.
	note("$ dpkg --purge\n%s", dpkg(t, "--purge", debPkg))
	if debInstalled() {
		t.Error("still installed after dpkg --purge")
	}
	shared := map[string]bool{"/.": true, "/usr": true, "/usr/bin": true, "/usr/sbin": true, "/lib": true, "/lib/systemd": true,
		"/lib/systemd/system": true, "/etc": true, "/usr/share": true, "/usr/share/doc": true}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil && !shared[f] {
			t.Errorf("left after purge: %s", f)
		}
	}
	for _, p := range []string{dataDir, "/etc/zaitaku", "/etc/systemd/system/multi-user.target.wants/zaitaku-broker.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/zaitaku-broker.service",
		"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/zaitaku-broker.service",
		"/var/lib/systemd/deb-systemd-helper-masked/zaitaku-broker.service"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("left after purge: %s", p)
		}
	}
	if out, err := exec.Command("getent", "passwd", "zaitaku").Output(); err == nil {
		t.Errorf("user left after purge: %s", out)
	}
	if out, err := exec.Command("getent", "group", "zaitaku").Output(); err == nil {
		t.Errorf("group left after purge: %s", out)
	}
}

// repackVersion makes a copy of a .deb that says it is another version,
// to upgrade to.
func repackVersion(t *testing.T, deb, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pkg")
	run(t, "dpkg-deb", "-R", deb, dir)
	control := filepath.Join(dir, "DEBIAN", "control")
	b, err := os.ReadFile(control)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Version: ") {
			l = "Version: " + version
		}
		lines = append(lines, l)
	}
	if err := os.WriteFile(control, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "next.deb")
	run(t, "dpkg-deb", "--root-owner-group", "-Zxz", "-z1", "--build", dir, out)
	return out
}

func checkOwner(t *testing.T, path string, u *user.User, group string, mode os.FileMode) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	sys := st.Sys().(*syscall.Stat_t)
	g, _ := user.LookupGroupId(strconv.Itoa(int(sys.Gid)))
	if u != nil && strconv.Itoa(int(sys.Uid)) != u.Uid || g == nil || g.Name != group || st.Mode().Perm() != mode {
		t.Errorf("%s: uid %d gid %d mode %v, want owner %v group %s mode %v", path, sys.Uid, sys.Gid, st.Mode().Perm(), u, group, mode)
	}
}

func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
