package server

import (
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
)

func (s *Server) authRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/login", role: auth.Anonymous, handle: s.login, in: api.LoginRequest{}, out: api.LoginResponse{},
			summary: "Sign in with staff ID, password and one-time code; enrolls a new device."},
		{method: "POST", path: "/v1/token/refresh", role: auth.Anonymous, handle: s.refresh, in: api.RefreshRequest{}, out: api.LoginResponse{},
			summary: "Trade a refresh token for new tokens; the device signs a proof with its key."},
		{method: "POST", path: "/v1/logout", role: auth.Pending, handle: s.logout,
			summary: "Revoke the caller's tokens."},
		{method: "GET", path: "/v1/me", role: auth.Pending, handle: s.me, out: api.Me{},
			summary: "The signed-in user and device."},
		{method: "POST", path: "/v1/me/totp", role: auth.Pending, handle: s.enrollTOTP, in: api.EnrollTOTPRequest{}, out: api.LoginResponse{},
			summary: "Confirm one-time code enrollment with a first code."},
		{method: "POST", path: "/v1/me/password", role: auth.Pending, handle: s.changePassword, in: api.ChangePasswordRequest{}, out: api.LoginResponse{},
			summary: "Change the caller's password (also the forced change after a reset)."},
	}
}

func (s *Server) login(c *call) (any, error) {
	var req api.LoginRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	var err error
	if s.limits.login != nil && !s.auth.DeviceProven(c.R.Context(), req) {
		err = s.throttle(c, s.limits.login, "sign-ins", "サインイン")
	}
	var resp *api.LoginResponse
	if err == nil {
		resp, err = s.auth.Login(c.R.Context(), req, s.source(c.R).String())
	}
	result := "ok"
	if e := api.AsError(err); e != nil {
		result = string(e.Code)
	} else if err != nil {
		result = "error"
	}
	s.metrics.logins.WithLabelValues(result).Inc()
	return resp, err
}

func (s *Server) refresh(c *call) (any, error) {
	// Before the body: a refused refresh costs nothing. A refresh always
	// proves its device, but only after a token lookup an attacker can
	// make the broker do with any string; the limit is generous.
	if err := s.throttle(c, s.limits.refresh, "refreshes", "サインイン更新"); err != nil {
		return nil, err
	}
	var req api.RefreshRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.auth.Refresh(c.R.Context(), req)
}

func (s *Server) logout(c *call) (any, error) {
	return noContent, s.auth.Logout(c.R.Context(), c.P)
}

func (s *Server) me(c *call) (any, error) {
	dev, err := s.auth.Device(c.R.Context(), c.P.DeviceID)
	if err != nil {
		return nil, err
	}
	return api.Me{User: c.P.User, Device: dev}, nil
}

func (s *Server) enrollTOTP(c *call) (any, error) {
	var req api.EnrollTOTPRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.auth.EnrollTOTP(c.R.Context(), c.P, req.Code)
}

func (s *Server) changePassword(c *call) (any, error) {
	var req api.ChangePasswordRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	if len(req.OldPassword) > auth.MaxPasswordLen*4 || len(req.NewPassword) > auth.MaxPasswordLen*4 {
		return nil, api.Errf(api.CodeValidation, "password: too long")
	}
	return s.auth.ChangePassword(c.R.Context(), c.P, req.OldPassword, req.NewPassword)
}
