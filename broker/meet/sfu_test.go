package meet_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// goPeer is a participant in Go (pion), for testing the SFU without a
// browser: it answers the broker's offers like the page does.
type goPeer struct {
	t    testing.TB
	s    *sock
	pc   *webrtc.PeerConnection
	msgs chan api.MeetSignal
	// screenMid is the last screen_mid the broker's offers named.
	screenMid atomic.Value
}

func newGoPeer(t *testing.T, b *brokertest.Broker, room, tok string, opts ...func(*webrtc.SettingEngine)) *goPeer {
	t.Helper()
	return newGoPeerAt(t, signalURL(b.URL, room, tok), b.Client(t).HTTPClient(), opts...)
}

// newGoPeerAt joins through the signalling socket at url.
func newGoPeerAt(t testing.TB, url string, hc *http.Client, opts ...func(*webrtc.SettingEngine)) *goPeer {
	t.Helper()
	s, st, code := dialURL(t, url, hc)
	if s == nil {
		t.Fatalf("dial: %d %s", st, code)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	for _, o := range opts {
		o(&se)
	}
	// pion's codecs and interceptors, and the audio level extension a
	// browser sends (the SFU's speaker detector reads it).
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p := &goPeer{t: t, s: s, pc: pc, msgs: make(chan api.MeetSignal, 64)}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		j := c.ToJSON()
		b, _ := json.Marshal(api.MeetSignal{Type: "candidate", Candidate: &api.MeetCandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex}})
		_ = s.conn.Write(context.Background(), websocket.MessageText, b)
	})
	return p
}

// fail reports a negotiation error, unless the peer connection was
// closed under it: the test is over and is tearing its peers down.
func (p *goPeer) fail(what string, err error) {
	if errors.Is(err, webrtc.ErrConnectionClosed) || p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
		return
	}
	p.t.Errorf("%s: %v", what, err)
}

// run offers what the peer publishes (or says it is ready, if
// nothing), as the page does, then answers the broker's offers and takes
// candidates until the socket ends; other messages go to msgs.
func (p *goPeer) run() {
	first := api.MeetSignal{Type: "ready"}
	if len(p.pc.GetTransceivers()) > 0 {
		offer, err := p.pc.CreateOffer(nil)
		if err == nil {
			err = p.pc.SetLocalDescription(offer)
		}
		if err != nil {
			p.t.Fatalf("offer: %v", err)
		}
		first = api.MeetSignal{Type: "offer", SDP: offer.SDP}
	}
	b, _ := json.Marshal(first)
	if err := p.s.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		p.t.Fatalf("send %s: %v", first.Type, err)
	}
	go func() {
		for {
			_, b, err := p.s.conn.Read(context.Background())
			if err != nil {
				return
			}
			var m api.MeetSignal
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			switch m.Type {
			case "offer":
				p.screenMid.Store(m.ScreenMid)
				if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP}); err != nil {
					p.fail("offer", err)
					return
				}
				ans, err := p.pc.CreateAnswer(nil)
				if err == nil {
					err = p.pc.SetLocalDescription(ans)
				}
				if err != nil {
					p.fail("answer", err)
					return
				}
				out, _ := json.Marshal(api.MeetSignal{Type: "answer", SDP: ans.SDP})
				_ = p.s.conn.Write(context.Background(), websocket.MessageText, out)
			case "answer":
				if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
					p.fail("answer", err)
					return
				}
			case "candidate":
				c := m.Candidate
				_ = p.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
			default:
				select {
				case p.msgs <- m:
				default:
				}
			}
		}
	}()
}

// TestSFUForwardsAndAsksForKeyframes: what one participant publishes
// reaches the other through the broker, and the publisher is asked for
// a keyframe (PLI) when a subscriber joins.
func TestSFUForwardsAndAsksForKeyframes(t *testing.T) {
	b := brokertest.Start(t)
	pubUser := b.Signin(t, "sfu-pub")
	subUser := b.Signin(t, "sfu-sub")
	r, err := pubUser.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}

	pub := newGoPeer(t, b, r.Room.ID, r.Token)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := pub.pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	var plis atomic.Int32
	go func() {
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					plis.Add(1)
				}
			}
		}
	}()
	pub.run()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		// A VP8 payload descriptor and a keyframe-ish byte, 50 packets a second.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
				Timestamp: uint32(seq) * 1800, Marker: true}, Payload: []byte{0x10, 0x00, 0x9d, 0x01, 0x2a}})
		}
	}()

	// Let the publisher's track reach the broker before anyone is there to see it.
	time.Sleep(time.Second)
	before := plis.Load()

	sub := newGoPeer(t, b, r.Room.ID, join(t, subUser, r.Room.ID).Token)
	got := make(chan int, 1)
	sub.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.StreamID() == "" {
			t.Errorf("forwarded track without the publisher's stream ID")
		}
		n := 0
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			if n++; n == 50 {
				got <- n
			}
		}
	})
	sub.run()
	select {
	case <-got:
	case <-time.After(60 * time.Second): // a bound, not a measure: ICE on a loaded machine
		t.Fatal("the subscriber received no 50 packets in 60 s")
	}
	deadline := time.Now().Add(5 * time.Second)
	for plis.Load() == before && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if plis.Load() == before {
		t.Error("the publisher was not asked for a keyframe when the subscriber joined")
	}
}
