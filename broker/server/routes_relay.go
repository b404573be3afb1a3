package server

import (
	"github.com/zaitaku/zaitaku/broker/api"
)

// relayDomain carries RDP tunnels to office PCs.
func (s *Server) relayRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/tunnel/{slot}", role: api.RoleStaff, handle: s.openTunnel, stream: true,
			summary: "Upgrade (Upgrade: " + api.TunnelProtocol + ", " + api.TunnelProtocolBytes + ") to a stream to the office PC of the caller's granted slot: records keyed from the TLS session, or the bytes as they are behind a TLS-terminating proxy."},
	}
}

func (s *Server) openTunnel(c *call) (any, error) {
	return nil, s.relay.Serve(c.W, c.R, c.holder(), c.R.PathValue("slot"))
}
