package meet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/audit"
)

// maxSignal bounds one signalling message: an SDP offer of a full room
// is a few tens of KiB.
const maxSignal = 256 << 10

// peer is one participant: their signalling socket and the broker's one
// peer connection with their browser, which carries what they publish
// and everything they receive.
type peer struct {
	svc              *Service
	room             *room
	id, name, userID string
	pc               *webrtc.PeerConnection
	out              chan api.MeetSignal
	ctx              context.Context
	cancel           context.CancelFunc

	stateMu      sync.Mutex
	audio, video bool

	// negMu serializes offers: the broker always offers, so there is no
	// glare, but a change that comes while an offer is out waits for
	// its answer (pending) and is offered after it.
	negMu      sync.Mutex
	pending    bool
	negotiated bool
	senders    map[string]*webrtc.RTPTransceiver // by forward key
	fresh      []*forward                        // sent in the offer that is out: ask for keyframes once it is answered
	// Transceivers whose track went: freeing in the offer that is out,
	// free once it is answered (inactive on both ends), and then reused
	// for the next track of their kind, so that a long meeting's SDP
	// does not grow with every coming and going.
	freeing, free []*webrtc.RTPTransceiver

	turnUser string // TURN credentials, good until leave
}

func (p *peer) participant() api.MeetParticipant {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return api.MeetParticipant{ID: p.id, Name: p.name, UserID: p.userID, Audio: p.audio, Video: p.video, Host: p.userID == p.room.host}
}

// post queues m for the socket. A participant whose socket cannot keep
// up is dropped rather than allowed to hold up the room.
func (p *peer) post(m api.MeetSignal) {
	select {
	case p.out <- m:
	case <-p.ctx.Done():
	default:
		p.svc.log.Warn("meet: signalling queue full, dropping participant", "room", p.room.id, "participant", p.id)
		p.cancel()
	}
}

var errLeave = errors.New("left")

// Serve runs one participant's signalling socket until they leave, the
// socket drops or ctx ends. t is a ticket from Redeem; host is the name
// the browser reached the broker by, which is where it finds TURN too.
func (s *Service) Serve(ctx context.Context, conn *websocket.Conn, t Ticket, host string) error {
	defer conn.CloseNow()
	conn.SetReadLimit(maxSignal)
	r := s.lookup(t.RoomID)
	if r == nil {
		writeClose(ctx, conn, ErrNotFound)
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &peer{svc: s, room: r, id: randomID(9), name: t.Name, userID: t.UserID, audio: true, video: true,
		out: make(chan api.MeetSignal, 256), ctx: ctx, cancel: cancel, senders: map[string]*webrtc.RTPTransceiver{}}
	others, err := r.add(p)
	if err != nil {
		writeClose(ctx, conn, err)
		return nil
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		r.remove(p)
		return err
	}
	p.pc = pc
	defer p.leave()
	// What the browser publishes arrives on these two; what the others
	// publish goes out on transceivers of their own (negotiate).
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		p.post(api.MeetSignal{Type: "candidate", Candidate: &api.MeetCandidate{Candidate: j.Candidate, SDPMid: j.SDPMid,
			SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}})
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.forward(remote) })
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("meet: peer connection", "room", r.id, "participant", p.id, "state", st.String())
		if st == webrtc.PeerConnectionStateFailed {
			cancel()
		}
	})
	go p.writeLoop(conn)

	info := r.info()
	me := p.participant()
	welcome := api.MeetSignal{Type: "welcome", Participant: &me, Participants: others, Room: &info}
	if s.turn != nil {
		user, pass := s.turnCredentials(p.id)
		p.turnUser = user
		welcome.ICEServers = []api.MeetICEServer{{URLs: []string{s.turnURL(host)}, Username: user, Credential: pass}}
	}
	p.post(welcome)
	r.broadcast(p, api.MeetSignal{Type: "joined", Participant: &me})
	_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: t.UserID, Action: "meet.joined", Target: r.id,
		Fields: map[string]string{"participant": p.id}})
	go p.negotiate()

	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return nil
		}
		if err := p.handle(data); errors.Is(err, errLeave) {
			// Out of the room at once; the closing handshake may take
			// as long as the browser likes.
			p.leave()
			conn.Close(websocket.StatusNormalClosure, "left")
			return nil
		}
	}
}

func writeClose(ctx context.Context, conn *websocket.Conn, err error) {
	e := api.AsError(err)
	b, _ := json.Marshal(api.MeetSignal{Type: "error", Error: e})
	_ = conn.Write(ctx, websocket.MessageText, b)
	conn.Close(websocket.StatusPolicyViolation, string(e.Code))
}

func (p *peer) writeLoop(conn *websocket.Conn) {
	for {
		select {
		case <-p.ctx.Done():
			return
		case m := <-p.out:
			b, err := json.Marshal(m)
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
			err = conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil || m.Type == "removed" || m.Type == "ended" {
				// Told why: now out (Serve's read ends and it leaves).
				p.cancel()
				return
			}
		}
	}
}

// leave takes p out of the room and tells the others.
func (p *peer) leave() {
	p.cancel()
	if p.turnUser != "" {
		p.svc.dropTURN(p.turnUser)
	}
	if p.pc != nil {
		_ = p.pc.Close()
	}
	if !p.room.remove(p) {
		return
	}
	me := p.participant()
	p.room.broadcast(p, api.MeetSignal{Type: "left", Participant: &me})
	p.room.renegotiateAll(p)
	_ = p.svc.cfg.Audit.Record(context.Background(), audit.Event{At: p.svc.now(), Actor: p.userID, Action: "meet.left",
		Target: p.room.id, Fields: map[string]string{"participant": p.id}})
}

// bad tells the sender their message was refused; the room goes on.
func (p *peer) bad(detail string) error {
	p.post(api.MeetSignal{Type: "error", Error: api.Err(api.CodeMeetBadMessage, detail)})
	return nil
}

// handle acts on one message from the browser.
func (p *peer) handle(data []byte) error {
	var m api.MeetSignal
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return p.bad("not a signalling message: " + err.Error())
	}
	switch m.Type {
	case "answer":
		if m.SDP == "" {
			return p.bad("answer: no sdp")
		}
		return p.answer(m.SDP)
	case "candidate":
		if m.Candidate == nil {
			return p.bad("candidate: no candidate")
		}
		c := m.Candidate
		if err := p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid,
			SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}); err != nil {
			return p.bad("candidate: " + err.Error())
		}
	case "media":
		if m.Audio == nil && m.Video == nil {
			return p.bad("media: neither audio nor video")
		}
		p.stateMu.Lock()
		if m.Audio != nil {
			p.audio = *m.Audio
		}
		if m.Video != nil {
			p.video = *m.Video
		}
		p.stateMu.Unlock()
		me := p.participant()
		p.room.broadcast(p, api.MeetSignal{Type: "media", Participant: &me})
	case "leave":
		return errLeave
	case "chat":
		text := strings.TrimSpace(m.Text)
		if text == "" || utf8.RuneCountInString(text) > api.MaxMeetChat || !utf8.ValidString(text) {
			return p.bad("chat: between 1 and " + strconv.Itoa(api.MaxMeetChat) + " characters of text")
		}
		me := p.participant()
		msg := api.MeetSignal{Type: "chat", Participant: &me, Text: text, Sent: p.svc.now()}
		for _, q := range p.room.everyone() {
			q.post(msg)
		}
	case "host":
		return p.hostAction(m)
	case "offer":
		return p.bad("offer: the broker makes the offers; answer them")
	default:
		return p.bad("unknown type " + strconv.Quote(m.Type))
	}
	return nil
}

// hostAction carries out what the host asked. Anyone else is refused
// with an error frame and stays in the meeting. Every action is audited.
func (p *peer) hostAction(m api.MeetSignal) error {
	r := p.room
	if p.userID != r.host {
		p.post(api.MeetSignal{Type: "error", Error: api.Err(api.CodeMeetNotHost)})
		return nil
	}
	var target *peer
	switch m.Action {
	case api.MeetMute, api.MeetRemove:
		if target = r.peer(m.Target); target == nil || target == p {
			return p.bad("host: " + m.Action + ": no other participant " + strconv.Quote(m.Target))
		}
	case api.MeetLock, api.MeetUnlock, api.MeetEnd:
	default:
		return p.bad("host: unknown action " + strconv.Quote(m.Action))
	}
	fields := map[string]string{"action": m.Action}
	if target != nil {
		fields["participant"], fields["user"] = target.id, target.userID
	}
	_ = p.svc.cfg.Audit.Record(p.ctx, audit.Event{At: p.svc.now(), Actor: p.userID, Action: "meet.host_action", Target: r.id, Fields: fields})
	me := p.participant()
	switch m.Action {
	case api.MeetMute:
		// A request, as in every meeting product: the page turns its mic
		// off and says so; the participant may speak again later.
		target.post(api.MeetSignal{Type: "muted", Participant: &me})
	case api.MeetRemove:
		r.bar(target.userID)
		target.post(api.MeetSignal{Type: "removed", Participant: &me, Error: api.Err(api.CodeMeetRemoved)})
	case api.MeetLock, api.MeetUnlock:
		r.setLocked(m.Action == api.MeetLock)
		info := r.info()
		for _, q := range r.everyone() {
			q.post(api.MeetSignal{Type: "room", Room: &info, Participant: &me})
		}
	case api.MeetEnd:
		p.svc.end(r, p.userID)
		for _, q := range r.everyone() {
			q.post(api.MeetSignal{Type: "ended", Participant: &me})
		}
	}
	return nil
}

// answer applies the browser's answer to the broker's offer.
func (p *peer) answer(sdp string) error {
	p.negMu.Lock()
	if p.pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		p.negMu.Unlock()
		return p.bad("answer: no offer is waiting for one")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		p.negMu.Unlock()
		return p.bad("answer: " + err.Error())
	}
	fresh, pending := p.fresh, p.pending
	p.fresh, p.pending = nil, false
	p.free, p.freeing = append(p.free, p.freeing...), nil
	p.negMu.Unlock()
	for _, f := range fresh {
		p.room.keyframe(f)
	}
	if pending {
		go p.negotiate()
	}
	return nil
}

// negotiate brings p's outgoing tracks in line with the room's and
// offers the change.
func (p *peer) negotiate() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if p.ctx.Err() != nil {
		return
	}
	if p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.pending = true
		return
	}
	want := p.room.wanted(p)
	changed := false
	for k, tr := range p.senders {
		if _, ok := want[k]; !ok {
			_ = p.pc.RemoveTrack(tr.Sender())
			delete(p.senders, k)
			p.freeing = append(p.freeing, tr)
			changed = true
		}
	}
	for k, f := range want {
		if _, ok := p.senders[k]; ok {
			continue
		}
		tr, err := p.sendOn(f)
		if err != nil {
			p.svc.log.Warn("meet: add track", "room", p.room.id, "participant", p.id, "err", err)
			continue
		}
		p.senders[k] = tr
		p.fresh = append(p.fresh, f)
		go p.readRTCP(tr.Sender(), f)
		changed = true
	}
	if !changed && p.negotiated {
		return
	}
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		if p.ctx.Err() == nil {
			p.svc.log.Warn("meet: offer", "room", p.room.id, "participant", p.id, "err", err)
		}
		return
	}
	p.negotiated = true
	p.post(api.MeetSignal{Type: "offer", SDP: offer.SDP})
}

// sendOn finds f a transceiver: a free one of its kind, or a new one.
// Never AddTrack: it would take the receive-only transceiver that
// carries what this participant publishes.
func (p *peer) sendOn(f *forward) (*webrtc.RTPTransceiver, error) {
	for i, tr := range p.free {
		if tr.Kind() != f.local.Kind() || tr.Direction() != webrtc.RTPTransceiverDirectionInactive {
			continue
		}
		s, err := p.svc.api.NewRTPSender(f.local, p.pc.SCTP().Transport())
		if err != nil {
			return nil, err
		}
		if err := tr.SetSender(s, f.local); err != nil {
			_ = s.Stop()
			return nil, err
		}
		p.free = append(p.free[:i], p.free[i+1:]...)
		p.svc.log.Debug("meet: track on a reused transceiver", "room", p.room.id, "participant", p.id, "mid", tr.Mid())
		return tr, nil
	}
	return p.pc.AddTransceiverFromTrack(f.local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
}

// readRTCP reads what a subscriber says about a track it receives; the
// interceptors answer NACKs from it, and a picture-loss or full-intra
// request goes on to the publisher.
func (p *peer) readRTCP(s *webrtc.RTPSender, f *forward) {
	var last time.Time
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				// Several subscribers asking at once need one keyframe.
				if time.Since(last) > 500*time.Millisecond {
					last = time.Now()
					p.room.keyframe(f)
				}
			}
		}
	}
}

// forward copies what p publishes on remote to every subscriber.
func (p *peer) forward(remote *webrtc.TrackRemote) {
	id := remote.ID()
	if id == "" {
		id = strconv.FormatUint(uint64(remote.SSRC()), 10)
	}
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, id, p.id)
	if err != nil {
		p.svc.log.Warn("meet: local track", "room", p.room.id, "err", err)
		return
	}
	f := &forward{key: p.id + "/" + id, owner: p, remote: remote, local: local}
	p.room.publish(f)
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		// An error here is one subscriber's; the others still get it.
		_, _ = local.Write(buf[:n])
	}
}
