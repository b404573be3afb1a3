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
