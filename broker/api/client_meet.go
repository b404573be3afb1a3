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

// CreateMeeting schedules a meeting.
func (c *Client) CreateMeeting(ctx context.Context, req CreateMeetingRequest) (*Meeting, error) {
	var out Meeting
	if err := c.Do(ctx, "POST", "/v1/meet/meetings", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Meetings lists the meetings and running rooms the caller may join.
func (c *Client) Meetings(ctx context.Context) (*MeetingList, error) {
	var out MeetingList
	if err := c.Do(ctx, "GET", "/v1/meet/meetings", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// JoinMeeting opens a scheduled meeting's room if it is not running yet
// and returns the caller's one-time way in.
func (c *Client) JoinMeeting(ctx context.Context, id string) (*MeetJoin, error) {
	var out MeetJoin
	if err := c.Do(ctx, "POST", "/v1/meet/meetings/"+url.PathEscape(id)+"/join", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
