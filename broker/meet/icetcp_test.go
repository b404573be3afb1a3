package meet_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// tcpPeer is a Go (pion) participant that may use ICE over TCP only: no
// UDP of its own, as behind a firewall that blocks it.
func tcpPeer(t *testing.T, b *brokertest.Broker, room, tok string) *goPeer {
	t.Helper()
	s, st, code := dial(t, b, room, tok)
	if s == nil {
		t.Fatalf("dial: %d %s", st, code)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
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

// TestMeetICEOverTCP: two participants that cannot use UDP connect to
// the SFU by ICE over its one TCP port (no TURN involved: the selected
// pair is TCP host to host) and what one publishes reaches the other.
func TestMeetICEOverTCP(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithConfig(func(c *daemon.Config) { c.MeetICETCP = "127.0.0.1:0" }))
	pubUser, subUser := b.Signin(t, "tcp-pub"), b.Signin(t, "tcp-sub")
	r, err := pubUser.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pub := tcpPeer(t, b, r.Room.ID, r.Token)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	pub.run()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
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

	sub := tcpPeer(t, b, r.Room.ID, join(t, subUser, r.Room.ID).Token)
	got := make(chan struct{}, 1)
	sub.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for n := 0; ; n++ {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			if n == 50 {
				got <- struct{}{}
			}
		}
	})
	sub.run()
	select {
	case <-got:
	case <-time.After(60 * time.Second): // a bound, not a measure
		t.Fatal("the subscriber received no 50 packets over ICE-TCP in 60 s")
	}
	for _, p := range []*goPeer{pub, sub} {
		pair, err := p.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("selected pair: %v, %v", pair, err)
		}
		t.Logf("selected pair: %s", pair)
		if pair.Local.Protocol != webrtc.ICEProtocolTCP || pair.Remote.Protocol != webrtc.ICEProtocolTCP ||
			pair.Remote.Typ != webrtc.ICECandidateTypeHost || pair.Remote.Port != uint16(b.Services.Meet.ICETCPAddr().(*net.TCPAddr).Port) {
			t.Errorf("selected pair %s: want TCP to the SFU's host candidate", pair)
		}
	}
}
