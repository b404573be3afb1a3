package meet

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
)

// The forwarding path. Each published track is a forward; each of its
// simulcast layers (one, unless the browser sends three) is read by one
// goroutine, which parses each packet's header once and hands it to every
// subscriber's downTrack. A downTrack is a TrackLocal of its own bound to
// one subscriber's sender: it keeps the sender's write stream and writes
// the packet with SSRC, payload type, sequence number and timestamp
// rewritten into a header it reuses, so that a subscriber sees one
// continuous stream whichever layer it gets. Nothing is allocated per
// packet; the subscriber list is a copy-on-write slice read without a lock.

// Layer qualities, lowest first; a browser's rids q, h, f are a quarter,
// half and full resolution.
const (
	layerLow = iota
	layerMid
	layerHigh
	layers
)

// layerOf maps a rid to its quality; a track without simulcast is one
// layer, the low one.
func layerOf(rid string) int {
	switch rid {
	case "h":
		return layerMid
	case "f":
		return layerHigh
	}
	return layerLow
}

// layer is one incoming encoding of a forward.
type layer struct {
	q      int
	remote *webrtc.TrackRemote
	last   atomic.Int64 // unix nanoseconds of the last packet: is the layer flowing?
	pli    atomic.Int64 // when a keyframe was last asked of it
	// ring keeps the layer's last packets as they came, once for every
	// subscriber, to answer their NACKs (video only); the packets are
	// read into it, so keeping them costs no copy.
	ring *ring
}

// ringSize is how many packets a video layer keeps for retransmission:
// about a second of a 1.5 Mbit/s layer, beyond which a retransmission
// comes too late to be played anyway.
const ringSize = 512

type ring struct {
	mu    sync.Mutex
	slots [ringSize]ringSlot
}

type ringSlot struct {
	valid bool
	seq   uint16
	n     int
	buf   [1500]byte
}

// claim is the slot the next packet is read into: invalid until put.
func (r *ring) claim(i int) []byte {
	s := &r.slots[i%ringSize]
	r.mu.Lock()
	s.valid = false
	r.mu.Unlock()
	return s.buf[:]
}

func (r *ring) put(i int, seq uint16, n int) {
	s := &r.slots[i%ringSize]
	r.mu.Lock()
	s.valid, s.seq, s.n = true, seq, n
	r.mu.Unlock()
}

// get copies the packet with sequence number seq into out.
func (r *ring) get(seq uint16, out []byte) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.slots {
		if s := &r.slots[i]; s.valid && s.seq == seq {
			return copy(out, s.buf[:s.n])
		}
	}
	return 0
}

func (l *layer) flowing(now int64) bool { return now-l.last.Load() < int64(time.Second) }

// forward is one published track and its subscribers.
type forward struct {
	key      string
	id       string // the track's ID, as subscribers see it
	owner    *peer
	kind     webrtc.RTPCodecType
	codec    webrtc.RTPCodecCapability
	clock    uint32 // the codec's clock rate
	levelExt uint8  // audio: the negotiated ID of ssrc-audio-level, 0 if none
	screen   bool   // a shared screen (screen.go), not a camera

	mu     sync.Mutex
	layers [layers]*layer
	subs   atomic.Pointer[[]*downTrack] // copy-on-write under mu

	// Voiced audio since the room's speaker detector last looked: packets
	// and their power (speakers).
	voiced, voicedPower atomic.Int64
}

func newForward(owner *peer, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *forward {
	id := remote.ID()
	if id == "" {
		id = "t" + strings.ReplaceAll(remote.Codec().MimeType, "/", "-")
	}
	f := &forward{key: owner.id + "/" + id, id: id, owner: owner, kind: remote.Kind(),
		codec: remote.Codec().RTPCodecCapability, clock: remote.Codec().ClockRate}
	if f.clock == 0 {
		f.clock = 90000
	}
	for _, e := range recv.GetParameters().HeaderExtensions {
		if e.URI == audioLevelURI {
			f.levelExt = uint8(e.ID)
		}
	}
	f.subs.Store(&[]*downTrack{})
	return f
}

// simulcast says whether the publisher sends more than one layer.
func (f *forward) simulcast() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.layers {
		if l != nil {
			n++
		}
	}
	return n > 1
}

// addLayer takes one incoming encoding; it reports whether it was the first.
func (f *forward) addLayer(remote *webrtc.TrackRemote) (*layer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	first := true
	for _, l := range f.layers {
		if l != nil {
			first = false
		}
	}
	l := &layer{q: layerOf(remote.RID()), remote: remote}
	if f.kind == webrtc.RTPCodecTypeVideo {
		l.ring = &ring{}
	}
	f.layers[l.q] = l
	return l, first
}

func (f *forward) layer(q int) *layer {
	if q < 0 || q >= layers {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.layers[q]
}

// subscribe makes the downTrack that carries f to sub.
func (f *forward) subscribe(sub *peer) *downTrack {
	d := &downTrack{f: f, sub: sub}
	d.current.Store(-1)
	d.target.Store(int32(f.initialLayer()))
	f.mu.Lock()
	old := *f.subs.Load()
	next := make([]*downTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, d)
	f.subs.Store(&next)
	f.mu.Unlock()
	return d
}

// initialLayer is where a new subscriber starts: the lowest layer
// there is, which is cheap and comes up at once; choose moves it up.
func (f *forward) initialLayer() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for q, l := range f.layers {
		if l != nil {
			return q
		}
	}
	return layerLow
}

func (f *forward) unsubscribe(d *downTrack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := *f.subs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, o := range old {
		if o != d {
			next = append(next, o)
		}
	}
	f.subs.Store(&next)
}

// read forwards one layer until its track ends.
func (f *forward) read(l *layer) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	video := f.kind == webrtc.RTPCodecTypeVideo
	vp8 := strings.EqualFold(f.codec.MimeType, webrtc.MimeTypeVP8)
	for i := 0; ; i++ {
		if l.ring != nil {
			buf = l.ring.claim(i)
		}
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		if l.ring != nil {
			l.ring.put(i, pkt.SequenceNumber, n)
		}
		now := time.Now()
		l.last.Store(now.UnixNano())
		key := false
		if video {
			key = isKeyframe(vp8, pkt.Payload)
		} else if f.levelExt != 0 {
			if e := pkt.GetExtension(f.levelExt); len(e) > 0 {
				if level := e[0] & 0x7f; level <= voicedLevel {
					f.voiced.Add(1)
					f.voicedPower.Add(voicePower[level])
				}
			}
		}
		for _, d := range *f.subs.Load() {
			d.write(l.q, &pkt, key, now)
		}
	}
}

// keyframe asks the publisher for a keyframe on layer q (all layers if
// q < 0), at most every 300 ms a layer: several subscribers asking at
// once need one keyframe.
func (f *forward) keyframe(q int) {
	if f.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	var pkts []rtcp.Packet
	f.mu.Lock()
	for lq, l := range f.layers {
		if l == nil || (q >= 0 && lq != q) {
			continue
		}
		if last := l.pli.Load(); now-last < int64(300*time.Millisecond) {
			continue
		}
		l.pli.Store(now)
		pkts = append(pkts, &rtcp.PictureLossIndication{MediaSSRC: uint32(l.remote.SSRC())})
	}
	f.mu.Unlock()
	if len(pkts) > 0 {
		_ = f.owner.pc.WriteRTCP(pkts)
	}
}

// isKeyframe says whether an RTP payload starts a keyframe (VP8, or
// H.264 for the browsers that prefer it).
func isKeyframe(vp8 bool, p []byte) bool {
	if len(p) < 1 {
		return false
	}
	if vp8 {
		// RFC 7741: the payload descriptor, then the VP8 header, whose
		// lowest bit is 0 on a keyframe, in the first partition's start.
		if p[0]&0x10 == 0 || p[0]&0x07 != 0 {
			return false
		}
		i := 1
		if p[0]&0x80 != 0 {
			if len(p) < 2 {
				return false
			}
			x := p[1]
			i = 2
			if x&0x80 != 0 { // picture ID, 7 or 15 bits
				if len(p) <= i {
					return false
				}
				if p[i]&0x80 != 0 {
					i += 2
				} else {
					i++
				}
			}
			if x&0x40 != 0 { // TL0PICIDX
				i++
			}
			if x&0x30 != 0 { // TID / KEYIDX
				i++
			}
		}
		return len(p) > i && p[i]&0x01 == 0
	}
	switch nal := p[0] & 0x1f; nal {
	case 5, 7: // IDR, SPS
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A: the start of an IDR
		return len(p) > 1 && p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// downTrack carries one forward to one subscriber. It is a
// webrtc.TrackLocal bound to exactly one sender.
type downTrack struct {
	f   *forward
	sub *peer

	current, target atomic.Int32 // the layer forwarded now, and the one wanted (-1: none yet)
	paused          atomic.Bool  // audio only: no video to this subscriber

	mu      sync.Mutex
	w       webrtc.TrackLocalWriter
	ssrc    uint32
	pt      uint8
	absExt  uint8      // the negotiated ID of abs-send-time (video), 0 if none
	abs     [3]byte    // its value, rewritten per packet
	hdr     rtp.Header // reused for every packet
	started bool
	// Rewriting: out = in + offset, so that a layer switch continues the
	// sequence and the timestamps the subscriber saw.
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
	// epoch is the first sequence number sent of the current layer: a
	// NACK for an earlier one is of a layer no longer forwarded.
	epoch            uint16
	packets, octets  uint32 // for sender reports
	reported         uint32 // octets at the last report
	retx             []byte // a retransmission's copy
	switches, writes atomic.Int64
}

func (d *downTrack) ID() string  { return d.f.id }
func (d *downTrack) RID() string { return "" }
func (d *downTrack) StreamID() string {
	if d.f.screen {
		return d.f.owner.id + screenSuffix
	}
	return d.f.owner.id
}
func (d *downTrack) Kind() webrtc.RTPCodecType { return d.f.kind }

func (d *downTrack) ssrcOf() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ssrc
}

// Bind keeps the sender's write stream and its negotiated SSRC and
// payload type.
func (d *downTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, d.f.codec.MimeType) && c.ClockRate == d.f.codec.ClockRate {
			d.mu.Lock()
			d.w, d.ssrc, d.pt = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(c.PayloadType)
			for _, e := range ctx.HeaderExtensions() {
				if e.URI == absSendTimeURI {
					d.absExt = uint8(e.ID)
				}
			}
			d.mu.Unlock()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (d *downTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.w = nil
	d.mu.Unlock()
	return nil
}

// write sends one packet of layer q, if it is the one this subscriber
// gets; a switch to the target layer waits for a keyframe on it.
func (d *downTrack) write(q int, in *rtp.Packet, key bool, now time.Time) {
	cur, tgt := int(d.current.Load()), int(d.target.Load())
	if q != cur && q != tgt {
		return
	}
	if d.paused.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w == nil {
		return
	}
	if q != cur {
		// The target layer: switch to it at a keyframe, or at once for
		// the first packet of audio or of a track with one layer.
		if !key && (d.started || (d.f.kind == webrtc.RTPCodecTypeVideo && d.f.simulcast())) {
			return
		}
		if d.started {
			// Continue where the subscriber is: the next sequence number,
			// and a timestamp advanced by the time since the last packet.
			gap := uint32(now.Sub(d.lastAt).Seconds() * float64(d.f.clock))
			if gap == 0 {
				gap = 1
			}
			d.seqOff = d.lastSeq + 1 - in.SequenceNumber
			d.tsOff = d.lastTS + gap - in.Timestamp
			d.switches.Add(1)
		}
		d.epoch = in.SequenceNumber + d.seqOff
		d.current.Store(int32(q))
	}
	seq, ts := in.SequenceNumber+d.seqOff, in.Timestamp+d.tsOff
	if !d.started || int16(seq-d.lastSeq) > 0 {
		d.lastSeq, d.lastTS, d.lastAt = seq, ts, now
	}
	d.started = true
	d.send(in, seq, ts)
	d.packets++
	d.octets += uint32(len(in.Payload))
	d.writes.Add(1)
}

// send writes in as seq and ts; d.mu is held.
func (d *downTrack) send(in *rtp.Packet, seq uint16, ts uint32) {
	h := &d.hdr
	h.Version, h.Padding, h.Marker = 2, in.Padding, in.Marker
	h.PaddingSize = in.PaddingSize
	h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC = d.pt, seq, ts, d.ssrc
	// The publisher's header extensions (mid, rid, its transport-wide
	// sequence) are its connection's, not the subscriber's: none go on.
	h.Extension, h.Extensions, h.CSRC = false, h.Extensions[:0], nil
	if d.absExt != 0 {
		// 6.18 fixed-point seconds, the low 24 bits: the subscriber's
		// browser estimates its downlink from them and sends REMB.
		ns := uint64(time.Now().UnixNano())
		t := (ns/1e9)<<18 | (ns%1e9)<<18/1e9
		d.abs[0], d.abs[1], d.abs[2] = byte(t>>16), byte(t>>8), byte(t)
		_ = h.SetExtension(d.absExt, d.abs[:])
	}
	_, _ = d.w.WriteRTP(h, in.Payload)
}

// retransmit answers a subscriber's NACK for seq from the layer's ring,
// rewritten as it was sent the first time.
func (d *downTrack) retransmit(seq uint16) {
	d.mu.Lock()
	defer d.mu.Unlock()
	cur := int(d.current.Load())
	if d.w == nil || !d.started || int16(seq-d.epoch) < 0 || int16(d.lastSeq-seq) < 0 {
		return
	}
	l := d.f.layer(cur)
	if l == nil || l.ring == nil {
		return
	}
	if d.retx == nil {
		d.retx = make([]byte, 1500)
	}
	n := l.ring.get(seq-d.seqOff, d.retx)
	var pkt rtp.Packet
	if n == 0 || pkt.Unmarshal(d.retx[:n]) != nil {
		return
	}
	d.send(&pkt, seq, pkt.Timestamp+d.tsOff)
}

// senderReport is what the subscriber needs to map this stream's
// timestamps to wall-clock time (and so keep sound and picture in step):
// the last timestamp sent, moved on to now. It also gives the bits sent
// since the last report.
func (d *downTrack) senderReport(now time.Time) (*rtcp.SenderReport, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	bits := int64(d.octets-d.reported) * 8
	d.reported = d.octets
	if d.w == nil || !d.started {
		return nil, bits
	}
	ts := d.lastTS + uint32(now.Sub(d.lastAt).Seconds()*float64(d.f.clock))
	return &rtcp.SenderReport{SSRC: d.ssrc, NTPTime: ntpTime(now), RTPTime: ts, PacketCount: d.packets, OctetCount: d.octets}, bits
}

// ntpTime is t as NTP's 32.32 fixed-point seconds since 1900.
func ntpTime(t time.Time) uint64 {
	const since1900 = 2_208_988_800
	ns := uint64(t.UnixNano())
	sec, frac := ns/1e9+since1900, ns%1e9
	return sec<<32 | (frac<<32)/1e9
}

// setTarget moves the subscriber to layer q; a different layer asks
// its publisher for a keyframe to switch at.
func (d *downTrack) setTarget(q int) {
	if int(d.target.Swap(int32(q))) != q || int(d.current.Load()) != q {
		d.f.keyframe(q)
	}
}

// layerFor picks the layer a subscriber gets of the one it wants (for
// its tile, no more than its line affords): one the publisher is
// sending (a browser drops its top layers when its CPU or uplink is
// short), the nearest below, else the nearest above.
func (f *forward) layerFor(want int) int {
	now := time.Now().UnixNano()
	f.mu.Lock()
	defer f.mu.Unlock()
	for q := want; q >= layerLow; q-- {
		if l := f.layers[q]; l != nil && l.flowing(now) {
			return q
		}
	}
	for q := want + 1; q < layers; q++ { // nothing at or below: the lowest above
		if l := f.layers[q]; l != nil && l.flowing(now) {
			return q
		}
	}
	for q, l := range f.layers { // nothing flows yet: the lowest there is
		if l != nil {
			return q
		}
	}
	return layerLow
}

// layerBitrate is about what a browser's layer of a 720p camera takes
// (Chromium's defaults for three layers), in bits a second.
var layerBitrate = [layers]int64{150_000, 500_000, 1_500_000}

// layerForTile is the layer a tile of that width needs: the low layer
// of a 1280-wide camera is 320 wide, the middle 640.
func layerForTile(width int) int {
	switch {
	case width <= 0:
		return layerHigh
	case width <= 400:
		return layerLow
	case width <= 800:
		return layerMid
	}
	return layerHigh
}

// speakers finds the room's dominant speaker from the audio level each
// publisher's packets carry (RFC 6464). A track speaks in a tick when at
// least minVoiced of its packets are voiced (louder than -40 dBov): a
// mean level would not do, since a home's background noise sits near
// -60 dBov and short syllables between pauses average down to it (the
// figures are in ARCHITECTURE). Among those speaking,
// the most voiced power wins; the current speaker keeps the floor while
// they speak unless someone has twice their power (3 dB louder, or
// speaking twice as long), so two voices at one level do not flap.
type speakers struct {
	running bool // guarded by the room's mu, as is current
	current string
}

const (
	speakerTick = 400 * time.Millisecond
	// voicedLevel is the RFC 6464 level (-dBov) a packet must reach to
	// count as voice.
	voicedLevel = 40
	// minVoiced voiced packets in a tick (40 ms of Opus in 400) make a
	// track speak.
	minVoiced = 2
)

// voicePower[level] is a voiced level's power in linear units, 1 at
// -40 dBov, so that sums compare energies rather than decibels.
var voicePower = func() (t [voicedLevel + 1]int64) {
	for l := range t {
		t[l] = int64(math.Round(math.Pow(10, float64(voicedLevel-l)/10)))
	}
	return t
}()

func (r *room) watchSpeakers() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.spk.running {
		r.spk.running = true
		go r.speakerLoop()
	}
}

// announceSpeaker tells everyone who speaks now.
func (r *room) announceSpeaker(id string) {
	for _, q := range r.everyone() {
		q.post(api.MeetSignal{Type: "speaker", Target: id})
	}
}

// currentSpeaker is the speaker last announced, for a newcomer's page.
func (r *room) currentSpeaker() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.peers[r.spk.current]; !ok {
		return ""
	}
	return r.spk.current
}

func (r *room) speakerLoop() {
	t := time.NewTicker(speakerTick)
	defer t.Stop()
	for range t.C {
		r.mu.Lock()
		if len(r.peers) == 0 {
			r.spk.running, r.spk.current = false, ""
			r.mu.Unlock()
			return
		}
		power := map[string]int64{} // of those speaking this tick, by participant
		for _, f := range r.tracks {
			if f.kind != webrtc.RTPCodecTypeAudio {
				continue
			}
			nv, pw := f.voiced.Swap(0), f.voicedPower.Swap(0)
			if nv < minVoiced || !f.owner.micOn() {
				continue
			}
			power[f.owner.id] += pw
		}
		best := pickSpeaker(r.spk.current, power)
		changed := best != "" && best != r.spk.current
		if changed {
			r.spk.current = best
		}
		r.mu.Unlock()
		if changed {
			r.announceSpeaker(best)
		}
	}
}

// pickSpeaker is who holds the floor after a tick in which power lists
// those who spoke: current, while they speak and nobody has twice their
// power; otherwise the most powerful; "" when nobody spoke.
func pickSpeaker(current string, power map[string]int64) string {
	best, bestPower := "", int64(0)
	for id, pw := range power {
		if pw > bestPower || (pw == bestPower && id < best) {
			best, bestPower = id, pw
		}
	}
	if cur, ok := power[current]; ok && bestPower < 2*cur {
		return current
	}
	return best
}

func (p *peer) micOn() bool {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.audio
}
