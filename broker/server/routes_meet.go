package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

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
		{method: "POST", path: "/v1/meet/rooms/{id}/guests", role: api.RoleStaff, handle: s.createGuestLink,
			in: api.CreateGuestLinkRequest{}, out: api.GuestLink{}, maxBody: 4 << 10,
			summary: "A guest link for an outside party (a name, no account), expiring; the room's host or IT only. Guests wait in the lobby until the host admits them."},
		{method: "POST", path: "/v1/meet/rooms/{id}/knock", role: auth.Anonymous, handle: s.knock,
			in: api.KnockRequest{}, out: api.Knock{}, maxBody: 4 << 10,
			summary: "A guest's page knocks with its guest link (rate-limited per source); the answer is a one-time token for the lobby socket."},
		{method: "GET", path: "/v1/meet/rooms/{id}/lobby", role: auth.Anonymous, handle: s.meetLobby, stream: true,
			out: api.MeetSignal{}, query: map[string]string{"join": "a lobby token: a guest's from knock, or the host's from their join"},
			summary: "A meeting's lobby socket (WebSocket): a guest waits there, the host admits or declines; authorized by a one-time lobby token in the query."},
		{method: "POST", path: "/v1/meet/meetings", role: api.RoleStaff, handle: s.createMeeting,
			in: api.CreateMeetingRequest{}, out: api.Meeting{},
			summary: "Schedule a meeting (title, start, optional end, invitees from other departments); listed to the organizer's department and the invitees."},
		{method: "GET", path: "/v1/meet/meetings", role: api.RoleStaff, handle: s.listMeetings, out: api.MeetingList{},
			summary: "The scheduled meetings the caller may join, upcoming or running, by start; and the rooms running now in their department."},
		{method: "POST", path: "/v1/meet/meetings/{id}/join", role: api.RoleStaff, handle: s.joinMeeting, out: api.MeetJoin{},
			summary: "A one-time way into a scheduled meeting (its room opens with the first to come; the organizer hosts it)."},
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
	return s.joinAnswer(c, c.R.PathValue("id"))
}

// joinAnswer is the caller's way into a room, on this broker or the one
// hosting it.
func (s *Server) joinAnswer(c *call, roomID string) (api.MeetJoin, error) {
	j, err := s.meet.Join(c.R.Context(), roomID, c.P.User)
	if err != nil {
		return api.MeetJoin{}, err
	}
	if j.Broker != "" {
		// Another broker hosts the room (its media, peers and lobby are
		// in that broker's memory): the page goes to that broker's own
		// address, the host's with a lobby token good there.
		out := api.MeetJoin{Room: j.Room, Token: j.Token, ExpiresAt: j.Expires, Broker: j.Broker,
			URL: strings.TrimRight(j.Broker, "/") + "/meet/" + j.Room.ID + "#join=" + j.Token}
		if j.Door != "" {
			out.LobbyToken = j.Door
			out.URL += "&lobby=" + j.Door
		}
		return out, nil
	}
	return s.withDoor(c, api.MeetJoin{Room: j.Room, Token: j.Token, ExpiresAt: j.Expires,
		URL: s.meetBase(c.R) + "/meet/" + j.Room.ID + "#join=" + j.Token}), nil
}

func (s *Server) issueJoin(c *call, roomID string) (api.MeetJoin, error) {
	tok, room, exp, err := s.meet.Issue(c.R.Context(), roomID, c.P.User)
	if err != nil {
		return api.MeetJoin{}, err
	}
	return s.withDoor(c, api.MeetJoin{Room: room, Token: tok, ExpiresAt: exp,
		URL: s.meetBase(c.R) + "/meet/" + room.ID + "#join=" + tok}), nil
}

// meetBase is where links into this broker's rooms point: across
// brokers its own address (the room's tokens and lobby are in its
// memory; the shared address may lead to another), else where browsers
// reach it.
func (s *Server) meetBase(r *http.Request) string {
	if b := s.meet.LinkBase(); b != "" {
		return strings.TrimRight(b, "/")
	}
	return s.baseURL(r)
}

// withDoor gives the host's way into a room of this broker the lobby
// token too: their page opens the lobby, where guests knock.
func (s *Server) withDoor(c *call, j api.MeetJoin) api.MeetJoin {
	if door := s.meet.Door(c.R.Context(), j.Room.ID, c.P.User); door != "" {
		j.LobbyToken = door
		j.URL += "&lobby=" + door
	}
	return j
}

func (s *Server) createMeeting(c *call) (any, error) {
	if s.sched == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	var req api.CreateMeetingRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	m, err := s.sched.Create(c.R.Context(), c.P.User, req)
	if err != nil {
		return nil, err
	}
	return created{m}, nil
}

func (s *Server) listMeetings(c *call) (any, error) {
	if s.sched == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	ms, err := s.sched.List(c.R.Context(), c.P.User)
	if err != nil {
		return nil, err
	}
	out := api.MeetingList{Meetings: ms, Rooms: []api.Room{}}
	if out.Meetings == nil {
		out.Meetings = []api.Meeting{}
	}
	if s.meet != nil {
		ids := make([]string, len(out.Meetings))
		for i, m := range out.Meetings {
			ids[i] = m.ID
		}
		running, err := s.meet.MeetingRooms(c.R.Context(), ids)
		if err != nil {
			return nil, err
		}
		for i := range out.Meetings {
			if r, ok := running[out.Meetings[i].ID]; ok {
				out.Meetings[i].Room = &r
			}
		}
		if out.Rooms, err = s.meet.Rooms(c.R.Context(), c.P.User); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Server) joinMeeting(c *call) (any, error) {
	if s.meet == nil || s.sched == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	m, err := s.sched.ForJoin(c.R.Context(), c.P.User, c.R.PathValue("id"))
	if err != nil {
		return nil, err
	}
	room, err := s.meet.ForMeeting(c.R.Context(), m)
	if err != nil {
		return nil, err
	}
	// The room may be another broker's: the answer sends the caller there.
	return s.joinAnswer(c, room.ID)
}

func (s *Server) createGuestLink(c *call) (any, error) {
	if s.meet == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	var req api.CreateGuestLinkRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	if req.ValidMinutes < 0 {
		return nil, api.Err(api.CodeValidation, "valid_minutes: a number of minutes, or nothing for an hour")
	}
	l, tok, err := s.meet.GuestLink(c.R.Context(), c.R.PathValue("id"), c.P.User, req.Name, time.Duration(req.ValidMinutes)*time.Minute)
	if err != nil {
		return nil, err
	}
	// In the fragment, as join tokens are: never sent, never logged. A
	// link into another broker's room comes with its URL (that broker's).
	if l.URL == "" {
		l.URL = s.meetBase(c.R) + "/meet/" + l.Room.ID + "#guest=" + tok
	}
	return created{l}, nil
}

// knock is public: anyone with a guest link's page calls it. The link is
// a bearer secret, so attempts are rate-limited per source address.
func (s *Server) knock(c *call) (any, error) {
	if s.meet == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	if err := s.throttle(c, s.limits.guest, "guest knocks", "ゲストの入室要求"); err != nil {
		return nil, err
	}
	var req api.KnockRequest
	if err := c.Decode(&req); err != nil {
		return nil, err
	}
	return s.meet.Knock(c.R.Context(), c.R.PathValue("id"), req.Link)
}

func (s *Server) meetLobby(c *call) (any, error) {
	if s.meet == nil {
		return nil, api.Err(api.CodeMeetUnavailable)
	}
	if !strings.EqualFold(c.R.Header.Get("Upgrade"), "websocket") {
		return nil, api.Err(api.CodeBadRequest, "connect with a WebSocket (Upgrade: websocket)")
	}
	if err := s.throttle(c, s.limits.guest, "lobby connections", "ロビーへの接続"); err != nil {
		return nil, err
	}
	t, err := s.meet.RedeemLobby(c.R.Context(), c.R.PathValue("id"), c.R.URL.Query().Get("join"))
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
	if err := s.meet.ServeLobby(ctx, conn, t); err != nil {
		s.log.Warn("meet lobby socket", "room", t.RoomID, "user", t.UserID, "err", err)
	}
	return nil, nil
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
