package server

import (
	"net/url"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/oplog"
)

func (s *Server) adminAuthRoutes() []route {
	A := api.RoleAdmin
	return []route{
		{method: "GET", path: "/admin/v1/users", role: A, also: readersAndDept, handle: s.listUsers, out: api.UserList{},
			summary: "List staff, optionally of one department.", query: map[string]string{"department": "department name"}},
		{method: "POST", path: "/admin/v1/users", role: A, also: deptAdmins, handle: s.createUser, in: api.CreateUserRequest{}, out: api.CreateUserResponse{},
			summary: "Create a member of staff; a temporary password is returned once."},
		{method: "GET", path: "/admin/v1/users/{id}", role: A, also: readersAndDept, handle: s.getUser, out: api.User{},
			summary: "One member of staff, with lock state."},
		{method: "PATCH", path: "/admin/v1/users/{id}", role: A, also: deptAdmins, handle: s.updateUser, in: api.UpdateUserRequest{}, out: api.User{},
			summary: "Change name, department, roles, or disable (ends sessions)."},
		{method: "POST", path: "/admin/v1/users/{id}/reset-password", role: A, also: deptAdmins, handle: s.resetPassword, out: api.ResetPasswordResponse{},
			summary: "Temporary password, forced change at next login; ends sessions."},
		{method: "POST", path: "/admin/v1/users/{id}/reset-totp", role: A, also: deptAdmins, handle: s.resetTOTP,
			summary: "Remove the authenticator (lost phone); enrollment at next login."},
		{method: "POST", path: "/admin/v1/users/{id}/unlock", role: A, also: deptAdmins, handle: s.unlockUser,
			summary: "Clear a lockout after failed sign-ins."},
		{method: "GET", path: "/admin/v1/devices", role: A, also: readersAndDept, handle: s.listDevices, out: api.DeviceList{},
			summary: "Enrolled laptops, optionally of one user.", query: map[string]string{"user": "staff ID"}},
		{method: "POST", path: "/admin/v1/devices/{id}/revoke", role: A, also: deptAdmins, handle: s.revokeDevice, out: api.DeviceRevocation{},
			summary: "Block a lost laptop: its tokens stop working at once, its live session, tunnel and event socket end within seconds; on its next contact it uploads its journal and wipes itself. Answers with the path of its timeline."},
		{method: "POST", path: "/admin/v1/devices/{id}/approve", role: A, also: deptAdmins, handle: s.approveDevice, out: api.Device{},
			summary: "Approve a laptop waiting for approval."},
		{method: "GET", path: "/admin/v1/policy", role: A, also: readers, handle: s.getPolicy, out: api.Policy{},
			summary: "The security policy in force."},
		{method: "PATCH", path: "/admin/v1/policy", role: A, handle: s.setPolicy, in: api.PolicyUpdate{}, out: api.Policy{},
			summary: "Change the policy; a relaxation below the LGWAN profile needs a reason and is audited."},
	}
}

func (s *Server) listUsers(c *call) (any, error) {
	us, err := s.auth.ListUsers(c.R.Context(), c.R.URL.Query().Get("department"))
	if err != nil {
		return nil, err
	}
	if us == nil {
		us = []api.User{}
	}
	return api.UserList{Users: us}, nil
}

func (s *Server) createUser(c *call) (any, error) {
	var req api.CreateUserRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	out, err := s.auth.CreateUser(c.R.Context(), c.P.User.ID, req)
	if err != nil {
		return nil, err
	}
	return created{out}, nil
}

func (s *Server) getUser(c *call) (any, error) {
	return s.auth.GetUser(c.R.Context(), c.R.PathValue("id"))
}

func (s *Server) updateUser(c *call) (any, error) {
	var req api.UpdateUserRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	u, err := s.auth.UpdateUser(c.R.Context(), c.P.User.ID, c.R.PathValue("id"), req)
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		s.cutUser(c, u.ID, "account disabled by IT")
	}
	return u, nil
}

func (s *Server) resetPassword(c *call) (any, error) {
	return s.auth.ResetPassword(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}

func (s *Server) resetTOTP(c *call) (any, error) {
	return noContent, s.auth.ResetTOTP(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}

func (s *Server) unlockUser(c *call) (any, error) {
	return noContent, s.auth.Unlock(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}

func (s *Server) listDevices(c *call) (any, error) {
	ds, err := s.auth.ListDevices(c.R.Context(), c.R.URL.Query().Get("user"))
	if err != nil {
		return nil, err
	}
	if ds == nil {
		ds = []api.Device{}
	}
	return api.DeviceList{Devices: ds}, nil
}

func (s *Server) revokeDevice(c *call) (any, error) {
	// Revocation ends the laptop's sign-ins, and with them (the services'
	// OnSessionsEnded) its slot, tunnel and event socket; the user's other
	// laptops keep theirs.
	d, err := s.auth.RevokeDevice(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return api.DeviceRevocation{Device: *d, Timeline: "/admin/v1/oplogs/devices/" + url.PathEscape(d.ID) + "/timeline",
		EvidenceUntil: d.RevokedAt.Add(oplog.EvidenceWindow)}, nil
}

// cutUser ends what a blocked user still has open: their session slot
// (and with it the tunnel) and their event sockets. Tokens are already
// revoked; this makes a lost laptop go dark at once, not at lease expiry.
func (s *Server) cutUser(c *call, userID, reason string) {
	if sl, err := s.slots.Mine(userID); err == nil {
		if err := s.slots.End(c.R.Context(), c.P.User.ID, sl.ID, reason); err != nil {
			s.log.Warn("end session of blocked user", "user", userID, "err", err)
		}
	}
	s.events.CloseUser(userID)
}

func (s *Server) approveDevice(c *call) (any, error) {
	return s.auth.ApproveDevice(c.R.Context(), c.P.User.ID, c.R.PathValue("id"))
}

func (s *Server) getPolicy(c *call) (any, error) {
	p := s.auth.Policy(c.R.Context())
	return p, nil
}

func (s *Server) setPolicy(c *call) (any, error) {
	var req api.PolicyUpdate
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.auth.SetPolicy(c.R.Context(), c.P.User.ID, req)
}
