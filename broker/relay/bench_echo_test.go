package relay_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// BenchmarkRelayEchoP99VsSSH measures what a keystroke or a mouse move
// feels like: 100-byte request/response round trips, paced as input is,
// through the real tunnel path (app-side listener → TLS tunnel → broker
// binary → an echo server) and through `ssh -L` to the same echo server.
// The two paths take turns trip by trip, so that whatever else the machine
// does at a moment falls on both alike; benchRuns runs. The figure is the
// tunnel's p99 ÷ ssh's p99.
func BenchmarkRelayEchoP99VsSSH(b *testing.B) {
	needSSHAndIperf(b)
	const (
		trips = 3000
		size  = 100
		pace  = time.Millisecond // about what a fast typist and a moving mouse send
	)
	for range b.N {
		echo := echoServer(b)
		_, users := grantedSlots(b, "echo", []string{echo})
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
		sshPort := startSSHForward(b, echo)

		var ratios, tunP99, sshP99, tunP50, sshP50 []float64
		for range benchRuns {
			tun, ssh := roundTrips(b, ln.Addr().(*net.TCPAddr).Port, sshPort, trips, size, pace)
			ratios = append(ratios, float64(tun.p99)/float64(ssh.p99))
			tunP99, sshP99 = append(tunP99, us(tun.p99)), append(sshP99, us(ssh.p99))
			tunP50, sshP50 = append(tunP50, us(tun.p50)), append(sshP50, us(ssh.p50))
		}
		cancel()
		<-done
		report("relay.echo_p99_vs_ssh", "ratio", "target<=1.0", ratios)
		report("relay.echo_p99_tunnel_us", "µs", "", tunP99)
		report("relay.echo_p99_ssh_us", "µs", "", sshP99)
		report("relay.echo_p50_tunnel_us", "µs", "", tunP50)
		report("relay.echo_p50_ssh_us", "µs", "", sshP50)
		fmt.Printf("BENCH %s %d %s\n", "relay.echo_trips", trips, "trips")
		fmt.Printf("BENCH %s %d %s\n", "relay.echo_bytes", size, "B")
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

type latencies struct{ p50, p99 time.Duration }

// roundTrips sends n requests of size bytes through each of two local
// ports, taking turns, one trip every pace, each after the previous
// answer, and returns each path's percentiles.
func roundTrips(b *testing.B, portA, portB, n, size int, pace time.Duration) (a, bb latencies) {
	b.Helper()
	dial := func(port int) net.Conn {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			b.Fatal(err)
		}
		_ = c.(*net.TCPConn).SetNoDelay(true)
		return c
	}
	conns := []net.Conn{dial(portA), dial(portB)}
	defer conns[0].Close()
	defer conns[1].Close()
	req, resp := make([]byte, size), make([]byte, size)
	for i := range req {
		req[i] = byte(i)
	}
	// A few trips first: the tunnel's TLS handshake and ssh's channel
	// setup are not what a keystroke waits for.
	rtts := [2][]time.Duration{make([]time.Duration, 0, n), make([]time.Duration, 0, n)}
	for i := range 2 * (n + 50) {
		k := i % 2
		start := time.Now()
		if _, err := conns[k].Write(req); err != nil {
			b.Fatalf("echo write: %v", err)
		}
		if _, err := io.ReadFull(conns[k], resp); err != nil {
			b.Fatalf("echo read: %v", err)
		}
		if i >= 100 {
			rtts[k] = append(rtts[k], time.Since(start))
		}
		time.Sleep(pace)
	}
	pct := func(d []time.Duration) latencies {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return latencies{p50: d[len(d)/2], p99: d[len(d)*99/100]}
	}
	return pct(rtts[0]), pct(rtts[1])
}

// echoServer echoes every connection; it returns its address.
func echoServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*net.TCPConn).SetNoDelay(true)
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}
