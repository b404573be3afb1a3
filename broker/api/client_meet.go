package api

import (
	"context"
	"net/url"
)

// CreateRoom starts a meeting and returns the host's own way in.
func (c *Client) CreateRoom(ctx context.Context, req CreateRoomRequest) (*MeetJoin, error) {
	var out MeetJoin
	if err := c.Do(ctx, "POST", "/v1/meet/rooms", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// JoinRoom returns a one-time way into a running meeting.
func (c *Client) JoinRoom(ctx context.Context, roomID string) (*MeetJoin, error) {
	var out MeetJoin
	if err := c.Do(ctx, "POST", "/v1/meet/rooms/"+url.PathEscape(roomID)+"/join", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateGuestLink makes an expiring guest link into a running room.
func (c *Client) CreateGuestLink(ctx context.Context, roomID string, req CreateGuestLinkRequest) (*GuestLink, error) {
	var out GuestLink
	if err := c.Do(ctx, "POST", "/v1/meet/rooms/"+url.PathEscape(roomID)+"/guests", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Knock is what a guest's page does with its guest link (no sign-in).
func (c *Client) Knock(ctx context.Context, roomID, link string) (*Knock, error) {
	var out Knock
	if err := c.Do(ctx, "POST", "/v1/meet/rooms/"+url.PathEscape(roomID)+"/knock", KnockRequest{Link: link}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
