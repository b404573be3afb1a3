package wake

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock moves forward by exactly the duration each timer asks for, so
// the waker's schedule runs without real waiting. onAfter (optional) runs
// before a timer fires, with the number of timers so far.
type fakeClock struct {
	mu      sync.Mutex // guards now, n
	now     time.Time
	n       int
	onAfter func(n int)
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.n++
	n := c.n
	c.now = c.now.Add(d)
	now := c.now
	hook := c.onAfter
	c.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	ch := make(chan time.Time, 1)
	ch <- now
	return ch
}

// nic stands in for the office PC's network card: a UDP listener that
// collects magic packets.
type nic struct {
	conn    *net.UDPConn
	packets chan []byte
}

func newNIC(t *testing.T) *nic {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n := &nic{conn: conn, packets: make(chan []byte, 16)}
	go func() {
		buf := make([]byte, 1500)
		for {
			k, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				close(n.packets)
				return
			}
			n.packets <- bytes.Clone(buf[:k])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return n
}

func (n *nic) addr() string { return n.conn.LocalAddr().String() }

// next waits for the next packet (the safety limit only guards against a
// hung test; it is not what the test asserts).
func (n *nic) next(t *testing.T) []byte {
	t.Helper()
	select {
	case p, ok := <-n.packets:
		if !ok {
			t.Fatal("nic closed")
		}
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no magic packet arrived")
		return nil
	}
}

// freeAddr returns a loopback address with nothing listening on it.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

var testMAC = net.HardwareAddr{0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e}

func wantPacket() []byte {
	p := bytes.Repeat([]byte{0xFF}, 6)
	for range 16 {
		p = append(p, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e)
	}
	return p
}

type recorder struct {
	mu     sync.Mutex // guards stages
	stages []string
}

func (r *recorder) progress(stage, _ string) {
	r.mu.Lock()
	r.stages = append(r.stages, stage)
	r.mu.Unlock()
}

func TestMagicPacket(t *testing.T) {
	tests := []struct {
		name    string
		mac     net.HardwareAddr
		want    []byte
		wantErr error
	}{
		{"six bytes", testMAC, wantPacket(), nil},
		{"eui-64 refused", net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}, nil, ErrBadMAC},
		{"empty refused", nil, nil, ErrBadMAC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := MagicPacket(tc.mac)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.want != nil && (len(p) != 102 || !bytes.Equal(p, tc.want)) {
				t.Fatalf("packet (%d bytes) = % x\nwant % x", len(p), p, tc.want)
			}
		})
	}
}

func TestWakeAlreadyUp(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var rec recorder
	w := &Waker{}
	if err := w.Wake(context.Background(), Target{Addr: ln.Addr().String(), MAC: testMAC, Broadcast: "127.0.0.1:9"}, rec.progress); err != nil {
		t.Fatal(err)
	}
	if want := []string{StageChecking, StageReady}; !slices.Equal(rec.stages, want) {
		t.Fatalf("stages = %v, want %v", rec.stages, want)
	}
}

func TestWakeComesUpLate(t *testing.T) {
	n := newNIC(t)
	rdp := freeAddr(t)
	up := make(chan net.Listener, 1)
	boot := make(chan struct{})
	var packet []byte
	go func() {
		// The PC starts booting when its card sees the packet, and
		// answers once the test says its boot time has passed.
		p, ok := <-n.packets
		if !ok {
			close(up)
			return
		}
		packet = p
		<-boot
		ln, err := net.Listen("tcp4", rdp)
		if err != nil {
			t.Log(err)
			close(up)
			return
		}
		up <- ln
	}()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var booted net.Listener
	clock.onAfter = func(k int) {
		if k == 3 { // the PC answers from the third probe on
			close(boot)
			select {
			case booted = <-up:
			case <-time.After(10 * time.Second):
			}
		}
	}
	var rec recorder
	w := &Waker{Timeout: time.Minute, Interval: 2 * time.Second, Now: clock.Now, After: clock.After}
	err := w.Wake(context.Background(), Target{Addr: rdp, MAC: testMAC, Broadcast: n.addr()}, rec.progress)
	if booted == nil {
		t.Fatal("the stand-in PC did not come up (port taken?)")
	}
	defer booted.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(packet, wantPacket()) || len(packet) != 102 {
		t.Fatalf("magic packet (%d bytes) = % x", len(packet), packet)
	}
	if want := []string{StageChecking, StageWaking, StageWaiting, StageReady}; !slices.Equal(rec.stages, want) {
		t.Fatalf("stages = %v, want %v", rec.stages, want)
	}
	if got := clock.Now().Sub(time.Unix(1_700_000_000, 0)); got != 6*time.Second {
		t.Fatalf("ready after %s of waiting, want 6s (three probes)", got)
	}
}

func TestWakeNeverAnswers(t *testing.T) {
	n := newNIC(t)
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var rec recorder
	w := &Waker{Timeout: time.Minute, Interval: 2 * time.Second, Resend: 20 * time.Second, Now: clock.Now, After: clock.After}
	err := w.Wake(context.Background(), Target{Addr: freeAddr(t), MAC: testMAC, Broadcast: n.addr()}, rec.progress)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err = %v, want ErrNoAnswer", err)
	}
	if want := []string{StageChecking, StageWaking, StageWaiting, StageFailed}; !slices.Equal(rec.stages, want) {
		t.Fatalf("stages = %v, want %v", rec.stages, want)
	}
	// One packet at the start and one per Resend period before the timeout.
	for i := range 3 {
		if p := n.next(t); !bytes.Equal(p, wantPacket()) {
			t.Fatalf("packet %d = % x", i, p)
		}
	}
	if got := clock.Now().Sub(time.Unix(1_700_000_000, 0)); got != time.Minute {
		t.Fatalf("gave up after %s, want the 1m timeout", got)
	}
}

func TestWakeRefusals(t *testing.T) {
	tests := []struct {
		name    string
		target  Target
		wantErr error
	}{
		{"no mac", Target{Addr: "", Broadcast: "127.0.0.1:9"}, ErrNoMAC},
		{"bad mac", Target{MAC: net.HardwareAddr{1, 2, 3}, Broadcast: "127.0.0.1:9"}, ErrBadMAC},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.target.Addr = freeAddr(t)
			var rec recorder
			err := (&Waker{}).Wake(context.Background(), tc.target, rec.progress)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if last := rec.stages[len(rec.stages)-1]; last != StageFailed {
				t.Fatalf("last stage = %s, want failed", last)
			}
		})
	}
}

func TestWakeCancelled(t *testing.T) {
	n := newNIC(t)
	ctx, cancel := context.WithCancel(context.Background())
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	clock.onAfter = func(k int) {
		if k == 2 {
			cancel()
		}
	}
	w := &Waker{Now: clock.Now, After: func(d time.Duration) <-chan time.Time {
		ch := clock.After(d)
		if ctx.Err() != nil {
			return make(chan time.Time) // never fires: cancellation must win
		}
		return ch
	}}
	err := w.Wake(ctx, Target{Addr: freeAddr(t), MAC: testMAC, Broadcast: n.addr()}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
