package meet

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Hosts records which broker hosts each running room, where several
// brokers share one database: a room lives in its broker's memory (its
// peers, tracks and media port), so a join asked of another broker is
// sent to that one's own address.
type Hosts interface {
	PutRoomHost(ctx context.Context, h RoomHost) error
	// RoomHost returns the room's host, ErrNoHost when none.
	RoomHost(ctx context.Context, id string) (RoomHost, error)
	// RoomHostsOf returns the records of those of ids that have one.
	RoomHostsOf(ctx context.Context, ids []string) ([]RoomHost, error)
	// TouchRoomHosts marks the rooms as still running at at.
	TouchRoomHosts(ctx context.Context, ids []string, at time.Time) error
	DeleteRoomHost(ctx context.Context, id string) error
	// ClaimRoomHost records h unless another broker's record of the
	// same room was seen at or after live (that broker hosts it), and
	// returns the record in force: a scheduled meeting's room opens on
	// one broker however many open it at once.
	ClaimRoomHost(ctx context.Context, h RoomHost, live time.Time) (RoomHost, error)
	// NowRoomHosts lists the "meet now" rooms (no meeting) seen at or
	// after live that are the department's (department not "") or
	// created by userID, by creation.
	NowRoomHosts(ctx context.Context, department, userID string, live time.Time) ([]RoomHost, error)
	// PurgeRoomHosts deletes rooms not touched since before (their
	// broker died), returning how many.
	PurgeRoomHosts(ctx context.Context, before time.Time) (int64, error)
}

// RoomHost is one running room and the broker that hosts it.
type RoomHost struct {
	ID        string
	Broker    string // the hosting broker's own base URL (https://host:port)
	Title     string
	CreatedBy string
	CreatedAt time.Time
	SeenAt    time.Time
	// Department is a "meet now" room's, whose members it is listed to;
	// Meeting the scheduled meeting whose room it is ("" for none).
	Department string
	Meeting    string
}

// ErrNoHost is Hosts.RoomHost's answer for a room no broker hosts.
var ErrNoHost = errors.New("meet: no broker hosts the room")

// Across brokers, each hosting broker touches its rooms every
// HostsEvery; a room not touched for hostTTL is taken for gone with its
// broker (killed), and its record is purged after hostPurge.
const (
	HostsEvery = 30 * time.Second
	hostTTL    = 4 * HostsEvery
	hostPurge  = 24 * time.Hour
)

// remotePrefix marks a join token issued by one broker for a room that
// another hosts: signed with the key all brokers of the database share,
// so that the host can check it without asking anyone.
const remotePrefix = "zmr_"

// remoteTicket is what a remote token carries: a join token, the host's
// lobby token (For forDoor) or a guest link (For forGuest, with the
// link's ID), each good at the hosting broker only for what it is for.
type remoteTicket struct {
	Room    string `json:"r"`
	User    string `json:"u"`
	Name    string `json:"n"`
	Expires int64  `json:"e"` // unix ms
	Nonce   string `json:"x"` // makes a join or lobby token single-use at the host
	For     string `json:"f,omitempty"`
	Link    string `json:"l,omitempty"`
}

// forGuest marks a remote token that is a guest link: opened again until
// it expires, as a guest link made at the host is.
const forGuest = "guest"

// TokenKey derives the key of remote join tokens from the broker's
// secret key (the same on every broker of a database).
func TokenKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("zaitaku meet remote join token v1"))
	return m.Sum(nil)
}

func (s *Service) sign(t remoteTicket) string {
	b, _ := json.Marshal(t)
	m := hmac.New(sha256.New, s.cfg.TokenKey)
	m.Write(b)
	return remotePrefix + base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verifyRemote checks a remote token's signature and reads it.
func (s *Service) verifyRemote(token string) (remoteTicket, bool) {
	if len(s.cfg.TokenKey) == 0 || len(token) > 1024 || !strings.HasPrefix(token, remotePrefix) {
		return remoteTicket{}, false
	}
	body, sig, ok := strings.Cut(strings.TrimPrefix(token, remotePrefix), ".")
	if !ok {
		return remoteTicket{}, false
	}
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil {
		return remoteTicket{}, false
	}
	m := hmac.New(sha256.New, s.cfg.TokenKey)
	m.Write(b)
	if !hmac.Equal(m.Sum(nil), got) {
		return remoteTicket{}, false
	}
	var t remoteTicket
	if json.Unmarshal(b, &t) != nil {
		return remoteTicket{}, false
	}
	return t, true
}

// redeemRemote checks a remote join token (for "") or host's lobby token
// (forDoor) and spends it. A token for anything else is refused: a
// lobby token opens no signalling socket, a guest link is knocked with.
func (s *Service) redeemRemote(roomID, token, forWhat string) (Ticket, error) {
	t, ok := s.verifyRemote(token)
	if !ok || t.Nonce == "" {
		return Ticket{}, ErrRefused
	}
	if t.For != forWhat {
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "not a token for this socket")
	}
	now := s.now()
	exp := time.UnixMilli(t.Expires)
	s.mu.Lock()
	for n, e := range s.spent {
		if !now.Before(e) {
			delete(s.spent, n)
		}
	}
	_, used := s.spent[t.Nonce]
	if !used {
		s.spent[t.Nonce] = exp
	}
	r := s.room[roomID]
	s.mu.Unlock()
	switch {
	case used:
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "used")
	case !now.Before(exp):
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "expired")
	case t.Room != roomID:
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "for another room")
	case r == nil:
		return Ticket{}, ErrNotFound
	case forWhat == forDoor && r.host != t.User:
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "not the room's host")
	}
	return Ticket{RoomID: t.Room, UserID: t.User, Name: t.Name, Expires: exp, For: forWhat}, nil
}

// remoteHost is the live record of a room another broker hosts;
// ErrNotFound when none (or when it names this broker, before a restart).
func (s *Service) remoteHost(ctx context.Context, roomID string) (RoomHost, error) {
	if s.cfg.Hosts == nil {
		return RoomHost{}, ErrNotFound
	}
	h, err := s.cfg.Hosts.RoomHost(ctx, roomID)
	if errors.Is(err, ErrNoHost) {
		return RoomHost{}, ErrNotFound
	}
	if err != nil {
		return RoomHost{}, err
	}
	if !s.elsewhere(h) {
		return RoomHost{}, ErrNotFound // its broker is gone (or it was this one, before a restart)
	}
	return h, nil
}

// elsewhere: h is a room another broker, alive, hosts.
func (s *Service) elsewhere(h RoomHost) bool {
	return s.now().Sub(h.SeenAt) <= hostTTL && h.Broker != "" && h.Broker != s.selfURL()
}

// issueRemote gives u a way into a room another broker hosts: a signed
// token, good at that broker, and that broker's address; the room's host
// gets a lobby token for that broker's lobby too (Join.Door).
func (s *Service) issueRemote(ctx context.Context, roomID string, u api.User) (Join, error) {
	h, err := s.remoteHost(ctx, roomID)
	if err != nil {
		return Join{}, err
	}
	now := s.now()
	t := remoteTicket{Room: roomID, User: u.ID, Name: u.Name, Expires: now.Add(JoinTTL).UnixMilli(), Nonce: randomID(16)}
	j := Join{Token: s.sign(t), Expires: time.UnixMilli(t.Expires), Broker: h.Broker,
		Room: api.Room{ID: h.ID, Title: h.Title, CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, Capacity: Capacity}}
	if u.ID == h.CreatedBy {
		d := t
		d.Nonce, d.For = randomID(16), forDoor
		j.Door = s.sign(d)
	}
	return j, nil
}

// remoteGuestLink makes a guest link into a room another broker hosts,
// signed so that the host takes it: the host or IT only, as at the host.
func (s *Service) remoteGuestLink(ctx context.Context, roomID string, by api.User, name string, valid time.Duration) (api.GuestLink, string, string, error) {
	h, err := s.remoteHost(ctx, roomID)
	if err != nil {
		return api.GuestLink{}, "", "", err
	}
	if by.ID != h.CreatedBy && !by.HasRole(api.RoleAdmin) && !by.HasRole(api.RoleDeptAdmin) {
		return api.GuestLink{}, "", "", api.Err(api.CodeMeetNotHost, "only the host or IT makes guest links")
	}
	now := s.now()
	t := remoteTicket{Room: roomID, User: by.ID, Name: name, Expires: now.Add(valid).UnixMilli(), For: forGuest, Link: randomID(9)}
	l := api.GuestLink{ID: t.Link, Name: name, ExpiresAt: time.UnixMilli(t.Expires),
		Room: api.Room{ID: h.ID, Title: h.Title, CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, Capacity: Capacity}}
	return l, s.sign(t), h.Broker, nil
}

// remoteGuest reads a guest link made by another broker for a room of
// this one; ok is false when it is none (a link made here, or forged).
func (s *Service) remoteGuest(roomID, link string) (guestLink, bool) {
	t, ok := s.verifyRemote(link)
	if !ok || t.For != forGuest || t.Link == "" {
		return guestLink{}, false
	}
	return guestLink{id: t.Link, roomID: t.Room, name: t.Name, by: t.User, expires: time.UnixMilli(t.Expires)}, true
}

// LinkBase is where meeting links of this broker's rooms point across
// brokers: this broker's own address, since its rooms' lobbies and
// tokens are in its memory (a link to the shared address could reach
// another broker). Empty on one broker: links use the address asked.
func (s *Service) LinkBase() string {
	if s.cfg.Hosts == nil {
		return ""
	}
	return s.selfURL()
}

// SetSelf sets this broker's own base URL, once its listener is up
// (before it serves).
func (s *Service) SetSelf(url string) {
	s.mu.Lock()
	s.self = strings.TrimRight(url, "/")
	s.mu.Unlock()
}

func (s *Service) selfURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self
}

// Join is a way into a room: the token, and the broker to take it to
// (empty: this one).
type Join struct {
	Token   string
	Room    api.Room
	Expires time.Time
	Broker  string
	Door    string // the host's lobby token at that broker (the host only)
}

// recordHost records a new room as this broker's.
func (s *Service) recordHost(ctx context.Context, r api.Room, department string) {
	if s.cfg.Hosts == nil {
		return
	}
	if err := s.cfg.Hosts.PutRoomHost(ctx, RoomHost{ID: r.ID, Broker: s.selfURL(), Title: r.Title, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, SeenAt: s.now(), Department: department}); err != nil {
		// The room works here; other brokers cannot send anyone to it.
		s.log.Warn("meet: record the room's broker", "room", r.ID, "err", err)
	}
}

func (s *Service) forgetHost(id string) {
	if s.cfg.Hosts == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.cfg.Hosts.DeleteRoomHost(ctx, id); err != nil {
		s.log.Warn("meet: forget the room's broker", "room", id, "err", err)
	}
}

// TouchHosts tells the other brokers that this one's rooms still run,
// and purges the records of rooms whose broker died long ago (the
// meet.hosts job, every HostsEvery; only across brokers).
func (s *Service) TouchHosts(ctx context.Context) {
	if s.cfg.Hosts == nil {
		return
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.room))
	for id := range s.room {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	now := s.now()
	if len(ids) > 0 {
		if err := s.cfg.Hosts.TouchRoomHosts(ctx, ids, now); err != nil {
			s.log.Warn("meet: touch the rooms' records", "err", err)
		}
	}
	if n, err := s.cfg.Hosts.PurgeRoomHosts(ctx, now.Add(-hostPurge)); err != nil {
		s.log.Warn("meet: purge rooms of dead brokers", "err", err)
	} else if n > 0 {
		_ = s.cfg.Audit.Record(ctx, audit.Event{At: now, Actor: "system", Action: "meet.hosts_purged",
			Fields: map[string]string{"rooms": strconv.FormatInt(n, 10)}})
	}
}
