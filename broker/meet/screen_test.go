package meet_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// streams counts what a subscriber receives of each video stream, by
// stream ID, and says when a stream's track ends.
type streams struct {
	mu      sync.Mutex
	packets map[string]int
	tracks  map[string]int // tracks seen of each stream
	ended   map[string]int // tracks that ended
	ssrc    map[string]uint32
}

func (c *streams) watch(p *goPeer) {
	c.packets, c.tracks, c.ended, c.ssrc = map[string]int{}, map[string]int{}, map[string]int{}, map[string]uint32{}
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeVideo {
			for {
				if _, _, err := tr.ReadRTP(); err != nil {
					return
				}
			}
		}
		id := tr.StreamID()
		c.mu.Lock()
		c.tracks[id]++
		c.ssrc[id] = uint32(tr.SSRC())
		c.mu.Unlock()
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				c.mu.Lock()
				c.ended[id]++
				c.mu.Unlock()
				return
			}
			c.mu.Lock()
			c.packets[id]++
			c.mu.Unlock()
		}
	})
}

func (c *streams) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("packets %v, tracks %v, ended %v", c.packets, c.tracks, c.ended)
}

func (c *streams) get(m map[string]int, id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[id]
}

// TestSFUScreenBesideCamera: a publisher with a camera asks to share its
// screen; the broker's next offer brings a receive-only transceiver and
// names its mid, the publisher answers it with a second video track, and
// the subscriber receives both — the camera as the publisher's stream,
// the screen as "<id>.screen" — and is told the publisher shares. The
// publisher is asked for a keyframe of the screen for the new
// subscriber. Stopping withdraws the screen from the subscriber (its
// track ends; the camera goes on) and says so; sharing again on the same
// transceiver brings it back without a new transceiver.
func TestSFUScreenBesideCamera(t *testing.T) {
	b := brokertest.Start(t)
	ua, ub := b.Signin(t, "scr-pub"), b.Signin(t, "scr-sub")
	r, err := ua.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pub := newMediaPublisher(t, b, r.Room.ID, r.Token, "pub")
	pub.run()
	pubID := pub.await("welcome", nil).Participant.ID
	stop := make(chan struct{})
	defer close(stop)
	pub.send(stop)
	sub := newGoPeer(t, b, r.Room.ID, join(t, ub, r.Room.ID).Token)
	var c streams
	c.watch(sub)
	sub.run()
	camera, screen := pubID, pubID+".screen"
	until(t, "the camera arrives", func() bool { return c.get(c.packets, camera) > 20 })

	// The screen's track, on a send-only transceiver of the publisher's
	// own that pion pairs with the broker's receive-only offer.
	st, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "screen", "pub-screen")
	if err != nil {
		t.Fatal(err)
	}
	str, err := pub.pc.AddTransceiverFromTrack(st, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	var plis atomic.Int32
	go func() {
		for {
			pkts, _, err := str.Sender().ReadRTCP()
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
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = st.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(n),
				Timestamp: n * 3000, Marker: true}, Payload: vp8(n%50 == 0, "s", n)})
		}
	}()
	on, off := true, false
	pub.goPeer.send(api.MeetSignal{Type: "screen", Screen: &on})
	until(t, "the broker's offer names the screen's transceiver", func() bool {
		mid, _ := pub.screenMid.Load().(string)
		return mid != "" && mid == str.Mid()
	})
	if m := sub.await("media", func(m api.MeetSignal) bool {
		return m.Participant != nil && m.Participant.ID == pubID && m.Participant.Screen
	}); !m.Participant.Video {
		t.Errorf("media while sharing: %+v, want the camera still on", m.Participant)
	}
	until(t, "the screen arrives beside the camera", func() bool { return c.get(c.packets, screen) > 20 }, &c)
	cam := c.get(c.packets, camera)
	until(t, "the camera goes on", func() bool { return c.get(c.packets, camera) > cam+20 })
	until(t, "the publisher is asked for a keyframe of its screen", func() bool { return plis.Load() > 0 })
	c.mu.Lock()
	if c.ssrc[camera] == c.ssrc[screen] || c.tracks[camera] != 1 || c.tracks[screen] != 1 {
		t.Errorf("camera and screen: ssrc %d and %d, tracks %d and %d; want two tracks of their own", c.ssrc[camera], c.ssrc[screen], c.tracks[camera], c.tracks[screen])
	}
	c.mu.Unlock()
	for _, tr := range pub.pc.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && tr.Direction() == webrtc.RTPTransceiverDirectionRecvonly {
			t.Errorf("the publisher got a video transceiver to receive (mid %s): it should receive nothing, there is no one else publishing", tr.Mid())
		}
	}

	// Stop: the subscriber hears of it, its screen track ends, the camera goes on.
	pub.goPeer.send(api.MeetSignal{Type: "screen", Screen: &off})
	sub.await("media", func(m api.MeetSignal) bool {
		return m.Participant != nil && m.Participant.ID == pubID && !m.Participant.Screen
	})
	until(t, "the subscriber's screen track ends", func() bool { return c.get(c.ended, screen) == 1 }, &c)
	cam = c.get(c.packets, camera)
	until(t, "the camera goes on after the share", func() bool { return c.get(c.packets, camera) > cam+20 })

	// Again, on the same transceiver.
	transceivers := len(pub.pc.GetTransceivers())
	pub.goPeer.send(api.MeetSignal{Type: "screen", Screen: &on})
	sub.await("media", func(m api.MeetSignal) bool {
		return m.Participant != nil && m.Participant.ID == pubID && m.Participant.Screen
	})
	until(t, "the screen comes back", func() bool { return c.get(c.tracks, screen) == 2 && c.get(c.packets, screen) > 60 }, &c)
	if n := len(pub.pc.GetTransceivers()); n != transceivers {
		t.Errorf("sharing again: the publisher has %d transceivers, had %d", n, transceivers)
	}

	// A participant who comes in while the screen is shared gets both.
	uc := b.Signin(t, "scr-late")
	late := newGoPeer(t, b, r.Room.ID, join(t, uc, r.Room.ID).Token)
	var lc streams
	lc.watch(late)
	late.run()
	w := late.await("welcome", nil)
	for _, p := range w.Participants {
		if p.ID == pubID && !p.Screen {
			t.Errorf("welcome lists the sharer as %+v, want screen", p)
		}
	}
	until(t, "the latecomer gets camera and screen", func() bool {
		return lc.get(lc.packets, camera) > 20 && lc.get(lc.packets, screen) > 20
	}, &lc)

	// The sharer leaves: the others hear that they left, and no media
	// message of them (one after left would bring back their tile). The
	// latecomer's chat, once the sharer's tracks ended, marks the end of
	// what could come.
	pub.goPeer.send(api.MeetSignal{Type: "leave"})
	until(t, "the sharer's tracks end", func() bool { return c.get(c.ended, camera) == 1 && c.get(c.ended, screen) == 2 }, &c)
	late.send(api.MeetSignal{Type: "chat", Text: "おつかれさまでした"})
	left := false
	deadline := time.After(60 * time.Second) // a bound, not a measure
	for chat := false; !chat; {
		select {
		case m := <-sub.msgs:
			chat = m.Type == "chat"
			switch {
			case m.Participant == nil || m.Participant.ID != pubID:
			case m.Type == "left":
				left = true
			default:
				t.Errorf("as the sharer left: %s %+v", m.Type, m.Participant)
			}
		case <-deadline:
			t.Fatal("the chat did not arrive in 60 s")
		}
	}
	if !left {
		t.Error("the subscriber was not told the sharer left")
	}
}

// TestMeetScreenSignals: a screen message must say on or off, and comes
// after the page's offer (or ready); anyone's screen is theirs alone.
func TestMeetScreenSignals(t *testing.T) {
	b := brokertest.Start(t)
	host := b.Signin(t, "scr-sig")
	r, err := host.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	a, st, code := dial(t, b, r.Room.ID, r.Token)
	if a == nil {
		t.Fatalf("dial: %d %s", st, code)
	}
	a.await("welcome")
	for raw, want := range map[string]string{
		`{"type":"screen"}`:                    "say whether",
		`{"type":"screen","screen":true}`:      "first offer",
		`{"type":"screen","screen":"yes"}`:     "not a signalling message",
		`{"type":"screen","screen_mid":"0"}`:   "say whether",
		`{"type":"screen","screen":false,"x"}`: "not a signalling message",
	} {
		a.send(raw)
		m := a.await("error")
		if m.Error == nil || m.Error.Code != api.CodeMeetBadMessage || !strings.Contains(m.Error.Detail, want) {
			t.Errorf("%s: got %+v, want %s saying %q", raw, m.Error, api.CodeMeetBadMessage, want)
		}
	}
}
