package relay_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// BenchmarkRelayCPU300x1Mbit measures the cores the broker (the real
// binary, in its own process) uses to carry 300 tunnels at 1 Mbit/s each,
// shaped like RDP: 0.9 Mbit/s from the office PC, 0.1 Mbit/s to it.
func BenchmarkRelayCPU300x1Mbit(b *testing.B) {
	const (
		tunnels  = 300
		tick     = 100 * time.Millisecond
		downBps  = 900_000 / 8 // bytes per second per tunnel
		upBps    = 100_000 / 8
		warmup   = 2 * time.Second
		measured = 10 * time.Second
	)
	for range b.N {
		// The office PCs: each sends its share every tick and drains what
		// it receives.
		var received atomic.Int64
		pcs := make([]net.Listener, tunnels)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		defer func() {
			close(stop)
			for _, ln := range pcs {
				if ln != nil {
					ln.Close()
				}
			}
			wg.Wait()
		}()
		for i := range pcs {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			pcs[i] = ln
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						paced(c, downBps*int(tick)/int(time.Second), tick, stop, nil)
					}()
				}
			}()
		}
		targets := make([]string, tunnels)
		for i, ln := range pcs {
			targets[i] = ln.Addr().String()
		}
		p, users := grantedSlots(b, "cpu", targets)
		ctx := context.Background()
		conns := make([]net.Conn, tunnels)
		for i, u := range users {
			conn, err := u.c.DialTunnel(ctx, u.slot)
			if err != nil {
				b.Fatalf("tunnel %d: %v", i, err)
			}
			conns[i] = conn
			wg.Add(1)
			go func() {
				defer wg.Done()
				paced(conn, upBps*int(tick)/int(time.Second), tick, stop, &received)
			}()
		}
		// Leases last 90 s: renew them all before measuring.
		for _, u := range users {
			if _, err := u.c.Heartbeat(ctx, u.slot, api.HeartbeatRequest{Active: true}); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(warmup)
		pid := p.Cmd.Process.Pid
		var cores, downs []float64
		for range benchRuns {
			t0, r0, start := brokertest.CPUTime(b, pid), received.Load(), time.Now()
			time.Sleep(measured)
			t1, r1, wall := brokertest.CPUTime(b, pid), received.Load(), time.Since(start)
			downMbit := float64(r1-r0) * 8 / wall.Seconds() / 1e6
			if want := float64(tunnels*downBps*8) / 1e6; downMbit < 0.9*want {
				b.Fatalf("the tunnels carried %.0f Mbit/s down, want about %.0f: the figure would flatter the broker", downMbit, want)
			}
			cores = append(cores, (t1-t0).Seconds()/wall.Seconds())
			downs = append(downs, downMbit)
		}
		for _, c := range conns {
			c.Close()
		}
		report("relay.cpu_300x1mbit", "cores", "target<=0.25", cores)
		fmt.Printf("BENCH %s %d %s\n", "relay.cpu_tunnels", tunnels, "tunnels")
		fmt.Printf("BENCH %s %d %s\n", "relay.cpu_mbit_per_tunnel", 1, "Mbit/s")
		report("relay.cpu_down_mbit_s_measured", "Mbit/s", "", downs)
		fmt.Printf("BENCH %s %.3g %s\n", "relay.cpu_window_s", measured.Seconds(), "s")
	}
}

// paced writes chunk bytes every tick and counts what it reads, until stop
// or the connection ends.
func paced(c net.Conn, chunk int, tick time.Duration, stop <-chan struct{}, read *atomic.Int64) {
	defer c.Close()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if read != nil {
				read.Add(int64(n))
			}
			if err != nil {
				if err != io.EOF {
					c.Close()
				}
				return
			}
		}
	}()
	payload := make([]byte, chunk)
	_, _ = rand.Read(payload)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if _, err := c.Write(payload); err != nil {
				return
			}
		}
	}
}
