package brokertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// BrokerBinary builds broker/cmd/broker once per test process (CGO off, as
// shipped) and returns its path.
func BrokerBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zaitaku-broker-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "broker")
		cmd := exec.Command("go", "build", "-o", buildPath, "./broker/cmd/broker")
		cmd.Dir = RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build broker: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Process is a broker running as the real binary.
type Process struct {
	URL, Fingerprint, Pin, DataDir string
	Cmd                            *exec.Cmd
	Log                            *SyncBuffer
	args                           []string
	t                              testing.TB
}

// StartProcess seeds a data directory in process (seed may be nil), then
// runs the broker binary on it. The process is killed when the test ends.
func StartProcess(t testing.TB, seed func(b *daemon.Broker), args ...string) *Process {
	t.Helper()
	dir := t.TempDir()
	if seed != nil {
		cfg := daemon.DefaultConfig()
		cfg.Data = dir
		// Seeding needs no meeting media: the default ports (:8443,
		// :3478) may be another test's or a running broker's.
		cfg.MeetUDP, cfg.MeetTURNTCP, cfg.MeetTURNTLS = "off", "off", "off"
		b, err := daemon.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), daemon.Options{Argon2: auth.TestArgon2})
		if err != nil {
			t.Fatal(err)
		}
		seed(b)
		b.Close()
	}
	return StartProcessOn(t, dir, args...)
}

// StartProcessOn runs the broker binary on the data directory dir as it
// is (e.g. one holding only the secret.key of brokers sharing a
// PostgreSQL database). The process is killed when the test ends.
func StartProcessOn(t testing.TB, dir string, args ...string) *Process {
	t.Helper()
	p := &Process{DataDir: dir, args: args, t: t, Log: &SyncBuffer{}}
	p.start()
	t.Cleanup(func() { p.Kill() })
	return p
}

func (p *Process) start() {
	t := p.t
	t.Helper()
	listen := "127.0.0.1:0"
	if p.URL != "" {
		// Restart on the same address, so clients reconnect as in production.
		listen = strings.TrimPrefix(p.URL, "https://")
	}
	// Limits off, as in Start; a test's own args come later and win.
	args := append([]string{"serve", "-data", p.DataDir, "-listen", listen, "-login-rate", "off", "-refresh-rate", "off", "-meet-udp", "127.0.0.1:0", "-meet-turn-tcp", "127.0.0.1:0"}, p.args...)
	cmd := exec.Command(BrokerBinary(t), args...)
	cmd.Stderr = p.Log
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.Cmd = cmd
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.Log.Write([]byte(line + "\n"))
			if _, u, ok := strings.Cut(line, "serving on "); ok {
				p.URL = strings.TrimSpace(u)
			}
			if _, pin, ok := strings.Cut(line, "SPKI): "); ok {
				p.Pin = strings.TrimSpace(pin)
			}
			if _, fp, ok := strings.Cut(line, "fingerprint: "); ok {
				p.Fingerprint = strings.TrimSpace(fp)
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		p.Kill()
		t.Fatalf("broker process did not start within 30s; its log:\n%s", p.Log.String())
	}
}

// Kill sends SIGKILL (no graceful shutdown) and waits for the process.
func (p *Process) Kill() {
	if p.Cmd != nil && p.Cmd.Process != nil && p.Cmd.ProcessState == nil {
		_ = p.Cmd.Process.Signal(syscall.SIGKILL)
		_ = p.Cmd.Wait()
	}
}

// Terminate sends SIGTERM (graceful shutdown) and waits.
func (p *Process) Terminate() error {
	if p.Cmd == nil || p.Cmd.ProcessState != nil {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	return p.Cmd.Wait()
}

// Restart starts the binary again on the same data directory and address.
func (p *Process) Restart() {
	p.t.Helper()
	p.Kill()
	p.start()
}

// SyncBuffer is a goroutine-safe log buffer (a child process writes its
// stdout and stderr into it from two goroutines while the test reads).
type SyncBuffer struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex // guards b
	b   []byte
	max int
}

func (s *tailBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	if over := len(s.b) - s.max; over > 0 {
		s.b = append(s.b[:0], s.b[over:]...)
	}
	return len(p), nil
}

func (s *tailBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
