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
