package server

import (
	"context"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
	"github.com/zaitaku/zaitaku/broker/relay"
)

// relayDomain carries RDP tunnels to office PCs.
type relayDomain struct {
	relay *relay.Relay
}

func (s *Server) initRelay() error {
	s.relay = relay.New(relay.Config{
		Audit: auditFunc(func() audit.Recorder { return s.audit }),
		Log:   s.log.With("domain", "relay"),
		Now:   s.now,
	})
	// Bytes reach the slots every few seconds, so that IT sees live traffic
	// and a slot that ends before its tunnel loses little of its count.
	s.jobs = append(s.jobs, func(ctx context.Context) { s.relay.Run(ctx, 3*time.Second) })
	s.closers = append(s.closers, s.relay.Close)
	return nil
}

// Relay returns the tunnel relay (for the slots domain and tests).
func (s *Server) Relay() *relay.Relay { return s.relay }

func (s *Server) relayRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/tunnel/{slot}", role: api.RoleStaff, handle: s.openTunnel, stream: true,
			summary: "Upgrade (Upgrade: " + api.TunnelProtocol + ", " + api.TunnelProtocolBytes + ") to a stream to the office PC of the caller's granted slot: records keyed from the TLS session, or the bytes as they are behind a TLS-terminating proxy."},
	}
}

func (s *Server) openTunnel(c *call) (any, error) {
	return nil, s.relay.Serve(c.W, c.R, c.P.User.ID, c.R.PathValue("slot"))
}
