package server

import (
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

// terminalsDomain keeps the office PCs.
func (s *Server) terminalRoutes() []route {
	A := api.RoleAdmin
	return []route{
		{method: "GET", path: "/admin/v1/terminals", role: A, also: readersAndDept, handle: s.listTerminals, out: api.TerminalList{},
			summary: "Office PCs with whom they are paired and their last known state."},
		{method: "POST", path: "/admin/v1/terminals", role: A, also: deptAdmins, handle: s.createTerminal, in: api.CreateTerminalRequest{}, out: api.Terminal{},
			summary: "Register an office PC (address, RDP port, MAC and broadcast address for Wake-on-LAN, department, user or pool)."},
		{method: "GET", path: "/admin/v1/terminals/{id}", role: A, also: readersAndDept, handle: s.getTerminal, out: api.Terminal{},
			summary: "One office PC."},
		{method: "PATCH", path: "/admin/v1/terminals/{id}", role: A, also: deptAdmins, handle: s.updateTerminal, in: api.UpdateTerminalRequest{}, out: api.Terminal{},
			summary: "Change an office PC's details."},
		{method: "DELETE", path: "/admin/v1/terminals/{id}", role: A, also: deptAdmins, handle: s.deleteTerminal,
			summary: "Remove an office PC."},
		{method: "POST", path: "/admin/v1/terminals/{id}/pair", role: A, also: deptAdmins, handle: s.pairTerminal, in: api.PairTerminalRequest{}, out: api.Terminal{},
			summary: "Pair an office PC with a member of staff (empty user_id unpairs)."},
	}
}

// userInScope refuses, for a department's IT contact, pairing a PC with
// someone outside their department, in the words used for a staff ID
// that does not exist (to them it does not).
func (s *Server) userInScope(c *call, userID string) error {
	if _, limited := auth.DepartmentLimit(c.R.Context()); !limited || strings.TrimSpace(userID) == "" {
		return nil
	}
	if _, err := s.auth.GetUser(c.R.Context(), userID); err != nil {
		if e := api.AsError(err); e != nil && e.Code == api.CodeNotFound {
			return api.Err(api.CodeTerminalUserNone, strings.ToLower(strings.TrimSpace(userID)))
		}
		return err
	}
	return nil
}

// withUse marks PCs a live session uses.
func (s *Server) withUse(t api.Terminal) api.Terminal {
	if s.slots != nil && s.slots.InUse(t.ID) {
		t.State = api.TerminalInUse
	}
	return t
}

func (s *Server) listTerminals(c *call) (any, error) {
	ts, err := s.terms.List(c.R.Context())
	if err != nil {
		return nil, err
	}
	for i := range ts {
		ts[i] = s.withUse(ts[i])
	}
	return api.TerminalList{Terminals: ts}, nil
}

func (s *Server) createTerminal(c *call) (any, error) {
	var req api.CreateTerminalRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	if err := s.userInScope(c, req.UserID); err != nil {
		return nil, err
	}
	t, err := s.terms.Create(c.R.Context(), c.P.User.ID, req)
	if err != nil {
		return nil, err
	}
	return created{t}, nil
}

func (s *Server) getTerminal(c *call) (any, error) {
	t, err := s.terms.Get(c.R.Context(), c.R.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.withUse(t), nil
}

func (s *Server) updateTerminal(c *call) (any, error) {
	var req api.UpdateTerminalRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	t, err := s.terms.Update(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req)
	if err != nil {
		return nil, err
	}
	return s.withUse(t), nil
}

func (s *Server) deleteTerminal(c *call) (any, error) {
	return noContent, s.terms.Delete(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}

func (s *Server) pairTerminal(c *call) (any, error) {
	var req api.PairTerminalRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	if err := s.userInScope(c, req.UserID); err != nil {
		return nil, err
	}
	t, err := s.terms.Pair(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req.UserID)
	if err != nil {
		return nil, err
	}
	return s.withUse(t), nil
}
