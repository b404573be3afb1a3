package server

import (
	"errors"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/slots"
)

// segmentRoutes: the office PCs' network segments (三層分離) and the
// satellite offices. Central IT's only (not department IT): moving a PC out
// of the My Number segment, or widening where it may be used from, relaxes
// an LGWAN rule.
func (s *Server) segmentRoutes() []route {
	A := api.RoleAdmin
	return []route{
		{method: "PUT", path: "/admin/v1/segments/terminals/{id}", role: A, handle: s.setSegment, in: api.SetSegmentRequest{}, out: api.Terminal{},
			summary: "Put an office PC in a network segment (lgwan, mynumber, internet), with the reason. My Number PCs are reachable only from satellite offices."},
		{method: "GET", path: "/admin/v1/segments/satellite-offices", role: A, also: readers, handle: s.listSatelliteOffices, out: api.SatelliteOfficeList{},
			summary: "The satellite offices and the source address ranges My Number PCs may be used from."},
		{method: "PUT", path: "/admin/v1/segments/satellite-offices/{id}", role: A, handle: s.putSatelliteOffice, in: api.PutSatelliteOfficeRequest{}, out: api.SatelliteOffice{},
			summary: "Create a satellite office or replace its name and address ranges (CIDR)."},
		{method: "DELETE", path: "/admin/v1/segments/satellite-offices/{id}", role: A, handle: s.deleteSatelliteOffice,
			summary: "Remove a satellite office: My Number PCs are no longer reachable from its addresses."},
	}
}

func (s *Server) setSegment(c *call) (any, error) {
	var req api.SetSegmentRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	t, err := s.segs.SetSegment(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req)
	if err != nil {
		return nil, err
	}
	return s.withUse(t), nil
}

func (s *Server) listSatelliteOffices(c *call) (any, error) {
	l, err := s.segs.SatelliteOffices(c.R.Context())
	if err != nil {
		return nil, err
	}
	return api.SatelliteOfficeList{Offices: l}, nil
}

func (s *Server) putSatelliteOffice(c *call) (any, error) {
	var req api.PutSatelliteOfficeRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.segs.PutSatelliteOffice(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req)
}

func (s *Server) deleteSatelliteOffice(c *call) (any, error) {
	return noContent, s.segs.DeleteSatelliteOffice(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}

// checkReach refuses a session on, or a tunnel to, a My Number PC from a
// source outside the satellite offices. The source is the TCP peer, or
// the forwarded address a trusted proxy gives (source). slotID names the
// slot whose PC a tunnel goes to (checkReachPaired is the check before a
// slot is granted).
func (s *Server) checkReach(c *call, stage, slotID string) error {
	if s.segs == nil {
		return nil
	}
	ctx, user := c.R.Context(), c.P.User.ID
	sl, err := s.slots.Mine(user)
	if err != nil || sl.ID != slotID || sl.Terminal == nil || sl.Terminal.ID == "" {
		return nil // no PC to reach: the relay refuses it in its own words
	}
	return s.segs.CheckReach(ctx, user, sl.Terminal.ID, s.source(c.R), stage)
}

// checkReachPaired is checkReach before a slot is granted, of the
// caller's paired PC as read (pcErr ErrNoTerminal: a pool user, and a
// My Number PC is never in the pool).
func (s *Server) checkReachPaired(c *call, stage string, pc api.Terminal, pcErr error) error {
	if errors.Is(pcErr, slots.ErrNoTerminal) {
		return nil
	} else if pcErr != nil {
		return pcErr
	}
	if s.segs == nil {
		return nil
	}
	return s.segs.CheckReachPC(c.R.Context(), c.P.User.ID, pc, s.source(c.R), stage)
}
