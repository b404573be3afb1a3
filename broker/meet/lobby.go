package meet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Guests and the lobby. An outside party has no account: the host (or
// IT) makes a guest link that names them and expires. The guest's page
// knocks with it (POST, rate-limited: the link is a bearer secret) and
// gets a one-time lobby token; on the lobby socket the guest waits, with
// no peer connection and nothing of the room but its title, until the
// host, on a lobby socket of their own, admits or declines them. An
// admitted guest is handed a one-time join token and joins like anyone
// else, as the participant "guest:<link ID>", which marks them a guest
// in every participant list (api.MeetParticipant.Guest) and in the
// operation log. A lobby token opens no signalling socket, and a join
// token no lobby: a guest still waiting cannot signal or subscribe.

// Lobby token kinds (Ticket.For).
const (
	forDoor  = "door"  // the host's lobby socket
	forKnock = "knock" // a guest waiting to be let in
)

// DefaultGuestLink is how long a guest link lasts when the host says nothing.
const DefaultGuestLink = time.Hour

// maxLobbyMessage bounds a message on the lobby socket: the host's admit
// or decline, or a guest's leave; a few hundred bytes.
const maxLobbyMessage = 4 << 10

// maxWaiting bounds the guests waiting at one room's door, so that a
// leaked link cannot fill the broker's memory with knocks.
const maxWaiting = 50

// guestLink is a stored guest link (the link itself only as its hash).
type guestLink struct {
	id, roomID, name, by string
	expires              time.Time
}

// waiter is a guest at the door.
type waiter struct {
	id, userID, name string
	since            time.Time
	out              chan api.MeetSignal
}

// door is one of the host's lobby sockets.
type door struct {
	out chan api.MeetSignal
}

// GuestLink makes a guest link into a running room for an outside party
// called name. Only the room's host or IT (admin, a department's IT
// contact) may. The link goes in the page URL's fragment.
func (s *Service) GuestLink(ctx context.Context, roomID string, by api.User, name string, valid time.Duration) (api.GuestLink, string, error) {
	name = strings.TrimSpace(name)
	if err := api.CheckText("name", name, 100); err != nil {
		return api.GuestLink{}, "", err
	}
	if name == "" {
		return api.GuestLink{}, "", api.Err(api.CodeValidation, "name: the guest's name, as the host will see it")
	}
	if valid <= 0 {
		valid = DefaultGuestLink
	}
	if valid > api.MaxGuestLinkMinutes*time.Minute {
		return api.GuestLink{}, "", api.Errf(api.CodeValidation, "valid_minutes: at most %d", api.MaxGuestLinkMinutes)
	}
	r := s.lookup(roomID)
	if r == nil {
		// Across brokers the room may be another's: the link is signed
		// for it and points there (URL set), where the guest knocks.
		l, tok, broker, err := s.remoteGuestLink(ctx, roomID, by, name, valid)
		if err != nil {
			return api.GuestLink{}, "", err
		}
		l.URL = strings.TrimRight(broker, "/") + "/meet/" + roomID + "#guest=" + tok
		_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: by.ID, Action: "meet.guest_link_created", Target: roomID,
			Fields: map[string]string{"guest": api.GuestUserPrefix + l.ID, "name": name, "expires": l.ExpiresAt.UTC().Format(time.RFC3339),
				"broker": broker}})
		return l, tok, nil
	}
	if by.ID != r.host && !by.HasRole(api.RoleAdmin) && !by.HasRole(api.RoleDeptAdmin) {
		return api.GuestLink{}, "", api.Err(api.CodeMeetNotHost, "only the host or IT makes guest links")
	}
	now := s.now()
	l := guestLink{id: randomID(9), roomID: roomID, name: name, by: by.ID, expires: now.Add(valid)}
	tok := "zmg_" + randomID(32)
	s.mu.Lock()
	for h, old := range s.links {
		if !now.Before(old.expires) {
			delete(s.links, h)
		}
	}
	s.links[sha256.Sum256([]byte(tok))] = l
	s.mu.Unlock()
	_ = s.cfg.Audit.Record(ctx, audit.Event{At: now, Actor: by.ID, Action: "meet.guest_link_created", Target: roomID,
		Fields: map[string]string{"guest": api.GuestUserPrefix + l.id, "name": name, "expires": l.expires.UTC().Format(time.RFC3339)}})
	return api.GuestLink{ID: l.id, Room: r.info(), Name: name, ExpiresAt: l.expires}, tok, nil
}

// Knock turns a guest link into a one-time lobby token for its room. The
// link stays good until it expires (the guest may reload, or try again
// after a decline); each knock waits for the host anew.
func (s *Service) Knock(ctx context.Context, roomID, link string) (api.Knock, error) {
	if link == "" {
		return api.Knock{}, api.Err(api.CodeMeetGuestLinkRefused, "no link")
	}
	if len(link) > 2048 {
		return api.Knock{}, api.Err(api.CodeMeetGuestLinkRefused, "not a guest link")
	}
	if s.cfg.Hosts != nil {
		s.mu.Lock()
		local := s.room[roomID] != nil
		s.mu.Unlock()
		if !local {
			// Another broker's room: the link is for that broker to
			// judge (one made there lives only in its memory), so the
			// page is sent on, as a join is.
			h, err := s.remoteHost(ctx, roomID)
			switch {
			case err == nil:
				return api.Knock{Room: hostRoom(h), Broker: h.Broker}, nil
			case !errors.Is(err, ErrNotFound):
				return api.Knock{}, err
			}
		}
	}
	h := sha256.Sum256([]byte(link))
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[h]
	if !ok && strings.HasPrefix(link, remotePrefix) {
		// Made by another broker of the database for this one's room.
		if l, ok = s.remoteGuest(roomID, link); ok && !s.now().Before(l.expires) {
			return api.Knock{}, api.Err(api.CodeMeetGuestLinkRefused, "expired")
		}
	}
	switch {
	case !ok:
		return api.Knock{}, api.Err(api.CodeMeetGuestLinkRefused)
	case !s.now().Before(l.expires):
		delete(s.links, h)
		return api.Knock{}, api.Err(api.CodeMeetGuestLinkRefused, "expired")
	case subtle.ConstantTimeCompare([]byte(l.roomID), []byte(roomID)) != 1:
		return api.Knock{}, api.Err(api.CodeMeetGuestLinkRefused, "for another room")
	}
	r := s.room[roomID]
	if r == nil {
		return api.Knock{}, ErrNotFound
	}
	userID := api.GuestUserPrefix + l.id
	if err := r.admits(userID); err != nil {
		return api.Knock{}, err
	}
	tok, t := s.ticketLocked(Ticket{RoomID: roomID, UserID: userID, Name: l.name, For: forKnock}, "zmk_")
	return api.Knock{Room: r.info(), Name: l.name, Token: tok, ExpiresAt: t.Expires}, nil
}

// Door is the host's one-time token for the room's lobby socket; empty
// for anyone else.
func (s *Service) Door(ctx context.Context, roomID string, u api.User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room[roomID]
	if r == nil || r.host != u.ID {
		return ""
	}
	tok, _ := s.ticketLocked(Ticket{RoomID: roomID, UserID: u.ID, Name: u.Name, For: forDoor}, "zml_")
	return tok
}

// RedeemLobby spends a lobby token for roomID, as Redeem does join tokens.
func (s *Service) RedeemLobby(ctx context.Context, roomID, token string) (Ticket, error) {
	if token == "" {
		return Ticket{}, ErrRefused
	}
	if strings.HasPrefix(token, remotePrefix) {
		// The host's, given by the broker their join went through.
		return s.redeemRemote(roomID, token, forDoor)
	}
	h := sha256.Sum256([]byte(token))
	s.mu.Lock()
	t, ok := s.tok[h]
	delete(s.tok, h)
	r := s.room[roomID]
	s.mu.Unlock()
	switch {
	case !ok:
		return Ticket{}, ErrRefused
	case !s.now().Before(t.Expires):
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "expired")
	case subtle.ConstantTimeCompare([]byte(t.RoomID), []byte(roomID)) != 1:
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "for another room")
	case r == nil:
		return Ticket{}, ErrNotFound
	case t.For == "":
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "a join token opens the signalling socket, not the lobby")
	}
	return t, nil
}

// ServeLobby runs a lobby socket until it closes: the host's door, or a
// guest waiting at it.
func (s *Service) ServeLobby(ctx context.Context, conn *websocket.Conn, t Ticket) error {
	defer conn.CloseNow()
	conn.SetReadLimit(maxLobbyMessage)
	r := s.lookup(t.RoomID)
	if r == nil {
		writeClose(ctx, conn, ErrNotFound)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan api.MeetSignal, 64)
	var handle func(m api.MeetSignal) error
	switch t.For {
	case forDoor:
		d := &door{out: out}
		r.mu.Lock()
		r.doors[d] = true
		list := r.waitingLocked()
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			delete(r.doors, d)
			r.mu.Unlock()
		}()
		out <- api.MeetSignal{Type: api.LobbyList, Participants: list}
		handle = func(m api.MeetSignal) error { s.decide(ctx, r, t, out, m); return nil }
	case forKnock:
		w := &waiter{id: randomID(9), userID: t.UserID, name: t.Name, since: s.now(), out: out}
		if err := r.enqueue(w); err != nil {
			writeClose(ctx, conn, err)
			return nil
		}
		defer r.dequeue(w)
		info := r.info()
		me := w.participant()
		_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: t.UserID, Action: "meet.guest_waiting", Target: r.id,
			Fields: map[string]string{"guest": t.UserID, "name": t.Name}})
		out <- api.MeetSignal{Type: api.LobbyWaiting, Participant: &me, Room: &info}
		handle = func(m api.MeetSignal) error {
			if m.Type == "leave" {
				return errLeave
			}
			// Anything else (an answer, a candidate, chat, a host
			// action) is a participant's: not yet.
			post(out, api.MeetSignal{Type: "error", Error: api.Err(api.CodeMeetNotAdmitted)})
			return nil
		}
	default:
		writeClose(ctx, conn, ErrRefused)
		return nil
	}
	go lobbyWriter(ctx, cancel, conn, out)
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return nil
		}
		var m api.MeetSignal
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			post(out, api.MeetSignal{Type: "error", Error: api.Err(api.CodeMeetBadMessage, "not a lobby message: "+err.Error())})
			continue
		}
		if err := handle(m); errors.Is(err, errLeave) {
			conn.Close(websocket.StatusNormalClosure, "left")
			return nil
		}
	}
}

// lobbyWriter writes a lobby socket's messages; after a guest's admitted
// or declined it closes the socket, the guest's business here being done.
func lobbyWriter(ctx context.Context, cancel context.CancelFunc, conn *websocket.Conn, out chan api.MeetSignal) {
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-out:
			b, err := json.Marshal(m)
			if err != nil {
				continue
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err = conn.Write(wctx, websocket.MessageText, b)
			wcancel()
			if err != nil {
				return
			}
			if m.Type == api.LobbyAdmitted || m.Type == api.LobbyDeclined || m.Type == "ended" {
				conn.Close(websocket.StatusNormalClosure, m.Type)
				return
			}
		}
	}
}

// post queues m, dropping it if the socket is that far behind: a lobby
// list is sent again on the next change anyway.
func post(out chan api.MeetSignal, m api.MeetSignal) {
	select {
	case out <- m:
	default:
	}
}

// decide carries out the host's admit or decline; out is the host's
// lobby socket, which hears of a message it cannot use.
func (s *Service) decide(ctx context.Context, r *room, t Ticket, out chan api.MeetSignal, m api.MeetSignal) {
	if t.UserID != r.host {
		return // a door token is the host's only (Door)
	}
	if m.Type != api.LobbyAdmit && m.Type != api.LobbyDecline {
		post(out, api.MeetSignal{Type: "error", Error: api.Err(api.CodeMeetBadMessage, "lobby: want admit or decline, not "+strconv.Quote(m.Type))})
		return
	}
	r.mu.Lock()
	w := r.waiting[m.Target]
	if w == nil {
		r.mu.Unlock()
		post(out, api.MeetSignal{Type: "error", Error: api.Err(api.CodeMeetBadMessage, "lobby: nobody waiting is "+strconv.Quote(m.Target))})
		return
	}
	delete(r.waiting, w.id)
	if m.Type == api.LobbyAdmit {
		r.admitted[w.userID] = true
	}
	r.mu.Unlock()
	fields := map[string]string{"guest": w.userID, "name": w.name}
	if m.Type == api.LobbyAdmit {
		s.mu.Lock()
		tok, _ := s.ticketLocked(Ticket{RoomID: r.id, UserID: w.userID, Name: w.name}, "zmj_")
		s.mu.Unlock()
		// Audited before the guest hears of it: the log is never behind.
		_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: t.UserID, Action: "meet.guest_admitted", Target: r.id, Fields: fields})
		post(w.out, api.MeetSignal{Type: api.LobbyAdmitted, Token: tok})
	} else {
		_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: t.UserID, Action: "meet.guest_declined", Target: r.id, Fields: fields})
		post(w.out, api.MeetSignal{Type: api.LobbyDeclined, Error: api.Err(api.CodeMeetDeclined)})
	}
	r.lobbyChanged()
}

func (w *waiter) participant() api.MeetParticipant {
	return api.MeetParticipant{ID: w.id, Name: w.name, UserID: w.userID}
}

// enqueue puts w at the door and tells the host's lobby sockets.
func (r *room) enqueue(w *waiter) error {
	r.mu.Lock()
	if err := r.admitsLocked(w.userID); err != nil {
		r.mu.Unlock()
		return err
	}
	if len(r.waiting) >= maxWaiting {
		r.mu.Unlock()
		return ErrFull
	}
	r.waiting[w.id] = w
	r.mu.Unlock()
	r.lobbyChanged()
	return nil
}

// dequeue takes w from the door (gone, or decided) and tells the host.
func (r *room) dequeue(w *waiter) {
	r.mu.Lock()
	_, was := r.waiting[w.id]
	delete(r.waiting, w.id)
	r.mu.Unlock()
	if was {
		r.lobbyChanged()
	}
}

// waitingLocked lists the guests at the door, longest waiting first.
func (r *room) waitingLocked() []api.MeetParticipant {
	ws := make([]*waiter, 0, len(r.waiting))
	for _, w := range r.waiting {
		ws = append(ws, w)
	}
	sort.Slice(ws, func(i, j int) bool {
		if !ws[i].since.Equal(ws[j].since) {
			return ws[i].since.Before(ws[j].since)
		}
		return ws[i].id < ws[j].id
	})
	out := make([]api.MeetParticipant, len(ws))
	for i, w := range ws {
		out[i] = w.participant()
	}
	return out
}

// lobbyChanged sends the host's lobby sockets who waits now.
func (r *room) lobbyChanged() {
	r.mu.Lock()
	list := r.waitingLocked()
	doors := make([]*door, 0, len(r.doors))
	for d := range r.doors {
		doors = append(doors, d)
	}
	r.mu.Unlock()
	for _, d := range doors {
		post(d.out, api.MeetSignal{Type: api.LobbyList, Participants: list})
	}
}

// closeLobby tells everyone at the door that the room is gone; their
// sockets then close.
func (r *room) closeLobby() {
	r.mu.Lock()
	ws := make([]*waiter, 0, len(r.waiting))
	for _, w := range r.waiting {
		ws = append(ws, w)
	}
	r.waiting = map[string]*waiter{}
	r.mu.Unlock()
	for _, w := range ws {
		post(w.out, api.MeetSignal{Type: "ended", Error: api.Err(api.CodeMeetRoomNotFound)})
	}
}
