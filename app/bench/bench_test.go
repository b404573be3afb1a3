package bench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/ui/uitest"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/platform/keyring/keyringtest"
)

// runs is how many timed starts each program gets (after one warm-up that
// fills Fyne's font cache and the page cache, so both sides start equal).
const runs = 11

func build(b *testing.B, dir, name, pkg string) string {
	b.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = brokertest.RepoRoot(b)
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, o)
	}
	return out
}

// startToReady runs bin and returns the time from exec to its
// "ZAITAKU_READY" line (the window exists and the Fyne loop runs).
func startToReady(b *testing.B, env []string, bin string, args ...string) time.Duration {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "ZAITAKU_READY" {
			return time.Since(t0)
		}
	}
	b.Fatalf("%s never became ready: %v\n%s", filepath.Base(bin), sc.Err(), stderr.String())
	return 0
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkAppColdstart times the app from process start to its login window
// against a bare Fyne window with the same Japanese label, alternating the
// two so a noisy machine hits both alike. Prints app.coldstart_vs_bare and
// app.coldstart_s.
func BenchmarkAppColdstart(b *testing.B) {
	uitest.Need(b, map[string]string{"Xvfb": "xvfb"})
	dir := b.TempDir()
	app := build(b, dir, "zaitaku", ".")
	bare := build(b, dir, "bare", "./app/bench/bare")
	br := brokertest.Start(b)
	kr := keyringtest.Start(b)
	display := uitest.StartXvfb(b, 1024, 800)
	home := filepath.Join(dir, "home")
	env := append(os.Environ(), kr.Vars()...)
	env = append(env, "DISPLAY="+display, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "ZAITAKU_BENCH_READY=1", "LANG=ja_JP.UTF-8")
	appArgs := []string{"-broker", br.URL, "-fingerprint", br.Fingerprint, "-device", "bench", "-lang", "ja",
		"-data", filepath.Join(home, "data")}

	startToReady(b, env, bare)
	startToReady(b, env, app, appArgs...)
	var tApp, tBare []time.Duration
	b.ResetTimer()
	for range b.N {
		tApp, tBare = tApp[:0], tBare[:0]
		for range runs {
			tBare = append(tBare, startToReady(b, env, bare))
			tApp = append(tApp, startToReady(b, env, app, appArgs...))
		}
	}
	b.StopTimer()
	ma, mb := median(tApp), median(tBare)
	ratio := ma.Seconds() / mb.Seconds()
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(ma.Seconds(), "app-s")
	fmt.Printf("BENCH app.coldstart_vs_bare %.2f ratio target<=1.5\n", ratio)
	fmt.Printf("BENCH app.coldstart_s %.2f s target<=1\n", ma.Seconds())
	fmt.Printf("BENCH app.coldstart_bare_s %.2f s\n", mb.Seconds())
	fmt.Printf("BENCH app.coldstart_runs %d runs\n", runs)
}

// BenchmarkAppBinarySize builds the app as it ships (stripped, -trimpath)
// and prints app.binary_mb (10^6 bytes).
func BenchmarkAppBinarySize(b *testing.B) {
	var mb float64
	for range b.N {
		bin := build(b, b.TempDir(), "zaitaku", ".")
		fi, err := os.Stat(bin)
		if err != nil {
			b.Fatal(err)
		}
		mb = float64(fi.Size()) / 1e6
	}
	b.ReportMetric(mb, "MB")
	fmt.Printf("BENCH app.binary_mb %.1f MB target<=30\n", mb)
}
