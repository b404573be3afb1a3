// Package meet is the broker's web meetings: rooms, one-time join tokens
// and a selective forwarding unit (SFU) on pion/webrtc. Every
// participant sends their camera and mic once, to the broker, which
// forwards each track to everyone else in the room; nothing is decoded,
// mixed or stored. Meetings are not recorded: no media reaches a disk.
package meet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"encoding/base64"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// Capacity is the most participants a room holds: beyond that a browser
// on a home line cannot decode everyone's video anyway.
const Capacity = 30

// JoinTTL is how long a join token may wait to be used. The app and the
// page use it at once; a link that lies around in a chat is useless.
const JoinTTL = 5 * time.Minute

// emptyRoomTTL is how long a room with nobody in it stays open, so that
// a host who reloads or comes back from a break finds it again.
const emptyRoomTTL = 2 * time.Hour

//go:embed web
var web embed.FS

// Page is the meeting page's static files (index.html, meet.js, meet.css).
func Page() fs.FS {
	sub, _ := fs.Sub(web, "web")
	return sub
}

// Config is what the service is built from.
type Config struct {
	// UDP carries every participant's media (ICE over one UDP mux). The
	// service owns it from New on and closes it in Close.
	UDP net.PacketConn
	// PublicIPs are the addresses to announce instead of the local ones
	// (the broker behind 1:1 NAT); empty: the interfaces' own addresses.
	PublicIPs []string
	// Interfaces keeps only the named network interfaces (empty: all).
	Interfaces []string
	// Loopback announces 127.0.0.1 too (tests and one-machine demos).
	Loopback bool
	// TURN, when set, runs the embedded TURN server on this TCP
	// listener (owned from New on); TURNPort is the port browsers are
	// told, when a port forward changes it (0: the listener's).
	TURN     net.Listener
	TURNPort int
	// TURNTLS, when set, serves the same TURN over TLS on this TCP
	// listener (owned from New on; TLS is done here, with TLSConfig):
	// for networks that let only TLS out, on 443 say. TLSConfig holds the
	// broker's own certificate, so that a browser that trusts the
	// meeting page trusts its TURN server the same way.
	TURNTLS   net.Listener
	TLSConfig *tls.Config
	// TCP, when set, carries ICE over TCP (RFC 6544, passive) for all
	// participants on this one listener (owned from New on), beside the
	// UDP mux: media straight to the SFU where UDP is blocked and this
	// port is not, without TURN's extra hop.
	TCP net.Listener
	// RelayIP is where TURN relays send from (default: see relayIP).
	RelayIP net.IP
	// ICEServers are a site's own STUN/TURN servers (a city hall that
	// already runs TURN on 443): every page gets them after the broker's.
	ICEServers []api.MeetICEServer
	// Across brokers on one database: Hosts records which broker hosts
	// each room (under this broker's own base URL, SetSelf), and
	// TokenKey (TokenKey of the shared secret key) signs the join tokens
	// this broker issues for rooms another hosts. Nil Hosts: one
	// broker, rooms are only here.
	Hosts    Hosts
	TokenKey []byte
	// Attendance (may be nil) hears who is in a meeting: chat presence.
	Attendance Attendance
	Audit      audit.Recorder
	Log        *slog.Logger
	Now        func() time.Time
}

// Service holds the rooms and the join tokens, in memory: a meeting
// lives no longer than the broker process, and neither do its tokens.
type Service struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	api  *webrtc.API
	mux  ice.UDPMux
	tcp  ice.TCPMux // nil without ICE over TCP
	mu   sync.Mutex
	room map[string]*room
	tok  map[[32]byte]Ticket // by SHA-256 of the token
	// spent holds the nonces of remote join tokens used here, until
	// they expire.
	spent map[string]time.Time
	self  string // this broker's own base URL (across brokers)
	done  bool

	turn      *turn.Server
	turnUsers map[string]string // TURN username → password, while its participant is in

	att   *attendance
	links map[[32]byte]guestLink // guest links, by SHA-256 of the link
}

// Ticket is what a redeemed join token lets in: one person into one room.
type Ticket struct {
	RoomID  string
	UserID  string
	Name    string
	Expires time.Time
	// For is what the token opens: the signalling socket (""), or the
	// room's lobby socket, as its host (forDoor) or as a guest who
	// knocked (forKnock). A token opens only what it is for.
	For string
}

// Sentinel errors; the server maps them through the api catalogue.
var (
	ErrNotFound = api.Err(api.CodeMeetRoomNotFound)
	ErrFull     = api.Err(api.CodeMeetRoomFull)
	ErrRefused  = api.Err(api.CodeMeetJoinRefused)
	ErrLocked   = api.Err(api.CodeMeetLocked)
	ErrRemoved  = api.Err(api.CodeMeetRemoved)
)

// New builds the service on cfg.UDP.
func New(cfg Config) (*Service, error) {
	if cfg.UDP == nil {
		return nil, errors.New("meet: no UDP socket")
	}
	if cfg.TURNTLS != nil && (cfg.TLSConfig == nil || len(cfg.TLSConfig.Certificates) == 0 && cfg.TLSConfig.GetCertificate == nil) {
		return nil, errors.New("meet: TURN over TLS needs the broker's certificate")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = audit.Slog{Log: cfg.Log}
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := interceptors(m, ir); err != nil {
		return nil, err
	}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: cfg.UDP})
	se := webrtc.SettingEngine{}
	se.SetICEUDPMux(mux)
	// One UDP port, IPv4, no mDNS: the broker's address is no secret, and
	// a city hall network answers no multicast.
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	var tcpMux ice.TCPMux
	if cfg.TCP != nil {
		tcpMux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: cfg.TCP, ReadBufferSize: 32,
			Logger: logging.NewDefaultLoggerFactory().NewLogger("ice-tcp")})
		se.SetICETCPMux(tcpMux)
		types = append(types, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(types)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	if len(cfg.Interfaces) > 0 {
		keep := map[string]bool{}
		for _, n := range cfg.Interfaces {
			keep[n] = true
		}
		se.SetInterfaceFilter(func(name string) bool { return keep[name] })
	}
	if len(cfg.PublicIPs) > 0 {
		se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	s := &Service{cfg: cfg, log: cfg.Log, now: cfg.Now, mux: mux, tcp: tcpMux,
		api:  webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		room: map[string]*room{}, tok: map[[32]byte]Ticket{}, spent: map[string]time.Time{}, turnUsers: map[string]string{},
		att:   &attendance{hook: cfg.Attendance, n: map[string]int{}},
		links: map[[32]byte]guestLink{}}
	if cfg.TURN != nil || cfg.TURNTLS != nil {
		if err := s.startTURN(); err != nil {
			_ = mux.Close()
			if tcpMux != nil {
				_ = tcpMux.Close()
			}
			return nil, err
		}
	}
	return s, nil
}

// ICETCPAddr is where ICE over TCP listens (nil: it does not).
func (s *Service) ICETCPAddr() net.Addr {
	if s.cfg.TCP == nil {
		return nil
	}
	return s.cfg.TCP.Addr()
}

// MediaAddr is where the media port listens.
func (s *Service) MediaAddr() net.Addr { return s.cfg.UDP.LocalAddr() }

// Create opens a room with host as its first (not yet joined) member.
func (s *Service) Create(ctx context.Context, host api.User, title string) (api.Room, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		title = host.Name
	}
	if err := api.CheckText("title", title, 200); err != nil {
		return api.Room{}, err
	}
	r := &room{svc: s, id: randomID(12), title: title, host: host.ID, department: host.Department, created: s.now(), idleSince: s.now(),
		peers: map[string]*peer{}, tracks: map[string]*forward{}, removed: map[string]bool{},
		admitted: map[string]bool{}, waiting: map[string]*waiter{}, doors: map[*door]bool{}}
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return api.Room{}, api.Err(api.CodeMeetUnavailable)
	}
	s.room[r.id] = r
	s.mu.Unlock()
	_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: host.ID, Action: "meet.room_created", Target: r.id,
		Fields: map[string]string{"title": title}})
	info := r.info()
	s.recordHost(ctx, info, host.Department)
	return info, nil
}

// ForMeeting returns the running room of a scheduled meeting, opening
// it for the first to come; its host is the organizer, whoever opened it.
// Across brokers the room's ID is derived from the meeting's, so that
// every broker finds the one record of it: a room another broker hosts
// is returned as that broker records it (Join then sends the caller
// there), and of two brokers opening it at once the record's claim
// lets one open it.
func (s *Service) ForMeeting(ctx context.Context, m api.Meeting) (api.Room, error) {
	if r := s.meetingRoom(m.ID); r != nil {
		return r.info(), nil
	}
	id := randomID(12)
	if s.cfg.Hosts != nil && len(s.cfg.TokenKey) > 0 {
		id = meetingRoomID(s.cfg.TokenKey, m.ID)
		h, err := s.remoteHost(ctx, id)
		if err == nil {
			return hostRoom(h), nil
		}
		if !errors.Is(err, ErrNotFound) {
			return api.Room{}, err
		}
		now := s.now()
		won, err := s.cfg.Hosts.ClaimRoomHost(ctx, RoomHost{ID: id, Broker: s.selfURL(), Title: m.Title, CreatedBy: m.CreatedBy,
			CreatedAt: now, SeenAt: now, Meeting: m.ID}, now.Add(-hostTTL))
		if err != nil {
			return api.Room{}, err
		}
		if won.Broker != s.selfURL() {
			return hostRoom(won), nil
		}
	}
	r := &room{svc: s, id: id, title: m.Title, host: m.CreatedBy, department: m.Department, meetingID: m.ID,
		created: s.now(), idleSince: s.now(), peers: map[string]*peer{}, tracks: map[string]*forward{}, removed: map[string]bool{},
		admitted: map[string]bool{}, waiting: map[string]*waiter{}, doors: map[*door]bool{}}
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		return api.Room{}, api.Err(api.CodeMeetUnavailable)
	}
	for _, x := range s.room {
		if x.meetingID == m.ID {
			// Opened meanwhile by another request to this broker.
			s.mu.Unlock()
			return x.info(), nil
		}
	}
	s.room[r.id] = r
	s.mu.Unlock()
	_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: m.CreatedBy, Action: "meet.room_created", Target: r.id,
		Fields: map[string]string{"title": m.Title, "meeting": m.ID}})
	return r.info(), nil
}

// meetingRoom is this broker's running room of a scheduled meeting.
func (s *Service) meetingRoom(meetingID string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.room {
		if r.meetingID == meetingID {
			return r
		}
	}
	return nil
}

// meetingRoomID is the room ID of a scheduled meeting across brokers:
// the same on every broker (the key is theirs alike), and no guess from
// the meeting's ID for anyone without the key.
func meetingRoomID(key []byte, meetingID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("zaitaku meeting room v1\x00" + meetingID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// hostRoom is what a broker knows of a room another broker hosts.
func hostRoom(h RoomHost) api.Room {
	return api.Room{ID: h.ID, Title: h.Title, CreatedBy: h.CreatedBy, CreatedAt: h.CreatedAt, Capacity: Capacity}
}

// Rooms lists the running rooms u may be shown: "meet now" rooms of
// their department and any they host, by creation, this broker's and,
// across brokers, those the others host (joined through them, as any
// room of another broker is). Scheduled meetings' rooms are listed with
// their meetings.
func (s *Service) Rooms(ctx context.Context, u api.User) ([]api.Room, error) {
	s.mu.Lock()
	var rs []*room
	for _, r := range s.room {
		if r.meetingID == "" && (r.host == u.ID || (r.department != "" && r.department == u.Department)) {
			rs = append(rs, r)
		}
	}
	s.mu.Unlock()
	out := make([]api.Room, 0, len(rs))
	seen := map[string]bool{}
	for _, r := range rs {
		out = append(out, r.info())
		seen[r.id] = true
	}
	if s.cfg.Hosts != nil {
		hs, err := s.cfg.Hosts.NowRoomHosts(ctx, u.Department, u.ID, s.now().Add(-hostTTL))
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			if !seen[h.ID] && s.elsewhere(h) {
				out = append(out, hostRoom(h))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// MeetingRooms maps the scheduled meetings among ids to their running
// rooms: this broker's, and across brokers those another broker hosts
// (found by the room ID every broker derives alike), so that the list
// shows a meeting as running whichever broker the caller asks.
func (s *Service) MeetingRooms(ctx context.Context, ids []string) (map[string]api.Room, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	s.mu.Lock()
	var rs []*room
	for _, r := range s.room {
		if r.meetingID != "" && want[r.meetingID] {
			rs = append(rs, r)
		}
	}
	s.mu.Unlock()
	out := map[string]api.Room{}
	for _, r := range rs {
		out[r.meetingID] = r.info()
	}
	if s.cfg.Hosts == nil || len(s.cfg.TokenKey) == 0 {
		return out, nil
	}
	byRoom := map[string]string{} // room ID → meeting ID, for those not running here
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			byRoom[meetingRoomID(s.cfg.TokenKey, id)] = id
		}
	}
	if len(byRoom) == 0 {
		return out, nil
	}
	hs, err := s.cfg.Hosts.RoomHostsOf(ctx, slices.Collect(maps.Keys(byRoom)))
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if id, ok := byRoom[h.ID]; ok && s.elsewhere(h) {
			out[id] = hostRoom(h)
		}
	}
	return out, nil
}

// Room returns a running room.
func (s *Service) Room(id string) (api.Room, error) {
	s.mu.Lock()
	r := s.room[id]
	s.mu.Unlock()
	if r == nil {
		return api.Room{}, ErrNotFound
	}
	return r.info(), nil
}

// Join makes a one-time way in for u into the room: here, or, across
// brokers, at the broker that hosts it (Join.Broker).
func (s *Service) Join(ctx context.Context, roomID string, u api.User) (Join, error) {
	tok, room, exp, err := s.Issue(ctx, roomID, u)
	if errors.Is(err, ErrNotFound) && s.cfg.Hosts != nil {
		return s.issueRemote(ctx, roomID, u)
	}
	return Join{Token: tok, Room: room, Expires: exp}, err
}

// Issue makes a one-time join token for u into a room of this broker.
func (s *Service) Issue(ctx context.Context, roomID string, u api.User) (string, api.Room, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.room[roomID]
	if r == nil {
		return "", api.Room{}, time.Time{}, ErrNotFound
	}
	if err := r.admits(u.ID); err != nil {
		return "", api.Room{}, time.Time{}, err
	}
	tok, t := s.ticketLocked(Ticket{RoomID: roomID, UserID: u.ID, Name: u.Name}, "zmj_")
	return tok, r.info(), t.Expires, nil
}

// ticketLocked stores a new one-time token for t, good for JoinTTL, and
// drops the expired ones. s.mu is held.
func (s *Service) ticketLocked(t Ticket, prefix string) (string, Ticket) {
	now := s.now()
	for h, old := range s.tok {
		if !now.Before(old.Expires) {
			delete(s.tok, h)
		}
	}
	tok := prefix + randomID(32)
	t.Expires = now.Add(JoinTTL)
	s.tok[sha256.Sum256([]byte(tok))] = t
	return tok, t
}

// Redeem spends a join token for roomID. A token for another room is
// refused and stays spent: whoever holds it was not meant to be here.
func (s *Service) Redeem(ctx context.Context, roomID, token string) (Ticket, error) {
	if token == "" {
		return Ticket{}, ErrRefused
	}
	if strings.HasPrefix(token, remotePrefix) {
		return s.redeemRemote(roomID, token, "")
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
	case t.For != "":
		// A lobby token: a guest still waiting may not signal.
		return Ticket{}, api.Err(api.CodeMeetJoinRefused, "a lobby token is no join token")
	}
	return t, nil
}

// Sweep closes rooms that have been empty for emptyRoomTTL.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	s.mu.Lock()
	var gone []string
	for id, r := range s.room {
		if r.emptyFor(now) > emptyRoomTTL {
			delete(s.room, id)
			r.closeLobby()
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		s.forgetHost(id)
		_ = s.cfg.Audit.Record(ctx, audit.Event{At: now, Actor: "system", Action: "meet.room_closed", Target: id})
	}
}

// Close ends every meeting and the media port.
func (s *Service) Close() {
	s.mu.Lock()
	s.done = true
	rooms := make([]*room, 0, len(s.room))
	for _, r := range s.room {
		rooms = append(rooms, r)
	}
	s.room = map[string]*room{}
	s.mu.Unlock()
	for _, r := range rooms {
		r.closeLobby()
		r.closeAll()
		s.forgetHost(r.id)
	}
	if s.turn != nil {
		_ = s.turn.Close()
	}
	_ = s.mux.Close()
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
	_ = s.cfg.UDP.Close()
}

// end closes r for everyone: no one joins it again.
func (s *Service) end(r *room, actor string) {
	s.mu.Lock()
	if s.room[r.id] == r {
		delete(s.room, r.id)
	}
	s.mu.Unlock()
	s.forgetHost(r.id)
	r.closeLobby()
	_ = s.cfg.Audit.Record(context.Background(), audit.Event{At: s.now(), Actor: actor, Action: "meet.room_ended", Target: r.id})
}

func (s *Service) lookup(id string) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.room[id]
}

// audioLevelURI is the RTP header extension with each audio packet's
// level (RFC 6464), which the speaker detector reads.
const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// interceptors are what every peer connection's packets pass through,
// and for what the broker sends, nothing: per packet and subscriber
// pion's NACK responder copies each packet into a buffer of its own and
// its sender-report recorder takes a lock, and its statistics recorder
// queues it for a getStats the broker never asks. The forwarding path
// does those itself, once per packet for all subscribers (forward.go:
// the layers' rings answer NACKs; chooseLoop sends sender reports). What
// the interceptors do is for what comes in: NACKs to publishers for what
// they lost, receiver reports to them, the simulcast header extensions
// (mid, rid), and transport-wide congestion feedback, so that a
// publisher's browser estimate grows enough to send all three layers.
// Subscribers' downlinks are estimated from their REMB (goog-remb) and
// receiver reports (peer.readRTCP).
func interceptors(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	ir.Add(gen)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	ir.Add(rr)
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return err
	}
	// Transport-wide sequence numbers on what publishers send (the
	// broker's feedback drives their estimate); abs-send-time on what
	// subscribers receive, from which their browser estimates its
	// downlink and reports it in REMB.
	tw, err := twcc.NewSenderInterceptor()
	if err != nil {
		return err
	}
	ir.Add(tw)
	recv, send := webrtc.RTPTransceiverDirectionRecvonly, webrtc.RTPTransceiverDirectionSendonly
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, k)
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: transportCCURI}, k, recv); err != nil {
			return err
		}
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBGoogREMB}, webrtc.RTPCodecTypeVideo)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: absSendTimeURI}, webrtc.RTPCodecTypeVideo, send); err != nil {
		return err
	}
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio, recv)
}

const (
	transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
	absSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
)

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
