package meet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// send writes one signalling message.
func (p *goPeer) send(m api.MeetSignal) {
	p.t.Helper()
	b, _ := json.Marshal(m)
	if err := p.s.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		p.t.Fatalf("send %s: %v", m.Type, err)
	}
}

// await reads msgs until one of type typ (a bound, not a measure).
func (p *goPeer) await(typ string, ok func(api.MeetSignal) bool) api.MeetSignal {
	p.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == typ && (ok == nil || ok(m)) {
				return m
			}
		case <-deadline:
			p.t.Fatalf("no %s message in 60 s", typ)
		}
	}
}

// vp8 is a VP8 payload: the descriptor (start of a partition) and a
// frame header whose lowest bit says keyframe (0) or not, then the layer's
// rid and a counter, so that the receiver knows what it got.
func vp8(key bool, rid string, n uint32) []byte {
	b := []byte{0x10, 0x01, 0, 0, 0, 0, 0, rid[0]}
	if key {
		b[1] = 0x00
	}
	b[2], b[3], b[4], b[5] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return b
}

// simulcastPublisher is a Go peer that publishes one VP8 camera in three
// layers (rids q, h, f), each with its own sequence and timestamps, a
// keyframe every 25 packets and on request.
type simulcastPublisher struct {
	*goPeer
	tr     *webrtc.RTPTransceiver
	tracks map[string]*webrtc.TrackLocalStaticRTP
	keyNow map[string]chan struct{}
	plis   sync.Map // rid → count
}

func newSimulcastPublisher(t *testing.T, b *brokertest.Broker, room, tok string) *simulcastPublisher {
	t.Helper()
	p := &simulcastPublisher{goPeer: newGoPeer(t, b, room, tok), tracks: map[string]*webrtc.TrackLocalStaticRTP{}, keyNow: map[string]chan struct{}{}}
	var tr *webrtc.RTPTransceiver
	for _, rid := range []string{"q", "h", "f"} {
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", "pub", webrtc.WithRTPStreamID(rid))
		if err != nil {
			t.Fatal(err)
		}
		p.tracks[rid] = track
		p.keyNow[rid] = make(chan struct{}, 1)
		if tr == nil {
			if tr, err = p.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
				t.Fatal(err)
			}
		} else if err := tr.Sender().AddEncoding(track); err != nil {
			t.Fatal(err)
		}
	}
	p.tr = tr
	for rid := range p.tracks {
		go func() {
			for {
				pkts, _, err := tr.Sender().ReadSimulcastRTCP(rid)
				if err != nil {
					return
				}
				for _, pkt := range pkts {
					if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
						n, _ := p.plis.LoadOrStore(rid, new(int))
						*n.(*int)++
						select {
						case p.keyNow[rid] <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	return p
}

// send runs the three layers at 50 packets a second each until stop;
// layer i starts its sequence and timestamps somewhere else.
func (p *simulcastPublisher) sendLayers(stop <-chan struct{}) {
	for i, rid := range []string{"q", "h", "f"} {
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			seq, ts := uint16(1000*i+7), uint32(1_000_000*i+3)
			for n := uint32(0); ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				key := n%25 == 0
				select {
				case <-p.keyNow[rid]:
					key = true
				default:
				}
				pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
					Timestamp: ts, Marker: true}, Payload: vp8(key, rid, n)}
				// pion sends no mid and rid of its own: a browser does,
				// and the SFU tells the layers apart by them.
				for _, e := range p.tr.Sender().GetParameters().HeaderExtensions {
					switch e.URI {
					case "urn:ietf:params:rtp-hdrext:sdes:mid":
						_ = pkt.SetExtension(uint8(e.ID), []byte(p.tr.Mid()))
					case "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id":
						_ = pkt.SetExtension(uint8(e.ID), []byte(rid))
					}
				}
				_ = p.tracks[rid].WriteRTP(pkt)
				seq++
				ts += 1800
			}
		}()
	}
}

// received is what a subscriber saw of one forwarded video track.
type received struct {
	mu      sync.Mutex
	ssrcs   map[uint32]bool
	byRID   map[byte]int
	last    *rtp.Header
	lastRID byte
	breaks  []string // sequence or timestamp discontinuities
	// switches are the layer changes, each with whether it came at a keyframe.
	switches []string
}

func (r *received) add(p *rtp.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rid := p.Payload[7]
	key := p.Payload[1]&0x01 == 0
	r.ssrcs[p.SSRC] = true
	r.byRID[rid]++
	if r.last != nil {
		if p.SequenceNumber != r.last.SequenceNumber+1 {
			r.breaks = append(r.breaks, fmt.Sprintf("seq %d after %d", p.SequenceNumber, r.last.SequenceNumber))
		}
		if d := int32(p.Timestamp - r.last.Timestamp); d <= 0 || d > 90000 {
			r.breaks = append(r.breaks, fmt.Sprintf("timestamp %d after %d", p.Timestamp, r.last.Timestamp))
		}
		if rid != r.lastRID {
			r.switches = append(r.switches, fmt.Sprintf("%c→%c key=%v", r.lastRID, rid, key))
		}
	}
	h := p.Header
	r.last, r.lastRID = &h, rid
}

func (r *received) count(rid byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byRID[rid]
}

// until waits (a bound, not a measure) for cond.
func until(t *testing.T, what string, cond func() bool, show ...any) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s (%v)", what, show)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSFUSimulcastLayerSwitch: a publisher sends three layers; a
// subscriber asks for the top one, then the low one, then the top one
// again. It receives one track whose sequence numbers go up by one and
// whose timestamps go forward across every switch; each switch comes at a
// keyframe of the new layer, and the publisher was asked for it (PLI).
func TestSFUSimulcastLayerSwitch(t *testing.T) {
	b := brokertest.Start(t)
	pubUser, subUser := b.Signin(t, "sc-pub"), b.Signin(t, "sc-sub")
	r, err := pubUser.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pub := newSimulcastPublisher(t, b, r.Room.ID, r.Token)
	pub.run()
	pubID := pub.await("welcome", nil).Participant.ID
	stop := make(chan struct{})
	defer close(stop)
	pub.sendLayers(stop)

	sub := newGoPeer(t, b, r.Room.ID, join(t, subUser, r.Room.ID).Token)
	got := &received{ssrcs: map[uint32]bool{}, byRID: map[byte]int{}}
	var tracks sync.Map
	sub.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		tracks.Store(tr.ID(), tr.StreamID())
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if len(p.Payload) >= 8 {
				got.add(p)
			}
		}
	})
	sub.run()
	view := func(layer string) {
		sub.send(api.MeetSignal{Type: "view", Views: []api.MeetView{{Participant: pubID, Width: 1280, Height: 720, Layer: layer}}})
	}
	view("f")
	until(t, "the top layer arrives", func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		return got.byRID['f'] >= 50
	}, got)
	view("q")
	q0 := got.count('q')
	until(t, "the low layer arrives after asking for it", func() bool { return got.count('q') >= q0+50 })
	// A small tile asks for the low layer too; a large one for the top.
	sub.send(api.MeetSignal{Type: "view", Views: []api.MeetView{{Participant: pubID, Width: 1280, Height: 720}}})
	f0 := got.count('f')
	until(t, "the top layer again for a large tile", func() bool { return got.count('f') >= f0+50 })

	got.mu.Lock()
	defer got.mu.Unlock()
	t.Logf("received by layer %v; switches %v", got.byRID, got.switches)
	if len(got.ssrcs) != 1 {
		t.Errorf("the subscriber saw SSRCs %v, want one stream", got.ssrcs)
	}
	if len(got.breaks) > 0 {
		t.Errorf("the stream is not continuous across layer switches: %v", got.breaks)
	}
	if len(got.switches) < 2 {
		t.Errorf("switches %v, want at least f→q and q→f", got.switches)
	}
	for _, s := range got.switches {
		if s[len(s)-4:] != "true" {
			t.Errorf("switch %s did not come at a keyframe", s)
		}
	}
	n := 0
	tracks.Range(func(_, _ any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d tracks arrived, want the one camera", n)
	}
	if v, _ := pub.plis.Load("q"); v == nil {
		t.Error("the publisher was not asked for a keyframe on the low layer before the switch to it")
	}
}
