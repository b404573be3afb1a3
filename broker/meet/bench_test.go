package meet_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/auth"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// The meeting benchmark's shape: one room, ten participants publishing a
// camera each and ten only watching, so every packet a publisher sends is
// forwarded 19 times (to the 9 other publishers and the 10 watchers).
const (
	benchPublishers  = 10
	benchSubscribers = 10
	benchPPS         = 100  // packets a second per camera: about 1 Mbit/s in 1,200-byte packets
	benchPayload     = 1100 // bytes of RTP payload
	benchWarmup      = 3 * time.Second
	benchWindow      = 5 * time.Second
	benchWindows     = 3
	benchSecret      = "JBSWY3DPEHPK3PXPAAAAAAAAAAAAAAAA"
)

// forwardCounter is what the receivers share: packets received and, in a
// window, how long each took from its sender (the send time is in the
// payload; sender and receivers share this process's clock).
type forwardCounter struct {
	packets atomic.Int64
	mu      sync.Mutex // guards lat, sampling
	lat     []time.Duration
	sample  bool
}

func (f *forwardCounter) got(payload []byte) {
	f.packets.Add(1)
	if len(payload) < 13 {
		return
	}
	sent := int64(binary.BigEndian.Uint64(payload[5:13]))
	d := time.Duration(time.Now().UnixNano() - sent)
	f.mu.Lock()
	if f.sample {
		f.lat = append(f.lat, d)
	}
	f.mu.Unlock()
}

func (f *forwardCounter) window(on bool) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sample = on
	l := f.lat
	f.lat = nil
	return l
}

// payloadAt is a VP8 payload (descriptor and a keyframe header) with the
// send time after it.
func payloadAt(buf []byte) []byte {
	copy(buf, []byte{0x10, 0x00, 0x9d, 0x01, 0x2a})
	binary.BigEndian.PutUint64(buf[5:], uint64(time.Now().UnixNano()))
	return buf
}

// publish sends one camera's packets at benchPPS until stop: a VP8
// payload with its send time (payloadAt).
func publish(wg *sync.WaitGroup, stop <-chan struct{}, send func(*rtp.Packet)) {
	defer wg.Done()
	tick := time.NewTicker(time.Second / benchPPS)
	defer tick.Stop()
	buf := make([]byte, benchPayload)
	for seq := uint16(0); ; seq++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		send(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
			Timestamp: uint32(seq) * 900, Marker: true}, Payload: payloadAt(buf)})
	}
}

type benchResult struct {
	perCore []float64 // forwarded packets per CPU-second of the forwarder
	lat     []time.Duration
}

// BenchmarkMeetForwarding measures the SFU (the broker binary in its own
// process, Go pion peers in this one, SRTP over the broker's UDP mux on
// loopback) against a bare loop in the same run: a process with one UDP
// socket that forwards each received RTP packet to the same participants,
// no SRTP. meet.packets_per_core is forwarded packets per second of the
// broker process's CPU time; meet.added_p99_ms the p99 from send to
// receive through the SFU (the Go peers' own SRTP included).
func BenchmarkMeetForwarding(b *testing.B) {
	for range b.N {
		sfu := benchSFU(b)
		bare := benchBare(b)
		var ratios []float64
		for i := range sfu.perCore {
			ratios = append(ratios, sfu.perCore[i]/bare.perCore[i])
		}
		meetReport("meet.packets_per_core", "packets/core-s", "target>=75000", sfu.perCore)
		meetReport("meet.packets_vs_bare", "ratio", "target>=0.5", ratios)
		meetReport("meet.bare_packets_per_core", "packets/core-s", "", bare.perCore)
		fmt.Printf("BENCH %s %.3g %s %s\n", "meet.added_p99_ms", p99ms(sfu.lat), "ms", "target<=5")
		fmt.Printf("BENCH %s %.3g %s\n", "meet.bare_p99_ms", p99ms(bare.lat), "ms")
		fmt.Printf("BENCH %s %d %s\n", "meet.publishers", benchPublishers, "peers")
		fmt.Printf("BENCH %s %d %s\n", "meet.subscribers", benchSubscribers, "peers")
		fmt.Printf("BENCH %s %d %s\n", "meet.pps_per_publisher", benchPPS, "packets/s")
	}
}

func benchSFU(b *testing.B) benchResult {
	n := benchPublishers + benchSubscribers
	id := func(i int) string { return fmt.Sprintf("meet%02d", i) }
	p := brokertest.StartProcess(b, func(db *daemon.Broker) {
		ctx := context.Background()
		a := db.Services.Auth
		for i := range n {
			if _, err := a.CreateUser(ctx, "bench", api.CreateUserRequest{ID: id(i), Name: id(i), Department: "総務課", Roles: []api.Role{api.RoleStaff}}); err != nil {
				b.Fatal(err)
			}
			if err := a.SetUserPassword(ctx, "bench", id(i), brokertest.Password, false); err != nil {
				b.Fatal(err)
			}
			if err := a.SetTOTPSecret(ctx, id(i), benchSecret, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	ctx := context.Background()
	clients := make([]*api.Client, n)
	for i := range clients {
		c, err := api.NewClient(p.URL, api.ClientOptions{Pins: []string{p.Pin}})
		if err != nil {
			b.Fatal(err)
		}
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		code, _ := auth.TOTPCode(benchSecret, time.Now())
		if _, err := c.Login(ctx, api.LoginRequest{StaffID: id(i), Password: brokertest.Password, OTP: code,
			Device: api.DeviceInfo{Name: "bench", OS: "linux", PublicKey: key.Public().(ed25519.PublicKey)}}); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}
	r, err := clients[0].CreateRoom(ctx, api.CreateRoomRequest{Title: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var fc forwardCounter
	var tracks atomic.Int64
	var pubTracks []*webrtc.TrackLocalStaticRTP
	for i, c := range clients {
		tok := r.Token
		if i > 0 {
			j, err := c.JoinRoom(ctx, r.Room.ID)
			if err != nil {
				b.Fatal(err)
			}
			tok = j.Token
		}
		peer := newGoPeerAt(b, signalURL(p.URL, r.Room.ID, tok), c.HTTPClient())
		peer.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			tracks.Add(1)
			buf := make([]byte, 1500)
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				var pkt rtp.Packet
				if pkt.Unmarshal(buf[:n]) == nil {
					fc.got(pkt.Payload)
				}
			}
		})
		if i < benchPublishers {
			track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", id(i))
			if err != nil {
				b.Fatal(err)
			}
			sender, err := peer.pc.AddTrack(track)
			if err != nil {
				b.Fatal(err)
			}
			go func() {
				for {
					if _, _, err := sender.ReadRTCP(); err != nil {
						return
					}
				}
			}()
			pubTracks = append(pubTracks, track)
		}
		peer.run()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for _, track := range pubTracks {
		wg.Add(1)
		go publish(&wg, stop, func(p *rtp.Packet) { _ = track.WriteRTP(p) })
	}
	want := int64(benchPublishers*(benchPublishers-1) + benchSubscribers*benchPublishers)
	deadline := time.Now().Add(90 * time.Second)
	for tracks.Load() < want && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := tracks.Load(); got < want {
		b.Fatalf("only %d of %d forwarded tracks arrived in 90 s", got, want)
	}
	res := measure(b, p.Cmd.Process.Pid, &fc, float64(want*benchPPS))
	// A graceful stop, so that a CPU profile the broker was asked for
	// (ZAITAKU_CPUPROFILE, read by broker serve) is written out.
	p.Terminate()
	return res
}

// measure takes the forwarder's CPU time and the packets received over
// benchWindows windows, after a warm-up; wantPPS is what the senders
// offer, so that a forwarder that drops cannot flatter itself.
func measure(b *testing.B, pid int, fc *forwardCounter, wantPPS float64) benchResult {
	time.Sleep(benchWarmup)
	var res benchResult
	for range benchWindows {
		fc.window(true)
		t0, n0, start := brokertest.CPUTime(b, pid), fc.packets.Load(), time.Now()
		time.Sleep(benchWindow)
		t1, n1, wall := brokertest.CPUTime(b, pid), fc.packets.Load(), time.Since(start)
		res.lat = append(res.lat, fc.window(false)...)
		pps := float64(n1-n0) / wall.Seconds()
		cpu := (t1 - t0).Seconds()
		if pps < 0.9*wantPPS {
			b.Fatalf("forwarded %.0f packets/s, want about %.0f (the forwarder used %.2f cores): the figure would flatter the forwarder", pps, wantPPS, cpu/wall.Seconds())
		}
		if cpu <= 0 {
			cpu = 0.01 // less than a tick: the figure is a bound
		}
		res.perCore = append(res.perCore, float64(n1-n0)/cpu)
	}
	return res
}

// benchBare runs testdata/bareforward with the same participants as UDP
// sockets: publishers send the same packets at the same rate.
func benchBare(b *testing.B) benchResult {
	bin := filepath.Join(b.TempDir(), "bareforward")
	build := exec.Command("go", "build", "-o", bin, "./testdata/bareforward")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build bareforward: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	addr, err := net.ResolveUDPAddr("udp4", strings.TrimSpace(line))
	if err != nil {
		b.Fatal(err)
	}
	var fc forwardCounter
	n := benchPublishers + benchSubscribers
	conns := make([]*net.UDPConn, n)
	for i := range conns {
		c, err := net.DialUDP("udp4", nil, addr)
		if err != nil {
			b.Fatal(err)
		}
		_ = c.SetReadBuffer(4 << 20)
		b.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("join")); err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		go func() {
			buf := make([]byte, 1500)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				var pkt rtp.Packet
				if pkt.Unmarshal(buf[:n]) == nil {
					fc.got(pkt.Payload)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the joins arrive before the media
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for i := range benchPublishers {
		wg.Add(1)
		go publish(&wg, stop, func(p *rtp.Packet) {
			p.SSRC = uint32(i + 1)
			raw, _ := p.Marshal()
			_, _ = conns[i].Write(raw)
		})
	}
	return measure(b, cmd.Process.Pid, &fc, float64((n-1)*benchPublishers*benchPPS))
}

func p99ms(lat []time.Duration) float64 {
	if len(lat) == 0 {
		return math.NaN()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(lat[int(math.Ceil(0.99*float64(len(lat))))-1].Microseconds()) / 1000
}

func meetReport(name, unit, target string, runs []float64) {
	s := append([]float64(nil), runs...)
	sort.Float64s(s)
	line := fmt.Sprintf("BENCH %s %.3g %s", name, s[len(s)/2], unit)
	if target != "" {
		line += " " + target
	}
	fmt.Println(line)
	fmt.Printf("BENCH %s_spread %.3g %s\n", name, s[len(s)-1]-s[0], unit)
}
