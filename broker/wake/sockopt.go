package wake

import (
	"net"
)

// setBroadcast allows sending to a broadcast address.
func setBroadcast(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = setsockoptBroadcast(fd)
	})
	if err != nil {
		return err
	}
	return serr
}
