package server

import (
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/tunnel"
)

// relayDomain carries RDP tunnels to office PCs.
func (s *Server) relayRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/tunnel/{slot}", role: api.RoleStaff, handle: s.openTunnel, stream: true,
			summary: "Upgrade (Upgrade: " + tunnel.Protocol + ") to a byte stream, inside this TLS connection, to the office PC of the caller's granted slot. The request carries " + tunnel.BindingHeader + ": the device key's signature over the connection's tls-exporter value (RFC 9266)."},
	}
}

func (s *Server) openTunnel(c *call) (any, error) {
	if err := s.checkReach(c, "tunnel", c.R.PathValue("slot")); err != nil {
		return nil, err
	}
	return nil, s.relay.Serve(c.W, c.R, c.holder(), c.R.PathValue("slot"))
}
