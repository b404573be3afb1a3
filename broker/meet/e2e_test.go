package meet_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/brokertest/headless"
)

// browser is one headless Chromium with a fake camera and mic.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context
}

// meetE2E is the start of a meeting test with browsers: Chromium must be
// there, and the evidence goes to $ARTIFACTS_DIR/meet, which it returns.
func meetE2E(t *testing.T) string {
	t.Helper()
	headless.Path(t)
	art := filepath.Join(brokertest.ArtifactsDir(t), "meet")
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	return art
}

// startBrowser starts Chromium with the shared brief's flags for WebRTC
// on loopback. The broker's certificate is self-signed, so certificate
// errors are ignored; autoplay needs no gesture, so that a page can play
// what it receives without one.
func startBrowser(t *testing.T, name string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	return startBrowserIn(t, name, t.TempDir(), extra...)
}

func startBrowserIn(t *testing.T, name, dataDir string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 800),
	}, extra...)
	return &browser{t: t, name: name, ctx: headless.Start(t, name, dataDir, opts...)}
}

func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// eval evaluates a JavaScript expression (promises awaited).
func eval[T any](b *browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// join opens the meeting link and presses Join.
func (b *browser) join(j *api.MeetJoin) {
	b.t.Helper()
	// From a blank page, so that a second visit to the same room is a
	// new page load and not a jump within the old one (only the
	// fragment differs).
	b.run("open the meeting", chromedp.Navigate("about:blank"), chromedp.Navigate(j.URL), chromedp.WaitVisible(chromedp.ID("join")))
	b.run("join", chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("tiles")))
}

// media is what a page receives, from its getStats.
type media struct {
	Tiles         []string `json:"tiles"` // the names on the tiles
	VideoDecoding int      `json:"videoDecoding"`
	FramesDecoded []int    `json:"framesDecoded"`
	FrameWidths   []int    `json:"frameWidths"`
	AudioIn       int      `json:"audioIn"`
	SentWidth     int      `json:"sentWidth"`
	Capture       string   `json:"capture"` // the camera's width x height
	Notice        string   `json:"notice"`
	// TileFrames are the frames each other participant's tile has shown, by name.
	TileFrames map[string]int `json:"tileFrames"`
	Errors     string         `json:"errors"`
}

const mediaJS = `(async () => {
  const s = await window.meet.stats();
  const vin = s.filter(r => r.type === "inbound-rtp" && r.kind === "video");
  const ain = s.filter(r => r.type === "inbound-rtp" && r.kind === "audio");
  const vout = s.filter(r => r.type === "outbound-rtp" && r.kind === "video");
  return {
    tiles: window.meet.tiles().map(t => t.name),
    videoDecoding: vin.filter(r => (r.framesDecoded || 0) > 0).length,
    framesDecoded: vin.map(r => r.framesDecoded || 0),
    frameWidths: vin.map(r => r.frameWidth || 0),
    audioIn: ain.filter(r => (r.packetsReceived || 0) > 0 && (r.totalSamplesReceived || 0) > 0).length,
    sentWidth: vout.length ? (vout[0].frameWidth || 0) : 0,
    capture: (() => { const v = window.meet.local && window.meet.local.getVideoTracks()[0]; if (!v) return ""; const st = v.getSettings(); return st.width + "x" + st.height; })(),
    notice: document.getElementById("notice").textContent,
    tileFrames: Object.fromEntries([...document.querySelectorAll(".tile:not(.self)")].map(el =>
      [el.querySelector(".name").textContent, el.querySelector("video").getVideoPlaybackQuality().totalVideoFrames])),
    errors: document.getElementById("error").textContent + JSON.stringify(window.meet.errors),
  };
})()`

// until polls the page's media until ok holds, or fails after a minute.
func (b *browser) until(what string, ok func(media) bool) media {
	b.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var m media
	for {
		var err error
		m, err = eval[media](b, mediaJS)
		if err == nil && ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: not within 90 s (last: %+v, err %v)", b.name, what, m, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// playing waits until the tiles of everyone named but the page's own
// participant show new frames.
func (b *browser) playing(what string, names ...string) {
	b.t.Helper()
	before := b.until(what, func(m media) bool { return len(m.Tiles) == len(names) && hasAll(m.Tiles, names...) })
	b.until(what, func(m media) bool {
		if len(m.TileFrames) != len(names)-1 {
			return false
		}
		for name, n := range m.TileFrames {
			if n <= before.TileFrames[name] {
				return false
			}
		}
		return true
	})
}

// waitJS waits until a boolean expression has the value want.
func (b *browser) waitJS(what, expr string, want bool) {
	b.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := eval[bool](b, expr)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: not within 30 s (%v, %v)", b.name, what, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// saveStats writes the page's whole getStats report as JSON.
func (b *browser) saveStats(dir, file string) {
	b.t.Helper()
	js, err := eval[string](b, `window.meet.stats().then(s => JSON.stringify(s, null, 2))`)
	if err != nil {
		b.t.Fatalf("%s: stats: %v", b.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(js+"\n"), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) screenshot(dir, file string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func named(t *testing.T, b *brokertest.Broker, id, name string) *brokertest.Session {
	t.Helper()
	u := b.CreateUser(t, id)
	if _, err := b.Services.Auth.UpdateUser(context.Background(), "test", id, api.UpdateUserRequest{Name: &name}); err != nil {
		t.Fatal(err)
	}
	return b.Login(t, u)
}

func hasAll(tiles []string, names ...string) bool {
	for _, n := range names {
		found := false
		for _, t := range tiles {
			if strings.HasPrefix(t, n) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestE2EMeetingTwoBrowsers: real headless Chromium with a fake camera
// (1280x720) and mic. Two participants join one room through the
// broker's SFU and each decodes the other's video and receives audio; a
// third joins mid-meeting and sees both; one leaves, and the others'
// pages show it; they come back, and every tile plays again. Then chat
// typed in a page reaches every page, the host (only) has the host's
// controls, asks one participant to mute, and ends the meeting for all. Evidence: each page's getStats as JSON and screenshots
// in $ARTIFACTS_DIR/meet.
func TestE2EMeetingTwoBrowsers(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t)
	ctx := context.Background()
	yamada := named(t, b, "m-yamada", "山田 花子")
	sato := named(t, b, "m-sato", "佐藤 一郎")
	suzuki := named(t, b, "m-suzuki", "鈴木 美咲")

	room, err := yamada.CreateRoom(ctx, api.CreateRoomRequest{Title: "課内ミーティング"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("room %s", room.Room.ID)
	pa, pb := startBrowser(t, "yamada"), startBrowser(t, "sato")
	pa.join(room)
	if txt, err := eval[string](pa, `document.querySelector(".norec").textContent`); err != nil || !strings.Contains(txt, "録画") {
		t.Errorf("the page does not say the meeting is not recorded: %q, %v", txt, err)
	}
	pb.join(join(t, sato, room.Room.ID))

	two := func(m media) bool { return m.VideoDecoding >= 1 && m.AudioIn >= 1 }
	ma := pa.until("decode sato's video and receive audio", two)
	mb := pb.until("decode yamada's video and receive audio", two)
	t.Logf("two participants: yamada %+v; sato %+v", ma, mb)

	pc := startBrowser(t, "suzuki")
	pc.join(join(t, suzuki, room.Room.ID))
	three := func(m media) bool {
		return m.VideoDecoding >= 2 && m.AudioIn >= 2 && hasAll(m.Tiles, "山田 花子", "佐藤 一郎", "鈴木 美咲")
	}
	mc := pc.until("the third sees both", three)
	ma = pa.until("yamada sees the third", three)
	mb = pb.until("sato sees the third", three)
	t.Logf("three participants: yamada %+v; sato %+v; suzuki %+v", ma, mb, mc)
	for _, m := range []media{ma, mb, mc} {
		if m.Capture != "1280x720" {
			t.Errorf("camera captures %q, want the fake camera at 1280x720", m.Capture)
		}
	}
	// A few seconds more of media, so that the evidence shows frames flowing.
	time.Sleep(5 * time.Second)
	for _, p := range []*browser{pa, pb, pc} {
		p.saveStats(art, "getstats-"+p.name+".json")
	}
	pc.screenshot(art, "meeting-three-tiles.png")

	// Suzuki turns the camera off: the others' tiles say so; and on again.
	camOff := `(() => { const el = [...document.querySelectorAll(".tile")].find(e => e.querySelector(".name").textContent.startsWith("鈴木 美咲")); return !!el && el.classList.contains("novideo") && el.querySelector(".off").textContent.includes("カメラ オフ"); })()`
	pc.run("camera off", chromedp.Click(chromedp.ID("cam")))
	for _, p := range []*browser{pa, pb} {
		p.waitJS("suzuki's tile shows the camera off", camOff, true)
	}
	pc.run("camera on", chromedp.Click(chromedp.ID("cam")))
	pa.waitJS("suzuki's tile shows the camera on", camOff, false)

	pb.run("leave", chromedp.Click(chromedp.ID("leave")))
	gone := func(m media) bool {
		return len(m.Tiles) == 2 && !hasAll(m.Tiles, "佐藤 一郎") && strings.Contains(m.Notice, "佐藤 一郎 さんが退出しました")
	}
	ma = pa.until("sato's tile goes", gone)
	mc = pc.until("sato's tile goes", gone)
	t.Logf("after sato left: yamada %+v; suzuki %+v", ma, mc)
	pa.screenshot(art, "meeting-after-leave.png")
	if r, err := yamada.JoinRoom(ctx, room.Room.ID); err != nil || r.Room.Participants != 2 {
		t.Errorf("room after one left: %+v, %v; want 2 participants", r, err)
	}

	// Sato comes back with a new link: the others receive the new tracks
	// on the transceivers the old ones left, and every tile plays.
	pb.join(join(t, sato, room.Room.ID))
	for _, p := range []*browser{pa, pb, pc} {
		p.playing("every tile plays after sato came back", "山田 花子", "佐藤 一郎", "鈴木 美咲")
	}

	// In-meeting chat, typed in the page: everyone sees it, as text.
	pb.run("chat", chromedp.SendKeys(chromedp.ID("chatInput"), "資料を画面共有します<b>\r"))
	for _, p := range []*browser{pa, pb, pc} {
		p.waitJS("the chat line arrives", `[...document.querySelectorAll("#chatLog li")].some(li => li.textContent.includes("佐藤 一郎") && li.textContent.includes("資料を画面共有します<b>"))`, true)
	}
	// The host's controls are the host's only.
	// (Shown or not as the eye sees it: offsetParent is null when not displayed.)
	pa.waitJS("the host sees the host's bar and the controls on the others' tiles, not on their own",
		`document.getElementById("hostbar").offsetParent !== null && [...document.querySelectorAll(".tile")].every(el => (el.querySelector(".hostctl").offsetParent === null) === el.classList.contains("self"))`, true)
	pb.waitJS("a participant sees no host's controls", `document.getElementById("hostbar").offsetParent === null && [...document.querySelectorAll(".hostctl")].every(h => h.offsetParent === null)`, true)
	// The host asks suzuki to mute: suzuki's mic goes off and says why.
	pa.run("ask suzuki to mute", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll(".tile")].find(e => e.querySelector(".name").textContent.startsWith("鈴木 美咲")).querySelector('.hostctl button[data-action="mute"]').click()`))
	pc.waitJS("suzuki's mic is off at the host's request", `document.getElementById("mic").getAttribute("aria-pressed") === "false" && document.getElementById("notice").textContent.includes("主催者")`, true)
	pa.waitJS("suzuki's tile shows the mic off", `[...document.querySelectorAll(".tile")].find(e => e.querySelector(".name").textContent.startsWith("鈴木 美咲")).querySelector(".off").textContent.includes("マイク オフ")`, true)
	pa.screenshot(art, "meeting-host-chat.png")
	// The host ends the meeting for everyone.
	pa.run("end for all", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), chromedp.Click(chromedp.ID("endAll")))
	for _, p := range []*browser{pb, pc} {
		p.waitJS("the page says the host ended the meeting", `document.getElementById("notice").textContent.includes("主催者が会議を終了しました") && document.getElementById("room").hidden`, true)
	}
	if _, err := sato.JoinRoom(ctx, room.Room.ID); api.AsError(err) == nil || api.AsError(err).Code != api.CodeMeetRoomNotFound {
		t.Errorf("join after the host ended the meeting: %v", err)
	}
	fmt.Fprintf(os.Stderr, "meeting evidence in %s\n", art)
}

// selectedJS describes the local candidate of the selected ICE pair.
const selectedJS = `(async () => {
  const s = await window.meet.stats();
  const byId = new Map(s.map(r => [r.id, r]));
  const tr = s.find(r => r.type === "transport" && r.selectedCandidatePairId);
  if (!tr) return {};
  const pair = byId.get(tr.selectedCandidatePairId);
  const local = pair && byId.get(pair.localCandidateId);
  const remote = pair && byId.get(pair.remoteCandidateId);
  return { candidateType: local ? local.candidateType : "", relayProtocol: local ? (local.relayProtocol || "") : "",
    protocol: local ? local.protocol : "", remote: remote ? remote.address + ":" + remote.port : "", state: pair ? pair.state : "",
    localCandidates: s.filter(r => r.type === "local-candidate").map(r => r.candidateType + "/" + r.protocol + (r.relayProtocol ? "/" + r.relayProtocol : "")) };
})()`

type selected struct {
	CandidateType string `json:"candidateType"`
	RelayProtocol string `json:"relayProtocol"`
	Protocol      string `json:"protocol"`
	Remote        string `json:"remote"`
	State         string `json:"state"`
	// LocalCandidates are all the page gathered, as type/protocol[/relay protocol].
	LocalCandidates []string `json:"localCandidates"`
}

// TestE2EMeetingWithoutUDP: Chromium may not send UDP itself
// (disable_non_proxied_udp), so its media goes over TCP to the broker's
// embedded TURN server, which relays it to the SFU. Both participants
// decode each other's video and receive audio, and the selected pair's
// local candidate is a relay over TCP.
func TestE2EMeetingWithoutUDP(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t)
	ctx := context.Background()
	tanaka := named(t, b, "t-tanaka", "田中 健")
	ito := named(t, b, "t-ito", "伊藤 さくら")
	room, err := tanaka.CreateRoom(ctx, api.CreateRoomRequest{Title: "UDP なしの会議"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := startWithoutUDP(t, "noudp-tanaka"), startWithoutUDP(t, "noudp-ito")
	pa.join(room)
	// Ito reads the page in English.
	en := join(t, ito, room.Room.ID)
	en.URL = strings.Replace(en.URL, "#", "?lang=en#", 1)
	pb.join(en)
	if txt, err := eval[string](pb, `document.querySelector(".norec").textContent + "|" + document.getElementById("leave").textContent`); err != nil || txt != "This meeting is not recorded.|Leave" {
		t.Errorf("the English page says %q, %v", txt, err)
	}
	both := func(m media) bool {
		return m.VideoDecoding >= 1 && m.AudioIn >= 1 && hasAll(m.Tiles, "田中 健", "伊藤 さくら")
	}
	ma := pa.until("decode ito's video over TURN/TCP", both)
	mb := pb.until("decode tanaka's video over TURN/TCP", both)
	t.Logf("without UDP: tanaka %+v; ito %+v", ma, mb)
	time.Sleep(3 * time.Second)
	var summary strings.Builder
	for _, p := range []*browser{pa, pb} {
		sel, err := eval[selected](p, selectedJS)
		if err != nil {
			t.Fatalf("%s: selected pair: %v", p.name, err)
		}
		t.Logf("%s: selected pair %+v", p.name, sel)
		fmt.Fprintf(&summary, "%s: local candidateType=%s relayProtocol=%s protocol=%s remote=%s state=%s\n",
			p.name, sel.CandidateType, sel.RelayProtocol, sel.Protocol, sel.Remote, sel.State)
		if sel.CandidateType != "relay" || (sel.RelayProtocol != "tcp" && sel.RelayProtocol != "tls") {
			t.Errorf("%s: selected local candidate %+v, want a relay over tcp or tls", p.name, sel)
		}
		// Host candidates over TCP may appear (the broker offers no ICE
		// over TCP, so they pair with nothing); UDP of the browser's
		// own may not.
		for _, c := range sel.LocalCandidates {
			if !strings.HasPrefix(c, "relay/") && strings.Contains(c, "/udp") {
				t.Errorf("%s: gathered a %s candidate: the browser sent UDP of its own", p.name, c)
			}
		}
		fmt.Fprintf(&summary, "%s: local candidates %v\n", p.name, sel.LocalCandidates)
		p.saveStats(art, "getstats-"+p.name+".json")
	}
	if err := os.WriteFile(filepath.Join(art, "noudp-selected-pairs.txt"), []byte(summary.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	pa.screenshot(art, "meeting-without-udp.png")
}

// startWithoutUDP starts Chromium with WebRTC's IP handling policy at
// disable_non_proxied_udp: no UDP of its own, only TURN over TCP (or a
// proxy). Debian's Chromium 156 ignored the switch alone here and obeys
// the profile's preference, so the test sets both.
func startWithoutUDP(t *testing.T, name string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	prefs := `{"webrtc":{"ip_handling_policy":"disable_non_proxied_udp","udp_port_range":""}}`
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	return startBrowserIn(t, name, dir, append(extra, chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"))...)
}
