package core

import (
	"context"

	"github.com/zaitaku/zaitaku/broker/api"
)

// RDPPolicy is what the RDP client may redirect, as IT set it at the
// broker and sent with the granted slot. The zero value is the LGWAN
// profile: screen transfer only.
type RDPPolicy = api.RDPPolicy

// LaunchTarget is where the RDP client connects: the local end of the
// tunnel.
type LaunchTarget struct {
	Host   string // 127.0.0.1
	Port   int
	User   string // pre-filled user name on the office PC
	Policy RDPPolicy
}

// Launcher starts the OS's RDP client and waits for it to exit
// (platform/rdp implements it per OS).
type Launcher interface {
	Launch(ctx context.Context, t LaunchTarget) (exitCode int, err error)
}

// ClientEnd is what the RDP client's exit says about how the session
// ended. Each client has its own exit codes (platform/rdp knows them);
// only ClientFailed is a failure.
type ClientEnd int

const (
	ClientClosed          ClientEnd = iota // the window was closed, or the client cannot tell
	ClientDisconnected                     // Disconnect chosen inside the office PC's session
	ClientSignedOut                        // the user signed out of the office PC
	ClientEndedByTerminal                  // the office PC ended it (its admin, a sign-in at the desk, its time limits)
	ClientNetwork                          // the connection to the office PC broke
	ClientFailed                           // the client failed; its exit code goes with the error
)

// ExitReader is implemented by launchers that know their client's exit
// codes (app/launcher). Without it, 0 is ClientClosed and any other code
// ClientFailed.
type ExitReader interface {
	ReadExit(code int) ClientEnd
}

// readExit says what the launcher's exit code means.
func (c *Client) readExit(code int) ClientEnd {
	if er, ok := c.deps.Launcher.(ExitReader); ok {
		return er.ReadExit(code)
	}
	if code == 0 {
		return ClientClosed
	}
	return ClientFailed
}
