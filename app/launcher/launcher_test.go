package launcher

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/platform/rdp"
)

// TestStandInSpeaksFirstAndHolds: the stand-in sends the X.224 request an
// RDP server waits for, reads what comes back, and stays until cancelled.
func TestStandInSpeaksFirstAndHolds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, len(x224Request))
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		got <- buf
		_, _ = c.Write([]byte("screen"))
		_, _ = io.Copy(io.Discard, c)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, err := StandIn{}.Launch(ctx, core.LaunchTarget{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port})
		if err != nil {
			t.Errorf("launch: %v", err)
		}
		done <- code
	}()
	select {
	case b := <-got:
		if !bytes.Equal(b, x224Request[:]) {
			t.Fatalf("first bytes % x, want the X.224 request", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no connection request")
	}
	select {
	case code := <-done:
		t.Fatalf("stand-in exited (%d) before Disconnect", code)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d after Disconnect, want 0", code)
	}
}

func TestStandInNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if _, err := (StandIn{}).Launch(context.Background(), core.LaunchTarget{Host: "127.0.0.1", Port: port}); err == nil {
		t.Fatal("no error with nothing listening")
	}
}

// TestExitCodeMeaningReachesCore: every meaning platform/rdp gives an exit
// code has its counterpart in core; the sign-in refusals are failures.
func TestExitCodeMeaningReachesCore(t *testing.T) {
	for e, want := range map[rdp.Exit]core.ClientEnd{
		rdp.ExitClosed: core.ClientClosed, rdp.ExitDisconnected: core.ClientDisconnected,
		rdp.ExitSignedOut: core.ClientSignedOut, rdp.ExitEndedByTerminal: core.ClientEndedByTerminal,
		rdp.ExitNetwork: core.ClientNetwork, rdp.ExitAuthFailed: core.ClientFailed, rdp.ExitFailed: core.ClientFailed,
	} {
		if got := clientEnd(e); got != want {
			t.Errorf("%s: %d, want %d", e, got, want)
		}
	}
}
