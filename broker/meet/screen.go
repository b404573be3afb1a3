package meet

import (
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
)

// Screen share: a second video track beside the camera. The page's one
// offer carries its camera and mic; the screen comes later, so the
// broker (which makes every offer after the first) brings it in: the
// page says screen true, the broker adds a receive-only video
// transceiver and offers it, naming its mid (ScreenMid), and the page
// answers it send-only with the screen's track. The transceiver stays
// for the rest of the meeting: sharing again puts a new track on the
// same sender (replaceTrack) and needs no new offer.
//
// The broker knows the screen by that transceiver, not by anything the
// page labels; it forwards it with the stream ID "<participant>.screen"
// (screenSuffix), so that a subscriber's page knows whose screen a track
// is and draws it in a tile of its own. A screen is one encoding, not
// simulcast: its text must stay sharp, so subscribers get it whole.

// screenSuffix ends the stream ID of a forwarded screen. Participant IDs
// are base64url, which has no '.'.
const screenSuffix = ".screen"

// screenState is one participant's screen share.
type screenState struct {
	// tr is the broker's receive-only transceiver for the screen, once
	// the page asked to share (read by onTrack without negMu).
	tr atomic.Pointer[webrtc.RTPTransceiver]
	// ask: the page wants to share and tr is yet to be added and
	// offered (negMu).
	ask bool

	mu     sync.Mutex // guards what follows, and the publishing it decides
	wanted bool       // the page says it shares
	fwd    *forward   // what arrives on tr, while it arrives
	pub    *forward   // what the room forwards of it (fwd while wanted)
}

// setScreen acts on the page's screen message: the first start brings
// in the transceiver; every start and stop publishes or withdraws what
// arrives on it.
func (p *peer) setScreen(on bool) error {
	p.negMu.Lock()
	if !p.ready {
		p.negMu.Unlock()
		return p.bad("screen: first offer what the page publishes (or say ready)")
	}
	ask := on && p.scr.tr.Load() == nil && !p.scr.ask
	if ask {
		p.scr.ask = true
	}
	p.negMu.Unlock()
	p.scr.mu.Lock()
	p.scr.wanted = on
	p.scr.mu.Unlock()
	p.syncScreen()
	if ask {
		go p.negotiate()
	}
	return nil
}

// addScreenLocked adds the screen's transceiver if the page asked for
// it, and says whether the next offer must go out for it. negMu is held
// and the signalling state is stable (an offer made while another is out
// would not be answered).
func (p *peer) addScreenLocked() bool {
	if !p.scr.ask {
		return false
	}
	p.scr.ask = false
	tr, err := p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	if err != nil {
		p.svc.log.Warn("meet: screen transceiver", "room", p.room.id, "participant", p.id, "err", err)
		p.bad("screen: " + err.Error())
		return false
	}
	p.scr.tr.Store(tr)
	return true
}

// screenMid is the mid of the screen's transceiver, once offered.
func (p *peer) screenMid() string {
	if tr := p.scr.tr.Load(); tr != nil {
		return tr.Mid()
	}
	return ""
}

// isScreen says whether recv is the screen's receiver.
func (p *peer) isScreen(recv *webrtc.RTPReceiver) bool {
	tr := p.scr.tr.Load()
	return tr != nil && tr.Receiver() == recv
}

// screenTrack records that the screen's track arrives (f) or stopped
// arriving (nil: its receiver was replaced in a renegotiation, or the
// connection closed).
func (p *peer) screenTrack(f *forward, arrives bool) {
	p.scr.mu.Lock()
	switch {
	case arrives:
		p.scr.fwd = f
	case p.scr.fwd == f:
		p.scr.fwd = nil
	}
	p.scr.mu.Unlock()
	p.syncScreen()
}

// syncScreen publishes the screen while the page shares it and it
// arrives, and withdraws it otherwise; the others hear of every change
// (media, with the participant's screen set) before the offers that
// bring or take the track, so that a page names the tile at once.
func (p *peer) syncScreen() {
	p.scr.mu.Lock()
	defer p.scr.mu.Unlock()
	var want *forward
	if p.scr.wanted {
		want = p.scr.fwd
	}
	old := p.scr.pub
	if want == old {
		return
	}
	p.scr.pub = want
	p.stateMu.Lock()
	p.screen = want != nil
	p.stateMu.Unlock()
	// Not once p is leaving (its tracks end as its connection closes):
	// the others hear "left", and a media message after it would bring
	// back p's tile.
	if (old == nil) != (want == nil) && p.ctx.Err() == nil {
		me := p.participant()
		p.room.broadcast(p, api.MeetSignal{Type: "media", Participant: &me})
		p.svc.log.Debug("meet: screen", "room", p.room.id, "participant", p.id, "shared", want != nil)
	}
	if old != nil {
		p.room.unpublish(old)
	}
	if want != nil {
		p.room.publish(want)
	}
}

// unpublish withdraws a forwarded track from the room and renegotiates
// with everyone else (their transceiver for it goes free).
func (r *room) unpublish(f *forward) {
	r.mu.Lock()
	if r.tracks[f.key] != f {
		r.mu.Unlock()
		return
	}
	delete(r.tracks, f.key)
	r.mu.Unlock()
	r.renegotiateAll(f.owner)
}
