package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/meet"
)

// meetRoutes are web meetings. Staff start a room or ask for a way into
// one with their access token; the browser then opens the meeting page
// and its signalling socket with a join token, which is not an access
// token: it names one person and one room, is good for one connection
// within a few minutes, and opens nothing else. A browser cannot set a
// header on a WebSocket, so the join token rides in the query; the
// signalling route is therefore Anonymous in the table (the middleware
// looks for no access token there) and the handler redeems the join
// token itself, before the upgrade, so a refusal is a plain 401.
func (s *Server) meetRoutes() []route {
	return []route{
		{method: "POST", path: "/v1/meet/rooms", role: api.RoleStaff, handle: s.createRoom,
			in: api.CreateRoomRequest{}, out: api.MeetJoin{},
			summary: "Meet now: open a meeting room; the answer is the caller's own one-time way in (join token and page link)."},
		{method: "POST", path: "/v1/meet/rooms/{id}/join", role: api.RoleStaff, handle: s.joinRoom, out: api.MeetJoin{},
			summary: "A one-time way into a running meeting for the caller: a join token for one signalling connection, valid a few minutes."},
		{method: "GET", path: "/v1/meet/rooms/{id}/signal", role: auth.Anonymous, handle: s.meetSignal, stream: true,
			out: api.MeetSignal{}, query: map[string]string{"join": "the join token (one connection, one room, a few minutes)"},
			summary: "A meeting's signalling socket (WebSocket); authorized by the join token in the query, not by an access token."},
		{method: "GET", path: "/meet/{id}", role: auth.Anonymous, handle: meetPage.index,
			summary: "The meeting page (HTML); the join token is in the link's fragment, which the browser never sends."},
		{method: "GET", path: "/meet/assets/{file}", role: auth.Anonymous, handle: meetPage.asset,
			summary: "The meeting page's script and style sheet."},
	}
}

func (s *Server) createRoom(c *call) (any, error) {
	if s.meet == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	var req api.CreateRoomRequest
	if c.R.ContentLength != 0 {
		if err := c.Decode(&req); err != nil {
			return nil, err
		}
	}
	room, err := s.meet.Create(c.R.Context(), c.P.User, req.Title)
	if err != nil {
		return nil, err
	}
	j, err := s.issueJoin(c, room.ID)
	if err != nil {
		return nil, err
	}
	return created{j}, nil
}

func (s *Server) joinRoom(c *call) (any, error) {
	if s.meet == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	j, err := s.meet.Join(c.R.Context(), c.R.PathValue("id"), c.P.User)
	if err != nil {
		return nil, err
	}
	if j.Broker != "" {
		// Another broker hosts the room (its media and peers are in that
		// broker's memory): the page goes to that broker's own address.
		return api.MeetJoin{Room: j.Room, Token: j.Token, ExpiresAt: j.Expires, Broker: j.Broker,
			URL: strings.TrimRight(j.Broker, "/") + "/meet/" + j.Room.ID + "#join=" + j.Token}, nil
	}
	return api.MeetJoin{Room: j.Room, Token: j.Token, ExpiresAt: j.Expires,
		URL: s.baseURL(c.R) + "/meet/" + j.Room.ID + "#join=" + j.Token}, nil
}

func (s *Server) issueJoin(c *call, roomID string) (api.MeetJoin, error) {
	tok, room, exp, err := s.meet.Issue(c.R.Context(), roomID, c.P.User)
	if err != nil {
		return api.MeetJoin{}, err
	}
	return api.MeetJoin{Room: room, Token: tok, ExpiresAt: exp,
		URL: s.baseURL(c.R) + "/meet/" + room.ID + "#join=" + tok}, nil
}

// baseURL is where browsers reach the broker: the configured public URL,
// or the address this request came to.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// browserHost is the host name (no port) browsers reach the broker by.
func (s *Server) browserHost(r *http.Request) string {
	if u, err := url.Parse(s.baseURL(r)); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

func (s *Server) meetSignal(c *call) (any, error) {
	if s.meet == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	// Checked before the token is spent: a request that cannot become a
	// socket should not use up someone's link.
	if !strings.EqualFold(c.R.Header.Get("Upgrade"), "websocket") {
		return nil, api.Err(api.CodeBadRequest, "connect with a WebSocket (Upgrade: websocket)")
	}
	t, err := s.meet.Redeem(c.R.Context(), c.R.PathValue("id"), c.R.URL.Query().Get("join"))
	if err != nil {
		return nil, err
	}
	conn, err := websocket.Accept(c.W, c.R, nil)
	if err != nil {
		return nil, nil // Accept answered the client
	}
	s.sockets.Add(1)
	defer s.sockets.Done()
	ctx, cancel := context.WithCancel(s.socketsCtx)
	defer cancel()
	if err := s.meet.Serve(ctx, conn, t, s.browserHost(c.R)); err != nil {
		s.log.Warn("meet socket", "room", t.RoomID, "user", t.UserID, "err", err)
	}
	return nil, nil
}

// meetCSP keeps the page to its own files and its own broker: no script
// from anywhere else, nothing framed, media only from its own streams.
const meetCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; media-src 'self' blob: mediastream:; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// meetPage is the meeting page. The camera and mic are for this page
// only, never for a frame.
var meetPage = staticPage{files: meet.Page(), csp: meetCSP, permissions: "camera=(self), microphone=(self), display-capture=(self)"}
