package api

import (
	"context"
	"net/url"
)

// Login checks staff ID, password and code, and enrolls the device when new.
// On StageOK the client starts using the access token.
func (c *Client) Login(ctx context.Context, req LoginRequest) (*LoginResponse, error) {
	var out LoginResponse
	if err := c.Do(ctx, "POST", "/v1/login", req, &out); err != nil {
		return nil, err
	}
	c.SetToken(out.AccessToken)
	return &out, nil
}

// EnrollTOTP confirms the authenticator with a first code. It needs the
// restricted token from a login at StageEnrollTOTP.
func (c *Client) EnrollTOTP(ctx context.Context, code string) (*LoginResponse, error) {
	var out LoginResponse
	if err := c.Do(ctx, "POST", "/v1/me/totp", EnrollTOTPRequest{Code: code}, &out); err != nil {
		return nil, err
	}
	c.SetToken(out.AccessToken)
	return &out, nil
}

// ChangePassword changes the signed-in user's password. After a forced
// change the answer carries full tokens.
func (c *Client) ChangePassword(ctx context.Context, oldPw, newPw string) (*LoginResponse, error) {
	var out LoginResponse
	if err := c.Do(ctx, "POST", "/v1/me/password", ChangePasswordRequest{OldPassword: oldPw, NewPassword: newPw}, &out); err != nil {
		return nil, err
	}
	if out.AccessToken != "" {
		c.SetToken(out.AccessToken)
	}
	return &out, nil
}

// Refresh trades a refresh token for new tokens; sign must sign the proof
// with the device key.
func (c *Client) Refresh(ctx context.Context, req RefreshRequest) (*LoginResponse, error) {
	var out LoginResponse
	if err := c.Do(ctx, "POST", "/v1/token/refresh", req, &out); err != nil {
		return nil, err
	}
	c.SetToken(out.AccessToken)
	return &out, nil
}

// Logout revokes the current tokens.
func (c *Client) Logout(ctx context.Context) error {
	err := c.Do(ctx, "POST", "/v1/logout", nil, nil)
	c.SetToken("")
	return err
}

// Me returns the signed-in user and device.
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var out Me
	return &out, c.Do(ctx, "GET", "/v1/me", nil, &out)
}

// Admin: users.

// CreateUser creates a member of staff (admin).
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (*CreateUserResponse, error) {
	var out CreateUserResponse
	return &out, c.Do(ctx, "POST", "/admin/v1/users", req, &out)
}

// ResetPassword sets a temporary password (admin).
func (c *Client) ResetPassword(ctx context.Context, id string) (*ResetPasswordResponse, error) {
	var out ResetPasswordResponse
	return &out, c.Do(ctx, "POST", "/admin/v1/users/"+url.PathEscape(id)+"/reset-password", nil, &out)
}

// ResetTOTP removes a user's authenticator; they enroll again at next login (admin).
func (c *Client) ResetTOTP(ctx context.Context, id string) error {
	return c.Do(ctx, "POST", "/admin/v1/users/"+url.PathEscape(id)+"/reset-totp", nil, nil)
}

// Unlock clears a lockout (admin).
func (c *Client) Unlock(ctx context.Context, id string) error {
	return c.Do(ctx, "POST", "/admin/v1/users/"+url.PathEscape(id)+"/unlock", nil, nil)
}

// RevokeDevice blocks a laptop and ends its tokens (admin).
func (c *Client) RevokeDevice(ctx context.Context, id string) (*Device, error) {
	var out Device
	return &out, c.Do(ctx, "POST", "/admin/v1/devices/"+url.PathEscape(id)+"/revoke", nil, &out)
}

// ApproveDevice approves a pending laptop (admin).
func (c *Client) ApproveDevice(ctx context.Context, id string) (*Device, error) {
	var out Device
	return &out, c.Do(ctx, "POST", "/admin/v1/devices/"+url.PathEscape(id)+"/approve", nil, &out)
}

// Devices lists enrolled laptops, optionally of one user (admin).
func (c *Client) Devices(ctx context.Context, userID string) (*DeviceList, error) {
	var out DeviceList
	p := "/admin/v1/devices"
	if userID != "" {
		p += "?user=" + url.QueryEscape(userID)
	}
	return &out, c.Do(ctx, "GET", p, nil, &out)
}

// Users lists staff, optionally of one department (admin, auditor).
func (c *Client) Users(ctx context.Context, department string) (*UserList, error) {
	var out UserList
	p := "/admin/v1/users"
	if department != "" {
		p += "?department=" + url.QueryEscape(department)
	}
	return &out, c.Do(ctx, "GET", p, nil, &out)
}

// UpdateUser changes a member of staff's name, department, roles or
// disabled state (admin).
func (c *Client) UpdateUser(ctx context.Context, id string, req UpdateUserRequest) (*User, error) {
	var out User
	return &out, c.Do(ctx, "PATCH", "/admin/v1/users/"+url.PathEscape(id), req, &out)
}

// Policy returns the security policy in force (admin, auditor).
func (c *Client) Policy(ctx context.Context) (*Policy, error) {
	var out Policy
	return &out, c.Do(ctx, "GET", "/admin/v1/policy", nil, &out)
}

// SetPolicy changes the security policy (admin).
func (c *Client) SetPolicy(ctx context.Context, up PolicyUpdate) (*Policy, error) {
	var out Policy
	return &out, c.Do(ctx, "PATCH", "/admin/v1/policy", up, &out)
}
