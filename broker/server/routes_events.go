package server

import (
	"context"
	"strconv"
	"strings"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/events"
)

// eventsDomain is the event socket: one WebSocket per running app for
// everything the broker pushes. Other domains publish with s.events.Publish.
func (s *Server) eventsRoutes() []route {
	return []route{
		{method: "GET", path: "/v1/events", role: api.RoleStaff, handle: s.eventSocket, stream: true, queryToken: true,
			out: api.Event{}, query: map[string]string{"after": "last sequence number seen (resume); 0 or absent: from the oldest kept"},
			summary: "Event socket (WebSocket, one per app): queue position, wake progress, session warnings and ends; each event has a per-user sequence number."},
	}
}

func (s *Server) eventSocket(c *call) (any, error) {
	var after int64
	if v := c.R.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, api.Err(api.CodeValidation, "after: a sequence number (0 or more)")
		}
		after = n
	}
	if !strings.EqualFold(c.R.Header.Get("Upgrade"), "websocket") {
		return nil, api.Err(api.CodeBadRequest, "connect with a WebSocket (Upgrade: websocket)")
	}
	sock, err := events.Accept(c.W, c.R)
	if err != nil {
		return nil, nil // Accept answered the client
	}
	s.sockets.Add(1)
	defer s.sockets.Done()
	ctx, cancel := context.WithCancel(s.socketsCtx)
	defer cancel()
	if err := s.events.ServeSocket(ctx, sock, events.Client{UserID: c.P.User.ID, DeviceID: c.P.DeviceID, SessionID: c.P.SessionID}, after); err != nil {
		s.log.Warn("event socket", "user", c.P.User.ID, "err", err)
	}
	return nil, nil
}
