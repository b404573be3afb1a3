// Package launcher runs the RDP client for app/core (core.Launcher): the
// OS's own client through platform/rdp, or, for the demo and the
// screenshot tests where there is none or no display for it, a stand-in
// that holds a session open without drawing anything.
package launcher

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/platform/rdp"
)

// OS starts the OS's RDP client (xfreerdp, mstsc, Windows App) full
// screen, with the broker's redirection policy (the zero policy is the
// LGWAN profile).
type OS struct {
	Options rdp.Options // zero for the app; tests set a display and a log
}

var _ core.Launcher = OS{}

// Launch implements core.Launcher.
func (o OS) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	return rdp.LaunchWith(ctx, rdp.Spec{Host: t.Host, Port: t.Port, User: t.User, Fullscreen: true,
		Policy: rdp.Policy(t.Policy)}, o.Options)
}

var _ core.ExitReader = OS{}

// ReadExit says what this OS's client meant by its exit code
// (platform/rdp records each client's codes).
func (OS) ReadExit(code int) core.ClientEnd { return clientEnd(rdp.ExitOf(code)) }

func clientEnd(e rdp.Exit) core.ClientEnd {
	switch e {
	case rdp.ExitClosed:
		return core.ClientClosed
	case rdp.ExitDisconnected:
		return core.ClientDisconnected
	case rdp.ExitSignedOut:
		return core.ClientSignedOut
	case rdp.ExitEndedByTerminal:
		return core.ClientEndedByTerminal
	case rdp.ExitNetwork:
		return core.ClientNetwork
	}
	return core.ClientFailed // ExitAuthFailed, ExitFailed
}

// StandIn plays an RDP client that is opened and left alone: it opens one
// connection through the tunnel, sends the connection request a real
// client sends first (so an office PC or freerdp-shadow-cli answers, and
// core sees the screen's bytes flow back), then holds the session until
// ctx ends (Disconnect).
type StandIn struct {
	Log *slog.Logger // nil: silent
}

var _ core.Launcher = StandIn{}

// x224Request is a TPKT + X.224 Connection Request with an RDP negotiation
// request for TLS|HYBRID (MS-RDPBCGR 2.2.1.1).
var x224Request = [...]byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00}

// Launch implements core.Launcher.
func (s StandIn) Launch(ctx context.Context, t core.LaunchTarget) (int, error) {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 1, fmt.Errorf("rdp stand-in: %w", err)
	}
	defer conn.Close()
	log.Info("rdp stand-in: session open", "target", addr, "user", t.User)
	if _, err := conn.Write(x224Request[:]); err != nil {
		return 1, fmt.Errorf("rdp stand-in: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, conn) }()
	<-ctx.Done()
	return 0, nil
}
