package core

import (
	"context"
	"errors"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Browser opens a web page in the system browser (platform/browser).
type Browser interface {
	OpenURL(ctx context.Context, link string) error
}

// Meetings are web meetings from the app (issue 14): the meeting itself
// runs in the browser, on the broker's meeting page; the app lists what
// one may join, starts or joins one and opens the page with a one-time
// link, and makes guest links. The broker's own operation log has each
// join and leave (meet.joined, meet.left, written by the SFU, which
// knows when the page really connects and goes); the laptop's journal
// has meet.opened when the app opened the page.

// Meetings lists the scheduled meetings and running rooms one may join.
func (c *Client) Meetings(ctx context.Context) (*api.MeetingList, error) {
	l, err := c.api.Meetings(ctx)
	if err != nil {
		return nil, c.fail(err)
	}
	return l, nil
}

// MeetNow opens a room ("meet now") and the page in the browser.
func (c *Client) MeetNow(ctx context.Context, title string) (*api.MeetJoin, error) {
	j, err := c.api.CreateRoom(ctx, api.CreateRoomRequest{Title: title})
	if err != nil {
		return nil, c.fail(err)
	}
	return j, c.open(ctx, j, "now")
}

// JoinRoom joins a running room in the browser.
func (c *Client) JoinRoom(ctx context.Context, roomID string) (*api.MeetJoin, error) {
	j, err := c.api.JoinRoom(ctx, roomID)
	if err != nil {
		return nil, c.fail(err)
	}
	return j, c.open(ctx, j, "room")
}

// JoinMeeting joins a scheduled meeting in the browser.
func (c *Client) JoinMeeting(ctx context.Context, meetingID string) (*api.MeetJoin, error) {
	j, err := c.api.JoinMeeting(ctx, meetingID)
	if err != nil {
		return nil, c.fail(err)
	}
	return j, c.open(ctx, j, "scheduled")
}

// GuestLink makes a guest link into a running room (its host or IT).
// The link is a secret for its guest: the journal notes that one was
// made, for whom, never the link.
func (c *Client) GuestLink(ctx context.Context, roomID, name string) (*api.GuestLink, error) {
	l, err := c.api.CreateGuestLink(ctx, roomID, api.CreateGuestLinkRequest{Name: name})
	if err != nil {
		return nil, c.fail(err)
	}
	c.record("meet.guest_link", "room", roomID, "guest", name, "expires", l.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z"))
	return l, nil
}

// open opens j's page; the one-time link goes to the browser only,
// never to the journal or the log.
func (c *Client) open(ctx context.Context, j *api.MeetJoin, how string) error {
	if c.deps.Browser == nil {
		return c.fail(api.Err(api.CodeMeetBrowser, "no browser opener"))
	}
	if err := c.deps.Browser.OpenURL(ctx, j.URL); err != nil {
		c.log.Warn("open the meeting page", "room", j.Room.ID, "err", err)
		if errors.Is(err, context.Canceled) {
			return err
		}
		return c.fail(api.Err(api.CodeMeetBrowser, err.Error()))
	}
	fields := []string{"room", j.Room.ID, "title", j.Room.Title, "how", how}
	if j.Room.MeetingID != "" {
		fields = append(fields, "meeting", j.Room.MeetingID)
	}
	c.record("meet.opened", fields...)
	return nil
}
