package meet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/meet"
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

// simulcastRoom opens a room for a new user who publishes three layers
// in it until the test ends.
func simulcastRoom(t *testing.T, b *brokertest.Broker, user string) (*api.MeetJoin, *simulcastPublisher, string) {
	t.Helper()
	r, err := b.Signin(t, user).CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pub := newSimulcastPublisher(t, b, r.Room.ID, r.Token)
	pub.run()
	id := pub.await("welcome", nil).Participant.ID
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	pub.sendLayers(stop)
	return r, pub, id
}

// TestSFUSimulcastLayerSwitch: a publisher sends three layers; a
// subscriber asks for the top one, then the low one, then draws a large
// tile (the top one again), then reports a downlink that affords only
// the low one. It receives one track whose sequence numbers go up by one and
// whose timestamps go forward across every switch; each switch comes at a
// keyframe of the new layer, and the publisher was asked for it (PLI).
func TestSFUSimulcastLayerSwitch(t *testing.T) {
	b := brokertest.Start(t)
	subUser := b.Signin(t, "sc-sub")
	r, pub, pubID := simulcastRoom(t, b, "sc-pub")

	sub := newGoPeer(t, b, r.Room.ID, join(t, subUser, r.Room.ID).Token)
	got := &received{ssrcs: map[uint32]bool{}, byRID: map[byte]int{}}
	var tracks sync.Map
	var ssrc atomic.Uint32
	sub.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		tracks.Store(tr.ID(), tr.StreamID())
		ssrc.Store(uint32(tr.SSRC()))
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

	// The line cannot carry it: the subscriber's REMB falls far below
	// what it receives, and it gets the low layer however large its tile.
	q1 := got.count('q')
	if err := sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1000, SSRCs: []uint32{ssrc.Load()}}}); err != nil {
		t.Fatal(err)
	}
	until(t, "the low layer for a line that affords only it", func() bool { return got.count('q') >= q1+50 })

	got.mu.Lock()
	defer got.mu.Unlock()
	t.Logf("received by layer %v; switches %v", got.byRID, got.switches)
	if len(got.ssrcs) != 1 {
		t.Errorf("the subscriber saw SSRCs %v, want one stream", got.ssrcs)
	}
	if len(got.breaks) > 0 {
		t.Errorf("the stream is not continuous across layer switches: %v", got.breaks)
	}
	if len(got.switches) < 3 {
		t.Errorf("switches %v, want at least f→q, q→f and f→q", got.switches)
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

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// mediaPublisher is a Go peer that publishes a mic (Opus, with the audio
// level in each packet) and a camera (VP8), 50 packets a second each.
type mediaPublisher struct {
	*goPeer
	audio, video *webrtc.TrackLocalStaticRTP
	asender      *webrtc.RTPSender
	level        atomic.Int32 // 0 loudest … 127 silence
}

func newMediaPublisher(t *testing.T, b *brokertest.Broker, room, tok, name string) *mediaPublisher {
	t.Helper()
	p := &mediaPublisher{goPeer: newGoPeer(t, b, room, tok)}
	p.level.Store(127)
	var err error
	if p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", name); err != nil {
		t.Fatal(err)
	}
	if p.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "camera", name); err != nil {
		t.Fatal(err)
	}
	if p.asender, err = p.pc.AddTrack(p.audio); err != nil {
		t.Fatal(err)
	}
	vs, err := p.pc.AddTrack(p.video)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*webrtc.RTPSender{p.asender, vs} {
		go func() {
			for {
				if _, _, err := s.ReadRTCP(); err != nil {
					return
				}
			}
		}()
	}
	return p
}

func (p *mediaPublisher) send(stop <-chan struct{}) {
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := uint32(0); ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			a := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(n), Timestamp: n * 960}, Payload: []byte{0xfc, 0xff, 0xfe}}
			for _, e := range p.asender.GetParameters().HeaderExtensions {
				if e.URI == audioLevelURI {
					_ = a.SetExtension(uint8(e.ID), []byte{byte(p.level.Load())})
				}
			}
			_ = p.audio.WriteRTP(a)
			_ = p.video.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(n),
				Timestamp: n * 1800, Marker: true}, Payload: vp8(n%25 == 0, "-", n)})
		}
	}()
}

// counter counts what a subscriber receives, by kind, and keeps the
// video packets by sequence number.
type counter struct {
	audio, video atomic.Int64
	mu           sync.Mutex
	seen         map[uint16]int // video sequence number → times received
	payload      map[uint16]string
}

func (c *counter) watch(p *goPeer) {
	c.seen, c.payload = map[uint16]int{}, map[uint16]string{}
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeAudio {
				c.audio.Add(1)
				continue
			}
			c.video.Add(1)
			c.mu.Lock()
			c.seen[pkt.SequenceNumber]++
			c.payload[pkt.SequenceNumber] = string(pkt.Payload)
			c.mu.Unlock()
		}
	})
}

// TestSFUActiveSpeaker: two publishers send audio levels; whoever
// speaks (a level above speech, the other silent) is announced to
// everyone as the speaker, and the announcement follows the voice; a
// newcomer is told the speaker; equal voices do not take the floor from
// each other, a clearly louder one does.
func TestSFUActiveSpeaker(t *testing.T) {
	b := brokertest.Start(t)
	ua, ub, uc, ud := b.Signin(t, "spk-a"), b.Signin(t, "spk-b"), b.Signin(t, "spk-c"), b.Signin(t, "spk-d")
	r, err := ua.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pa := newMediaPublisher(t, b, r.Room.ID, r.Token, "a")
	pa.run()
	aID := pa.await("welcome", nil).Participant.ID
	pb := newMediaPublisher(t, b, r.Room.ID, join(t, ub, r.Room.ID).Token, "b")
	pb.run()
	bID := pb.await("welcome", nil).Participant.ID
	watcher := newGoPeer(t, b, r.Room.ID, join(t, uc, r.Room.ID).Token)
	var c counter
	c.watch(watcher)
	watcher.run()
	stop := make(chan struct{})
	defer close(stop)
	pa.send(stop)
	pb.send(stop)

	isSpeaker := func(id string) func(api.MeetSignal) bool {
		return func(m api.MeetSignal) bool { return m.Target == id }
	}
	pa.level.Store(25) // -25 dBov: speech
	for _, p := range []*goPeer{watcher, pa.goPeer, pb.goPeer} {
		p.await("speaker", isSpeaker(aID))
	}
	// A newcomer's page learns who speaks now, though it has not changed.
	late := newGoPeer(t, b, r.Room.ID, join(t, ud, r.Room.ID).Token)
	late.run()
	late.await("speaker", isSpeaker(aID))

	pa.level.Store(127)
	pb.level.Store(30)
	for _, p := range []*goPeer{watcher, pa.goPeer, pb.goPeer} {
		p.await("speaker", isSpeaker(bID))
	}
	// Two voices at one level: the floor stays with B, no flapping.
	pa.level.Store(30)
	deadline := time.After(10 * meet.SpeakerTick)
	for quiet := true; quiet; {
		select {
		case m := <-watcher.msgs:
			if m.Type == "speaker" {
				t.Fatalf("the speaker flapped to %s while both spoke at one level", m.Target)
			}
		case <-deadline:
			quiet = false
		}
	}
	// Ten decibels louder takes the floor.
	pa.level.Store(20)
	watcher.await("speaker", isSpeaker(aID))
}

// TestSFUAudioOnly: a subscriber that asks for audio only gets no more
// video, and its audio goes on; asking for video again brings it back.
func TestSFUAudioOnly(t *testing.T) {
	b := brokertest.Start(t)
	ua, ub := b.Signin(t, "ao-pub"), b.Signin(t, "ao-sub")
	r, err := ua.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pub := newMediaPublisher(t, b, r.Room.ID, r.Token, "pub")
	pub.run()
	stop := make(chan struct{})
	defer close(stop)
	pub.send(stop)
	sub := newGoPeer(t, b, r.Room.ID, join(t, ub, r.Room.ID).Token)
	var c counter
	c.watch(sub)
	sub.run()
	until(t, "audio and video arrive", func() bool { return c.audio.Load() > 20 && c.video.Load() > 20 })

	off := false
	sub.send(api.MeetSignal{Type: "receive", Video: &off})
	// Once a second of audio has come after the request, what was in
	// flight has arrived: from then on, no video.
	a0 := c.audio.Load()
	until(t, "audio goes on", func() bool { return c.audio.Load() > a0+50 })
	v1 := c.video.Load()
	a1 := c.audio.Load()
	until(t, "more audio", func() bool { return c.audio.Load() > a1+100 })
	if v2 := c.video.Load(); v2 != v1 {
		t.Errorf("audio only: %d video packets arrived after the request had taken effect", v2-v1)
	}
	on := true
	sub.send(api.MeetSignal{Type: "receive", Video: &on})
	until(t, "video comes back", func() bool { return c.video.Load() > v1+20 })
}

// TestSFUAnswersNACKs: a subscriber's NACK for a packet is answered from
// the SFU's buffer with the same packet, as the subscriber numbered it.
// (The subscriber asks for one it has, so that nothing need be lost on
// loopback; its SRTP replay protection, which would drop the copy, is
// off.)
func TestSFUAnswersNACKs(t *testing.T) {
	b := brokertest.Start(t)
	ua, ub := b.Signin(t, "nack-pub"), b.Signin(t, "nack-sub")
	r, err := ua.CreateRoom(context.Background(), api.CreateRoomRequest{})
	if err != nil {
		t.Fatal(err)
	}
	pub := newMediaPublisher(t, b, r.Room.ID, r.Token, "pub")
	pub.run()
	stop := make(chan struct{})
	defer close(stop)
	pub.send(stop)
	sub := newGoPeer(t, b, r.Room.ID, join(t, ub, r.Room.ID).Token, func(se *webrtc.SettingEngine) { se.DisableSRTPReplayProtection(true) })
	var c counter
	c.watch(sub)
	sub.run()
	until(t, "video arrives", func() bool { return c.video.Load() > 30 })
	var ssrc uint32
	for _, tr := range sub.pc.GetTransceivers() {
		if tr.Kind() == webrtc.RTPCodecTypeVideo && tr.Receiver() != nil && tr.Receiver().Track() != nil {
			ssrc = uint32(tr.Receiver().Track().SSRC())
		}
	}
	c.mu.Lock()
	var seq uint16
	var payload string
	for s, p := range c.payload {
		seq, payload = s, p
		break
	}
	c.mu.Unlock()
	if err := sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: []rtcp.NackPair{{PacketID: seq}}}}); err != nil {
		t.Fatal(err)
	}
	until(t, "the retransmission arrives", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.seen[seq] == 2
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.payload[seq] != payload {
		t.Errorf("retransmitted %d is %q, want %q", seq, c.payload[seq], payload)
	}
}

// TestSFUNewVideoSettlesBeforeCongestion: a subscriber receives a
// colleague's camera at its top layer; a second colleague starts to
// publish, and as that new video arrives the subscriber's estimate falls
// far below what it receives (as Chromium's does while it ramps up on a
// new stream). Within the settling time the first camera stays on its top
// layer; once it has passed and the estimate is still low, the line is
// taken for congested and the camera goes to its low layer.
func TestSFUNewVideoSettlesBeforeCongestion(t *testing.T) {
	meet.SetNewVideoSettle(t, 8*time.Second)
	b := brokertest.Start(t)
	subUser, otherUser := b.Signin(t, "st-sub"), b.Signin(t, "st-other")
	r, _, pubID := simulcastRoom(t, b, "st-pub")
	stop := make(chan struct{})
	defer close(stop)

	sub := newGoPeer(t, b, r.Room.ID, join(t, subUser, r.Room.ID).Token)
	got := &received{ssrcs: map[uint32]bool{}, byRID: map[byte]int{}}
	newVideo := make(chan uint32, 1)
	sub.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		first := tr.Kind() == webrtc.RTPCodecTypeVideo && tr.StreamID() == pubID
		if tr.Kind() == webrtc.RTPCodecTypeVideo && !first {
			newVideo <- uint32(tr.SSRC())
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if first && len(p.Payload) >= 8 {
				got.add(p)
			}
		}
	})
	sub.run()
	sub.send(api.MeetSignal{Type: "view", Views: []api.MeetView{{Participant: pubID, Width: 1280, Height: 720}}})
	until(t, "the top layer for a large tile", func() bool { return got.count('f') >= 50 }, got)
	// Past the first camera's own settling time.
	time.Sleep(9 * time.Second)

	other := newMediaPublisher(t, b, r.Room.ID, join(t, otherUser, r.Room.ID).Token, "other")
	other.run()
	other.send(stop)
	var ssrc uint32
	select {
	case ssrc = <-newVideo:
	case <-time.After(60 * time.Second):
		t.Fatal("the second colleague's video did not arrive")
	}
	if err := sub.pc.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: 1000, SSRCs: []uint32{ssrc}}}); err != nil {
		t.Fatal(err)
	}
	q0, f0 := got.count('q'), got.count('f')
	until(t, "the top layer goes on after the estimate fell", func() bool { return got.count('f') >= f0+50 }, got)
	if q := got.count('q'); q != q0 {
		t.Fatalf("the first camera went to its low layer (%d packets) while the new video settled", q-q0)
	}
	until(t, "the low layer once the new video settled and the estimate stayed low", func() bool { return got.count('q') >= q0+50 }, got)
}
