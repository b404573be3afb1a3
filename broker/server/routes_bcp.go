package server

import (
	"github.com/zaitaku/zaitaku/broker/api"
)

// bcpDomain is BCP mode, a part of the slots: a raised cap and queue
// priority for listed roles and departments during a disaster.
func (s *Server) bcpRoutes() []route {
	A := api.RoleAdmin
	return []route{
		{method: "GET", path: "/admin/v1/bcp", role: A, also: readers, handle: s.getBCP, out: api.BCP{},
			summary: "BCP mode: on or off, why and since when, its cap and priority roles and departments, and the cap in force."},
		{method: "PATCH", path: "/admin/v1/bcp/config", role: A, handle: s.configureBCP, in: api.BCPConfigUpdate{}, out: api.BCP{},
			summary: "Set BCP mode's cap and the roles and departments served first; while it is on they apply at once (audited)."},
		{method: "POST", path: "/admin/v1/bcp/on", role: A, handle: s.bcpOn, in: api.BCPSwitch{}, out: api.BCP{},
			summary: "Switch BCP mode on with a reason: the cap rises, priority staff are served first, every running app is told (audited)."},
		{method: "POST", path: "/admin/v1/bcp/off", role: A, handle: s.bcpOff, in: api.BCPSwitch{}, out: api.BCP{},
			summary: "Switch BCP mode off with a reason: the normal cap and arrival order return, every running app is told (audited)."},
	}
}

func (s *Server) getBCP(c *call) (any, error) { return s.slots.BCP(), nil }

func (s *Server) configureBCP(c *call) (any, error) {
	var req api.BCPConfigUpdate
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.slots.ConfigureBCP(c.R.Context(), c.P.User.ID, req)
}

func (s *Server) bcpOn(c *call) (any, error)  { return s.switchBCP(c, true) }
func (s *Server) bcpOff(c *call) (any, error) { return s.switchBCP(c, false) }

func (s *Server) switchBCP(c *call, on bool) (any, error) {
	var req api.BCPSwitch
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.slots.SetBCP(c.R.Context(), c.P.User.ID, on, req.Reason)
}
