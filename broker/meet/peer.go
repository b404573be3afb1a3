package meet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

	stateMu              sync.Mutex
	audio, video, screen bool // screen: the room forwards p's screen (screen.go)
	// What the subscriber asked for: the tile each publisher is drawn in
	// (view), and no video at all (audio only, for a weak home line).
	views     map[string]api.MeetView
	audioOnly bool
	// estimate is the subscriber's downlink in bits a second, from its
	// REMB and receiver reports (0: none yet, so unlimited).
	estimate atomic.Int64
	// rate is what p received over the last second, in bits.
	rate atomic.Int64

	// negMu serializes offers: the broker always offers, so there is no
	// glare, but a change that comes while an offer is out waits for
	// its answer (pending) and is offered after it.
	negMu      sync.Mutex
	pending    bool
	negotiated bool
	// ready: the page has offered what it publishes (or said it
	// publishes nothing), so the broker may offer.
	ready bool
	// cap is the highest layer the line's congestion allows, since
	// capSince (capLayers).
	cap      int
	capSince time.Time
	// settleUntil: a video p began to receive is still ramping up, and
	// its browser's estimate with it (capLayers).
	settleUntil time.Time
	senders     map[string]*sending // by forward key
	fresh       []*downTrack        // sent in the offer that is out: ask for keyframes once it is answered
	// early are the page's candidates that came before its offer.
	early []webrtc.ICECandidateInit
	// Transceivers whose track went: freeing in the offer that is out,
	// free once it is answered (inactive on both ends), and then reused
	// for the next track of their kind, so that a long meeting's SDP
	// does not grow with every coming and going.
	freeing, free []*webrtc.RTPTransceiver

	turnUser string // TURN credentials, good until leave

	pubMu sync.Mutex
	pubs  map[*webrtc.RTPReceiver]*forward // what p publishes, by receiver (its layers share one)
	scr   screenState                      // p's screen share (screen.go)
}

// sending is one forwarded track on its way to this participant.
type sending struct {
	tr   *webrtc.RTPTransceiver
	down *downTrack
}

func (p *peer) participant() api.MeetParticipant {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return api.MeetParticipant{ID: p.id, Name: p.name, UserID: p.userID, Audio: p.audio, Video: p.video, Screen: p.screen, Host: p.userID == p.room.host}
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
		out: make(chan api.MeetSignal, 256), ctx: ctx, cancel: cancel, cap: layerHigh, senders: map[string]*sending{}, pubs: map[*webrtc.RTPReceiver]*forward{}, views: map[string]api.MeetView{}}
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
	// What the browser publishes comes in the page's own offer (the only
	// one it makes: a browser offers simulcast, it does not answer it);
	// what the others publish goes out on transceivers of the broker's
	// offers (negotiate).
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		p.post(api.MeetSignal{Type: "candidate", Candidate: &api.MeetCandidate{Candidate: j.Candidate, SDPMid: j.SDPMid,
			SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}})
	})
	pc.OnTrack(p.onTrack)
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
		welcome.ICEServers = []api.MeetICEServer{{URLs: s.turnURLs(host), Username: user, Credential: pass}}
	}
	welcome.ICEServers = append(welcome.ICEServers, s.cfg.ICEServers...)
	p.post(welcome)
	// The speaker is announced when it changes; a newcomer hears who
	// holds the floor now.
	if id := r.currentSpeaker(); id != "" {
		p.post(api.MeetSignal{Type: "speaker", Target: id})
	}
	r.broadcast(p, api.MeetSignal{Type: "joined", Participant: &me})
	_ = s.cfg.Audit.Record(ctx, audit.Event{At: s.now(), Actor: t.UserID, Action: "meet.joined", Target: r.id,
		Fields: map[string]string{"participant": p.id}})
	go p.chooseLoop()

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
	// Out of every forward's subscribers, so that no packet is handed
	// to a closed connection.
	p.negMu.Lock()
	for _, s := range p.senders {
		s.down.f.unsubscribe(s.down)
	}
	p.negMu.Unlock()
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
	case "offer":
		if m.SDP == "" {
			return p.bad("offer: no sdp")
		}
		return p.offer(m.SDP)
	case "ready":
		p.negMu.Lock()
		p.ready = true
		p.negMu.Unlock()
		go p.negotiate()
	case "candidate":
		if m.Candidate == nil {
			return p.bad("candidate: no candidate")
		}
		c := m.Candidate
		init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid,
			SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
		if err := checkCandidate(c.Candidate); err != nil {
			return p.bad("candidate: " + err.Error())
		}
		p.negMu.Lock()
		if p.pc.RemoteDescription() == nil {
			// Before the page's offer (it may overtake it): kept for then.
			if len(p.early) >= maxEarlyCandidates {
				p.negMu.Unlock()
				return p.bad("candidate: too many before an offer")
			}
			p.early = append(p.early, init)
			p.negMu.Unlock()
			return nil
		}
		p.negMu.Unlock()
		if err := p.pc.AddICECandidate(init); err != nil {
			return p.bad("candidate: " + err.Error())
		}
	case "screen":
		if m.Screen == nil {
			return p.bad("screen: say whether the screen is shared")
		}
		return p.setScreen(*m.Screen)
	case "view":
		return p.view(m.Views)
	case "receive":
		if m.Video == nil {
			return p.bad("receive: say whether to receive video")
		}
		p.stateMu.Lock()
		p.audioOnly = !*m.Video
		p.stateMu.Unlock()
		p.choose()
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

// checkCandidate refuses a candidate line that could never be added,
// before it is kept for later: its address is an IP or an mDNS name.
func checkCandidate(line string) error {
	f := strings.Fields(strings.TrimPrefix(line, "candidate:"))
	if len(f) == 0 {
		return nil // end of candidates
	}
	if len(f) < 8 || f[6] != "typ" {
		return errors.New("not an ICE candidate line")
	}
	if net.ParseIP(f[4]) == nil && !strings.HasSuffix(f[4], ".local") {
		return errors.New("address " + strconv.Quote(f[4]) + " is neither an IP address nor an mDNS name")
	}
	return nil
}

// maxEarlyCandidates bounds the candidates kept before the page's offer.
const maxEarlyCandidates = 64

// maxViews bounds one view message: a room's other participants.
const maxViews = Capacity

// offer answers the page's offer of what it publishes (its camera in
// three simulcast layers, its mic). The page offers once, first; the
// broker makes every other offer, so there is no glare.
func (p *peer) offer(sdp string) error {
	p.negMu.Lock()
	if p.pc.SignalingState() != webrtc.SignalingStateStable || p.ready {
		p.negMu.Unlock()
		return p.bad("offer: the page offers once, first; answer the broker's offers")
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		p.negMu.Unlock()
		return p.bad("offer: " + err.Error())
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err == nil {
		// Queued before the candidates that setting it starts gathering.
		p.post(api.MeetSignal{Type: "answer", SDP: ans.SDP})
		err = p.pc.SetLocalDescription(ans)
	}
	if err != nil {
		p.negMu.Unlock()
		return p.bad("offer: " + err.Error())
	}
	early := p.early
	p.early, p.ready, p.negotiated = nil, true, true
	p.negMu.Unlock()
	for _, c := range early {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.bad("candidate: " + err.Error())
		}
	}
	go p.negotiate()
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
	for _, d := range fresh {
		d.f.keyframe(int(d.target.Load()))
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
	if !p.ready || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.pending = true
		return
	}
	screen := p.addScreenLocked() // the transceiver a new screen share comes on: to be offered
	want := p.room.wanted(p)
	changed := false
	for k, s := range p.senders {
		// A track that went, or came again as a new forward (a screen
		// shared anew after its receiver was replaced).
		if f, ok := want[k]; !ok || f != s.down.f {
			s.down.f.unsubscribe(s.down)
			_ = p.pc.RemoveTrack(s.tr.Sender())
			delete(p.senders, k)
			p.freeing = append(p.freeing, s.tr)
			changed = true
		}
	}
	for k, f := range want {
		if _, ok := p.senders[k]; ok {
			continue
		}
		d := f.subscribe(p)
		tr, err := p.sendOn(d)
		if err != nil {
			f.unsubscribe(d)
			p.svc.log.Warn("meet: add track", "room", p.room.id, "participant", p.id, "err", err)
			continue
		}
		p.senders[k] = &sending{tr: tr, down: d}
		p.fresh = append(p.fresh, d)
		if d.Kind() == webrtc.RTPCodecTypeVideo {
			p.settleUntil = time.Now().Add(newVideoSettle)
		}
		go p.readRTCP(tr.Sender(), d)
		changed = true
	}
	if changed {
		p.chooseLocked()
	}
	if !screen && ((!changed && p.negotiated) || len(p.senders) == 0 && !p.negotiated) {
		// Nothing new; or nothing to send yet to a page that publishes
		// nothing (an offer without media would start no transport).
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
	p.post(api.MeetSignal{Type: "offer", SDP: offer.SDP, ScreenMid: p.screenMid()})
}

// sendOn finds d a transceiver: a free one of its kind, or a new one.
// Never AddTrack: it could take a transceiver that carries what this
// participant publishes.
func (p *peer) sendOn(d *downTrack) (*webrtc.RTPTransceiver, error) {
	for i, tr := range p.free {
		if tr.Kind() != d.Kind() || tr.Direction() != webrtc.RTPTransceiverDirectionInactive {
			continue
		}
		s, err := p.svc.api.NewRTPSender(d, p.pc.SCTP().Transport())
		if err != nil {
			return nil, err
		}
		if err := tr.SetSender(s, d); err != nil {
			_ = s.Stop()
			return nil, err
		}
		p.free = append(p.free[:i], p.free[i+1:]...)
		p.svc.log.Debug("meet: track on a reused transceiver", "room", p.room.id, "participant", p.id, "mid", tr.Mid())
		return tr, nil
	}
	return p.pc.AddTransceiverFromTrack(d, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
}

// readRTCP reads what a subscriber says about a track it receives; the
// interceptors answer NACKs from it. A picture-loss or full-intra
// request goes on to the publisher, for the layer this subscriber gets;
// REMB and receiver reports feed its bandwidth estimate.
func (p *peer) readRTCP(s *webrtc.RTPSender, d *downTrack) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.f.keyframe(int(d.current.Load()))
			case *rtcp.TransportLayerNack:
				for _, pair := range pkt.Nacks {
					pair.Range(func(seq uint16) bool {
						d.retransmit(seq)
						return true
					})
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if p.estimate.Load() == 0 {
					p.svc.log.Debug("meet: subscriber's first REMB", "room", p.room.id, "participant", p.id, "bps", int64(pkt.Bitrate))
				}
				p.setEstimate(int64(pkt.Bitrate))
			case *rtcp.ReceiverReport:
				for _, r := range pkt.Reports {
					if r.SSRC == d.ssrcOf() {
						p.lossReport(r.FractionLost)
					}
				}
			}
		}
	}
}

// setEstimate takes the subscriber's REMB: its downlink as it measures it.
func (p *peer) setEstimate(bps int64) {
	if old := p.estimate.Swap(bps); old == 0 || layerIndex(old) != layerIndex(bps) {
		p.choose()
	}
}

// lossReport steers the estimate by loss, as GCC's loss controller does:
// more than a tenth lost takes half the loss off what is received; under
// 2% lets the estimate grow by 5%.
func (p *peer) lossReport(fraction uint8) {
	loss := float64(fraction) / 256
	est, rate := p.estimate.Load(), p.rate.Load()
	switch {
	case loss > 0.1 && rate > 0:
		if est == 0 || est > rate {
			est = rate
		}
		p.setEstimate(int64(float64(est) * (1 - 0.5*loss)))
	case loss < 0.02 && est > 0:
		p.setEstimate(int64(float64(est) * 1.05))
	}
}

// congestionHold is how long a cap the line's congestion put on p's
// layers stays before the next layer up is tried again.
const congestionHold = 10 * time.Second

// newVideoSettle is how long after p begins to receive a new video (a
// colleague's camera, a screen share) a fall of its estimate is not taken
// for congestion. Chromium's receive-side estimate restarts its ramp
// with the new stream: its first REMB reports after a screen share began
// were 50 to 90 kbit/s on an idle loopback, and capping at them dropped
// every camera to its low layer for a moment. Loss still counts: it
// lowers the estimate, which caps once the new video has settled.
var newVideoSettle = 3 * time.Second

// capLayers is the highest layer p's line affords for n videos. A
// receiver's estimate (REMB) stays near what it receives, so it says
// little while the line keeps up; when it falls well below what is
// received (or loss pulls it down), the line is congested, and the
// layers are capped at what the estimate affords. The cap holds for
// congestionHold, then lifts one layer: nothing else would find out that
// the line has recovered, since the estimate cannot grow beyond what is
// sent. negMu is held.
func (p *peer) capLayers(n int, now time.Time) int {
	est, rate := p.estimate.Load(), p.rate.Load()
	if n > 0 && est > 0 && rate > 0 && est < rate*70/100 && !now.Before(p.settleUntil) {
		afford := layerLow
		for q := layerHigh; q > layerLow; q-- {
			if est/int64(n) >= layerBitrate[q] {
				afford = q
				break
			}
		}
		if afford < p.cap {
			p.cap = afford
		}
		p.capSince = now
	} else if p.cap < layerHigh && now.Sub(p.capSince) >= congestionHold && !now.Before(p.settleUntil) {
		p.cap++
		p.capSince = now
	}
	return p.cap
}

// layerIndex buckets an estimate by the layers it affords, so that a
// new estimate that changes nothing does not make choose run.
func layerIndex(bps int64) int {
	n := 0
	for _, b := range layerBitrate {
		if bps >= b {
			n++
		}
	}
	return n
}

// view takes the tile sizes the page draws each publisher's video at,
// and any layer it asks for outright.
func (p *peer) view(vs []api.MeetView) error {
	if len(vs) > maxViews {
		return p.bad("view: at most " + strconv.Itoa(maxViews) + " tiles")
	}
	next := map[string]api.MeetView{}
	for _, v := range vs {
		if v.Participant == "" || len(v.Participant) > 64 || v.Width < 0 || v.Height < 0 || v.Width > 10000 || v.Height > 10000 {
			return p.bad("view: a participant and a tile size of 0 to 10000 pixels")
		}
		if v.Layer != "" && v.Layer != "q" && v.Layer != "h" && v.Layer != "f" {
			return p.bad("view: layer is q, h or f")
		}
		next[v.Participant] = v
	}
	p.stateMu.Lock()
	p.views = next
	p.stateMu.Unlock()
	p.choose()
	return nil
}

// choose sets the layer of every video p receives.
func (p *peer) choose() {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	p.chooseLocked()
}

func (p *peer) chooseLocked() {
	p.stateMu.Lock()
	views, audioOnly := p.views, p.audioOnly
	p.stateMu.Unlock()
	var videos []*downTrack
	for _, s := range p.senders {
		if s.down.Kind() == webrtc.RTPCodecTypeVideo {
			videos = append(videos, s.down)
		}
	}
	limit := p.capLayers(len(videos), time.Now())
	for _, d := range videos {
		if d.paused.Swap(audioOnly) && !audioOnly {
			d.f.keyframe(int(d.target.Load())) // video again: from a keyframe
		}
		want := layerHigh
		if v, ok := views[d.f.owner.id]; ok {
			want = layerForTile(v.Width)
			if v.Layer != "" {
				want = layerOf(v.Layer)
			}
		}
		q := d.f.layerFor(min(want, limit))
		if q != int(d.target.Load()) {
			p.svc.log.Debug("meet: layer", "room", p.room.id, "participant", p.id, "track", d.f.key, "tile", want, "line", limit, "layer", q)
		}
		d.setTarget(q)
	}
}

// chooseLoop looks again every second (a publisher's browser starts and
// stops sending its upper layers as its CPU and uplink allow) and sends
// the sender reports of what p receives.
func (p *peer) chooseLoop() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-t.C:
			p.senderReports(now)
			p.choose()
		}
	}
}

func (p *peer) senderReports(now time.Time) {
	p.negMu.Lock()
	var pkts []rtcp.Packet
	var bits int64
	for _, s := range p.senders {
		sr, b := s.down.senderReport(now)
		if sr != nil {
			pkts = append(pkts, sr)
		}
		bits += b
	}
	p.negMu.Unlock()
	p.rate.Store(bits) // over the tick's second
	if len(pkts) > 0 {
		_ = p.pc.WriteRTCP(pkts)
	}
}

// onTrack forwards what p publishes: the first layer of a track makes
// its forward and offers it to the others (a screen: while the page
// shares it); every layer gets a reader.
func (p *peer) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	p.pubMu.Lock()
	f := p.pubs[recv]
	if f == nil {
		f = newForward(p, remote, recv)
		f.screen = p.isScreen(recv)
		p.pubs[recv] = f
	}
	p.pubMu.Unlock()
	l, first := f.addLayer(remote)
	p.svc.log.Debug("meet: publishing", "room", p.room.id, "participant", p.id, "track", f.id, "rid", remote.RID(), "kind", f.kind.String(), "codec", f.codec.MimeType, "screen", f.screen)
	switch {
	case first && f.screen:
		p.screenTrack(f, true)
	case first:
		p.room.publish(f)
	}
	f.read(l)
	if f.screen {
		p.pubMu.Lock()
		delete(p.pubs, recv)
		p.pubMu.Unlock()
		p.screenTrack(f, false)
	}
}
