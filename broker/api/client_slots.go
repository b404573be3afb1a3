package api

import (
	"context"
	"net/url"
)

// RequestSlot asks for a connection slot. The answer is granted, or queued
// with a position; asking again returns the slot the user already holds.
func (c *Client) RequestSlot(ctx context.Context, req SlotRequest) (*Slot, error) {
	var out Slot
	if err := c.Do(ctx, "POST", "/v1/slots", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MySlot returns the caller's slot (CodeSlotNotFound when none).
func (c *Client) MySlot(ctx context.Context) (*Slot, error) {
	var out Slot
	if err := c.Do(ctx, "GET", "/v1/slots/mine", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Heartbeat renews the slot's lease; Active and the byte counters feed
// the idle timeout.
func (c *Client) Heartbeat(ctx context.Context, slotID string, req HeartbeatRequest) (*Slot, error) {
	var out Slot
	if err := c.Do(ctx, "POST", "/v1/slots/"+url.PathEscape(slotID)+"/heartbeat", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReleaseSlot ends the session or leaves the queue.
func (c *Client) ReleaseSlot(ctx context.Context, slotID string) error {
	return c.Do(ctx, "DELETE", "/v1/slots/"+url.PathEscape(slotID), nil, nil)
}

// Status returns the free slots, the caller's office PC and slot.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	if err := c.Do(ctx, "GET", "/v1/status", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Sessions lists live sessions and the queue (IT).
func (c *Client) Sessions(ctx context.Context) (*SessionList, error) {
	var out SessionList
	if err := c.Do(ctx, "GET", "/admin/v1/sessions", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EndSession ends a live session or removes a queued request (IT).
func (c *Client) EndSession(ctx context.Context, slotID, reason string) error {
	return c.Do(ctx, "POST", "/admin/v1/sessions/"+url.PathEscape(slotID)+"/end", EndSessionRequest{Reason: reason}, nil)
}

// SlotConfig returns the cap and session policy (IT).
func (c *Client) SlotConfig(ctx context.Context) (*SlotConfig, error) {
	var out SlotConfig
	if err := c.Do(ctx, "GET", "/admin/v1/slots/config", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetSlotConfig changes the cap or session policy live (IT).
func (c *Client) SetSlotConfig(ctx context.Context, up SlotConfigUpdate) (*SlotConfig, error) {
	var out SlotConfig
	if err := c.Do(ctx, "PATCH", "/admin/v1/slots/config", up, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Terminals lists office PCs (IT).
func (c *Client) Terminals(ctx context.Context) ([]Terminal, error) {
	var out TerminalList
	if err := c.Do(ctx, "GET", "/admin/v1/terminals", nil, &out); err != nil {
		return nil, err
	}
	return out.Terminals, nil
}

// CreateTerminal registers an office PC (IT).
func (c *Client) CreateTerminal(ctx context.Context, req CreateTerminalRequest) (*Terminal, error) {
	var out Terminal
	if err := c.Do(ctx, "POST", "/admin/v1/terminals", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTerminal changes an office PC (IT).
func (c *Client) UpdateTerminal(ctx context.Context, id string, req UpdateTerminalRequest) (*Terminal, error) {
	var out Terminal
	if err := c.Do(ctx, "PATCH", "/admin/v1/terminals/"+url.PathEscape(id), req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PairTerminal pairs an office PC with a member of staff ("" unpairs) (IT).
func (c *Client) PairTerminal(ctx context.Context, id, userID string) (*Terminal, error) {
	var out Terminal
	if err := c.Do(ctx, "POST", "/admin/v1/terminals/"+url.PathEscape(id)+"/pair", PairTerminalRequest{UserID: userID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteTerminal removes an office PC (IT).
func (c *Client) DeleteTerminal(ctx context.Context, id string) error {
	return c.Do(ctx, "DELETE", "/admin/v1/terminals/"+url.PathEscape(id), nil, nil)
}

// BCP returns BCP mode's state (admin, auditor).
func (c *Client) BCP(ctx context.Context) (*BCP, error) {
	var out BCP
	if err := c.Do(ctx, "GET", "/admin/v1/bcp", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfigureBCP sets BCP mode's cap and priority lists (admin).
func (c *Client) ConfigureBCP(ctx context.Context, up BCPConfigUpdate) (*BCP, error) {
	var out BCP
	if err := c.Do(ctx, "PATCH", "/admin/v1/bcp/config", up, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SwitchBCP switches BCP mode on or off with a reason (admin).
func (c *Client) SwitchBCP(ctx context.Context, on bool, reason string) (*BCP, error) {
	path := "/admin/v1/bcp/off"
	if on {
		path = "/admin/v1/bcp/on"
	}
	var out BCP
	if err := c.Do(ctx, "POST", path, BCPSwitch{Reason: reason}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
