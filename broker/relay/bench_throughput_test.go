package relay_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// benchRuns is how many times each relay figure is measured; the BENCH
// line is the median, with the spread beside it, so that one noisy run on
// a shared machine does not decide.
const benchRuns = 3

// BenchmarkRelayThroughputVsSSH compares one iperf3 stream through the
// real tunnel path (app-side listener → TLS tunnel → broker binary →
// target) with the same stream through `ssh -L` (aes128-gcm) to a private
// sshd, both on loopback, in the same run. Each side of each path runs in
// a process of its own, as ssh and sshd do. The two paths alternate,
// benchRuns times.
func BenchmarkRelayThroughputVsSSH(b *testing.B) {
	needSSHAndIperf(b)
	const seconds = 10
	for range b.N {
		iperfPort := startIperfServer(b)
		target := net.JoinHostPort("127.0.0.1", strconv.Itoa(iperfPort))

		// The tunnel, exactly as the app runs it, to the broker binary.
		_, users := grantedSlots(b, "tput", []string{target})
		keepLeases(b, users)
		u := users[0]
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		fwd := &tunnel.Forwarder{Dial: func(ctx context.Context) (net.Conn, error) { return u.c.DialTunnel(ctx, u.slot) }}
		done := make(chan error, 1)
		go func() { done <- fwd.Serve(ctx, ln) }()
		tunnelPort := ln.Addr().(*net.TCPAddr).Port

		// The forward first, then a fresh iperf3 server behind it: a probe
		// of the forward must not reach iperf3, which takes any connection
		// for a test and stays busy with it for a while.
		iperfPort2 := freePort(b)
		sshPort := startSSHForward(b, net.JoinHostPort("127.0.0.1", strconv.Itoa(iperfPort2)))
		startIperfServerOn(b, iperfPort2)

		var up, down, tunUp, sshUp []float64
		for range benchRuns {
			tput := iperf(b, tunnelPort, seconds)
			tputDown := iperf(b, tunnelPort, seconds, "-R")
			ssh := iperf(b, sshPort, seconds)
			sshDown := iperf(b, sshPort, seconds, "-R")
			up, down = append(up, tput/ssh), append(down, tputDown/sshDown)
			tunUp, sshUp = append(tunUp, tput/1e6), append(sshUp, ssh/1e6)
		}
		cancel()
		<-done
		report("relay.throughput_vs_ssh", "ratio", "target>=1.0", up)
		report("relay.throughput_vs_ssh_download", "ratio", "", down)
		report("relay.tunnel_mbit_s", "Mbit/s", "", tunUp)
		report("relay.ssh_mbit_s", "Mbit/s", "", sshUp)
		fmt.Printf("BENCH %s %d %s\n", "relay.iperf3_seconds", seconds, "s")
		fmt.Printf("BENCH %s %d %s\n", "relay.runs", benchRuns, "runs")
		fmt.Printf("BENCH %s %d %s\n", "relay.copy_buffer_kib", tunnel.CopyBufferMax>>10, "KiB")
		fmt.Printf("BENCH %s %d %s\n", "relay.socket_buffer_kib", tunnel.SocketBuffer>>10, "KiB")
	}
}

// report prints a figure measured several times: the median on the
// figure's own line (with its target), then its spread, min and max.
func report(name, unit, target string, runs []float64) {
	s := append([]float64(nil), runs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	line := fmt.Sprintf("BENCH %s %.3g %s", name, med, unit)
	if target != "" {
		line += " " + target
	}
	fmt.Println(line)
	fmt.Printf("BENCH %s_spread %.3g %s\n", name, s[len(s)-1]-s[0], unit)
	fmt.Printf("BENCH %s_min %.3g %s\n", name, s[0], unit)
	fmt.Printf("BENCH %s_max %.3g %s\n", name, s[len(s)-1], unit)
}

func needSSHAndIperf(b *testing.B) {
	b.Helper()
	for bin, pkg := range map[string]string{"iperf3": "iperf3", "ssh": "openssh-client", "ssh-keygen": "openssh-client", "/usr/sbin/sshd": "openssh-server"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Fatalf("%s not found: install the Debian package %s", bin, pkg)
		}
	}
}

const benchSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// benchUser is a signed-in staff client with a granted slot.
type benchUser struct {
	c    *api.Client
	slot string
}

// grantedSlots runs the broker binary in its own process, as in
// production (its goroutines must not share a scheduler with the app
// side's), with one staff account per target, each paired with the
// office PC at that target, signed in and holding a granted slot.
func grantedSlots(b *testing.B, prefix string, targets []string) (*brokertest.Process, []benchUser) {
	b.Helper()
	p := brokertest.StartProcess(b, func(db *daemon.Broker) {
		ctx := context.Background()
		a := db.Services.Auth
		for i, target := range targets {
			id := fmt.Sprintf("%s%03d", prefix, i)
			host, port, _ := net.SplitHostPort(target)
			rdpPort, _ := strconv.Atoi(port)
			if _, err := a.CreateUser(ctx, "bench", api.CreateUserRequest{ID: id, Name: id, Department: "総務課", Roles: []api.Role{api.RoleStaff}}); err != nil {
				b.Fatal(err)
			}
			if err := a.SetUserPassword(ctx, "bench", id, brokertest.Password, false); err != nil {
				b.Fatal(err)
			}
			if err := a.SetTOTPSecret(ctx, id, benchSecret, false); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Services.Terminals.Create(ctx, "bench", api.CreateTerminalRequest{Name: id, Address: host, RDPPort: rdpPort, UserID: id}); err != nil {
				b.Fatal(err)
			}
		}
		cp := len(targets) + 10
		if _, err := db.Services.Slots.SetPolicy(ctx, "bench", api.SlotConfigUpdate{Cap: &cp}); err != nil {
			b.Fatal(err)
		}
	})
	ctx := context.Background()
	users := make([]benchUser, len(targets))
	for i := range users {
		c, err := api.NewClient(p.URL, api.ClientOptions{Pins: []string{p.Pin}})
		if err != nil {
			b.Fatal(err)
		}
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		c.SetSigner(func(msg []byte) []byte { return ed25519.Sign(key, msg) })
		code, _ := auth.TOTPCode(benchSecret, time.Now())
		if _, err := c.Login(ctx, api.LoginRequest{StaffID: fmt.Sprintf("%s%03d", prefix, i), Password: brokertest.Password, OTP: code,
			Device: api.DeviceInfo{Name: "bench", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}}); err != nil {
			b.Fatal(err)
		}
		slot, err := c.RequestSlot(ctx, api.SlotRequest{Device: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if slot.State != api.SlotGranted {
			b.Fatalf("user %d: slot %s (cap too low?)", i, slot.State)
		}
		users[i] = benchUser{c, slot.ID}
	}
	return p, users
}

// keepLeases renews the users' slot leases (90 s) every 20 s until the
// bench ends, as the app does with its heartbeats, for benches that run
// longer than a lease.
func keepLeases(b *testing.B, users []benchUser) {
	stop := make(chan struct{})
	b.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Second):
			}
			for _, u := range users {
				_, _ = u.c.Heartbeat(context.Background(), u.slot, api.HeartbeatRequest{Active: true})
			}
		}
	}()
}

// iperf runs one iperf3 client stream to 127.0.0.1:port and returns the
// bits per second the server received.
func iperf(b testing.TB, port, seconds int, extra ...string) float64 {
	b.Helper()
	args := append([]string{"-c", "127.0.0.1", "-p", strconv.Itoa(port), "-t", strconv.Itoa(seconds), "-J"}, extra...)
	out, err := exec.Command("iperf3", args...).Output()
	if err != nil {
		b.Fatalf("iperf3 through port %d: %v\n%s", port, err, out)
	}
	var r struct {
		End struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Error != "" || r.End.SumReceived.BitsPerSecond == 0 {
		b.Fatalf("iperf3 through port %d: %v %s", port, err, r.Error)
	}
	return r.End.SumReceived.BitsPerSecond
}

// startSSHForward runs a private sshd on loopback and `ssh -N -L` to
// target through it; it returns the forward's local port.
func startSSHForward(b testing.TB, target string) int {
	b.Helper()
	dir := b.TempDir()
	for _, k := range []string{"host", "user"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			b.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "user.pub"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		b.Fatal(err)
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		b.Fatalf("sshd needs /run/sshd: %v", err)
	}
	sshdPort := freePort(b)
	cfg := filepath.Join(dir, "sshd_config")
	conf := strings.Join([]string{
		"Port " + strconv.Itoa(sshdPort), "ListenAddress 127.0.0.1", "HostKey " + filepath.Join(dir, "host"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"), "PidFile " + filepath.Join(dir, "sshd.pid"),
		"StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password", "AllowTcpForwarding yes", "Compression no", "LogLevel ERROR", "",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	startCmd(b, "/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	waitListening(b, sshdPort)
	local := freePort(b)
	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	startCmd(b, "ssh", "-N", "-c", "aes128-gcm@openssh.com", "-o", "Compression=no",
		"-L", fmt.Sprintf("127.0.0.1:%d:%s", local, target),
		"-p", strconv.Itoa(sshdPort), "-i", filepath.Join(dir, "user"),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
		"-o", "ExitOnForwardFailure=yes", user+"@127.0.0.1")
	waitListening(b, local)
	return local
}

// startIperfServer starts iperf3 -s on a free port. Readiness comes from
// its own output: a probe connection would count as a (failed) test.
func startIperfServer(b testing.TB) int {
	b.Helper()
	port := freePort(b)
	startIperfServerOn(b, port)
	return port
}

func startIperfServerOn(b testing.TB, port int) {
	b.Helper()
	// stdbuf: iperf3 buffers its output when it goes to a pipe.
	cmd := exec.Command("stdbuf", "-oL", "iperf3", "-s", "-p", strconv.Itoa(port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("iperf3: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server listening on") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			b.Fatal("iperf3 -s exited")
		}
	case <-time.After(15 * time.Second):
		b.Fatal("iperf3 -s did not start")
	}
}

func startCmd(b testing.TB, name string, args ...string) *exec.Cmd {
	b.Helper()
	cmd := exec.Command(name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func freePort(b testing.TB) int {
	b.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListening waits for a program to accept connections (the limit
// guards against one that never starts).
func waitListening(b testing.TB, port int) {
	b.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	b.Fatalf("nothing listens on %s", addr)
}
