// Command bareforward is the baseline of the meeting benchmark: one UDP
// socket that forwards each packet it receives to every other registered
// participant, as an SFU forwards RTP, without SRTP, RTCP, NACK buffers or
// congestion control. A participant registers by sending "join". It
// prints its address, then runs until killed.
package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
)

func main() {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(c.LocalAddr().String())
	var peers []netip.AddrPort
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if n == 4 && string(buf[:4]) == "join" {
			peers = append(peers, from)
			continue
		}
		for _, p := range peers {
			if p != from {
				_, _ = c.WriteToUDPAddrPort(buf[:n], p)
			}
		}
	}
}
