package meet_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// shareFlags let headless Chromium's getDisplayMedia pick a screen
// without a picker.
var shareFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("auto-select-desktop-capture-source", "Entire screen"),
	chromedp.Flag("auto-accept-this-tab-capture", true),
	chromedp.Flag("enable-usermedia-screen-capturing", true),
}

// screenView is what a page shows of the others' camera and screen, and
// the inbound video streams of its getStats that carry them.
type screenView struct {
	Tiles   []string `json:"tiles"`
	Screens []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Frames int    `json:"frames"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	} `json:"screens"`
	// CameraTrack and ScreenTrack are the track IDs the other's camera
	// tile and screen tile play; Inbound the inbound-rtp video streams.
	CameraTrack string         `json:"cameraTrack"`
	ScreenTrack string         `json:"screenTrack"`
	Inbound     []inboundVideo `json:"inbound"`
	Notice      string         `json:"notice"`
	Errors      string         `json:"errors"`
}

type inboundVideo struct {
	TrackIdentifier string `json:"trackIdentifier"`
	Mid             string `json:"mid"`
	SSRC            uint32 `json:"ssrc"`
	FramesDecoded   int    `json:"framesDecoded"`
	FrameWidth      int    `json:"frameWidth"`
	FrameHeight     int    `json:"frameHeight"`
}

// decoded is the frames decoded of the inbound stream of track id.
func (v screenView) decoded(id string) int {
	for _, in := range v.Inbound {
		if id != "" && in.TrackIdentifier == id {
			return in.FramesDecoded
		}
	}
	return 0
}

const screenViewJS = `(async () => {
  const s = await window.meet.stats();
  const track = (el) => { const v = el && el.querySelector("video"); const st = v && v.srcObject; const tr = st && st.getVideoTracks()[0]; return tr ? tr.id : ""; };
  return {
    tiles: window.meet.tiles().map(t => t.name),
    screens: window.meet.screens(),
    cameraTrack: track(document.querySelector(".tile:not(.self)")),
    screenTrack: track(document.querySelector("#screens .screen:not(.self)")),
    inbound: s.filter(r => r.type === "inbound-rtp" && r.kind === "video").map(r => ({ trackIdentifier: r.trackIdentifier, mid: r.mid, ssrc: r.ssrc,
      framesDecoded: r.framesDecoded || 0, frameWidth: r.frameWidth || 0, frameHeight: r.frameHeight || 0 })),
    notice: document.getElementById("notice").textContent,
    errors: document.getElementById("error").textContent + JSON.stringify(window.meet.errors),
  };
})()`

// screens polls the page until ok holds, or fails after 90 s.
func (b *browser) screens(what string, ok func(screenView) bool) screenView {
	b.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var v screenView
	for {
		var err error
		v, err = eval[screenView](b, screenViewJS)
		if err == nil && ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: not within 90 s (last: %+v, err %v)", b.name, what, v, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestE2EMeetingScreenBesideCamera: real headless Chromium. With her
// camera on, Yamada shares her screen; Sato's page decodes two video
// tracks from her (framesDecoded > 0 on both inbound streams, the camera
// tile playing one, the large screen tile "山田 花子 さんの画面" the
// other; "山田 花子's screen" in English), and her camera tile stays.
// She stops (the button): Sato's screen tile goes and the camera plays
// on. She shares again, on the same transceiver, and the screen comes
// back; the browser's own stop (the track ends) takes it away again.
// Evidence in $ARTIFACTS_DIR/meet: screen-share-inbound.json, Sato's
// whole getStats, meeting-screen-and-camera.png.
func TestE2EMeetingScreenBesideCamera(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t)
	ctx := context.Background()
	yamada := named(t, b, "s-yamada", "山田 花子")
	sato := named(t, b, "s-sato", "佐藤 一郎")
	room, err := yamada.CreateRoom(ctx, api.CreateRoomRequest{Title: "資料の画面共有"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := startBrowser(t, "screen-yamada", shareFlags...), startBrowser(t, "screen-sato")
	pa.join(room)
	pb.join(join(t, sato, room.Room.ID))
	both := func(m media) bool { return m.VideoDecoding >= 1 && hasAll(m.Tiles, "山田 花子", "佐藤 一郎") }
	pa.until("yamada decodes sato", both)
	pb.until("sato decodes yamada's camera", both)

	pa.run("share the screen", chromedp.Click(chromedp.ID("share")))
	pa.waitJS("sharing, or a message why not", `window.devices.sharing() || document.getElementById("error").textContent !== ""`, true)
	if shared, _ := eval[bool](pa, `window.devices.sharing()`); !shared {
		msg, _ := eval[string](pa, `document.getElementById("error").textContent`)
		t.Fatalf("screen share did not start in headless Chromium: %q", msg)
	}
	pa.waitJS("the share button says stop", `document.getElementById("share").textContent === "共有を停止"`, true)
	pa.waitJS("the camera stays on its own sender, the screen on another",
		`(() => { const v = window.meet.pc.getSenders().filter(s => s.track && s.track.kind === "video"); return v.length === 2 && v.some(s => s.track === window.meet.local.getVideoTracks()[0]) && v.some(s => s.track === window.devices.screenTrack()); })()`, true)

	pa.waitJS("the screen goes out as one encoding (no simulcast) of up to 2.5 Mbit/s",
		`(() => { const s = window.meet.pc.getSenders().find(s => s.track && s.track === window.devices.screenTrack()); const e = s && s.getParameters().encodings; return !!e && e.length === 1 && !e[0].rid && e[0].maxBitrate === 2500000; })()`, true)

	const screenName = "山田 花子 さんの画面"
	twoTracks := func(v screenView) bool {
		return len(v.Screens) == 1 && v.Screens[0].Name == screenName && v.Screens[0].Frames > 0 &&
			v.CameraTrack != "" && v.ScreenTrack != "" && v.CameraTrack != v.ScreenTrack &&
			v.decoded(v.CameraTrack) > 0 && v.decoded(v.ScreenTrack) > 0 && hasAll(v.Tiles, "山田 花子", "佐藤 一郎")
	}
	v := pb.screens("sato decodes yamada's camera and screen, each in its tile", twoTracks)
	pb.playing("yamada's camera tile plays on beside the screen", "山田 花子", "佐藤 一郎")
	// A few seconds more, so that the evidence shows both flowing.
	time.Sleep(3 * time.Second)
	v = pb.screens("both still decoding", twoTracks)
	t.Logf("sato sees: %+v", v)
	out, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(filepath.Join(art, "screen-share-inbound.json"), append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	// While the screen shows, the page fits the window: nothing scrolls
	// and no tile or screen lies under the header or the controls bar.
	for _, p := range []*browser{pa, pb} {
		p.waitJS("the stage and the strip fit between the header and the controls", `(() => {
  const se = document.scrollingElement, main = document.querySelector("main");
  if (se.scrollHeight > innerHeight + 1 || main.scrollHeight > main.clientHeight + 1) return false;
  const top = document.querySelector("header").getBoundingClientRect().bottom - 1;
  const bottom = document.getElementById("controls").getBoundingClientRect().top + 1;
  const els = [...document.querySelectorAll("#screens .screen, #tiles .tile")];
  return els.length >= 3 && els.every(e => { const r = e.getBoundingClientRect(); return r.height > 50 && r.top >= top && r.bottom <= bottom; });
})()`, true)
	}
	pb.saveStats(art, "getstats-screen-sato.json")
	pb.screenshot(art, "meeting-screen-and-camera.png")
	pa.screenshot(art, "meeting-screen-sharer.png")

	// The screen tile's name comes from the translation table.
	pb.run("english", chromedp.Click(chromedp.ID("lang")))
	pb.waitJS("the screen tile in English", `window.meet.screens().length === 1 && window.meet.screens()[0].name === "山田 花子's screen"`, true)
	pb.run("japanese", chromedp.Click(chromedp.ID("lang")))

	pa.run("stop sharing", chromedp.Click(chromedp.ID("share")))
	pa.waitJS("stopped", `!window.devices.sharing() && document.getElementById("share").textContent === "画面を共有" && window.meet.screens().length === 0`, true)
	pb.screens("yamada's screen tile goes", func(v screenView) bool { return len(v.Screens) == 0 })
	pb.playing("yamada's camera plays on after the share", "山田 花子", "佐藤 一郎")

	// Again: the same transceiver, a new screen track.
	pa.run("share again", chromedp.Click(chromedp.ID("share")))
	pa.waitJS("sharing again", `window.devices.sharing()`, true)
	// (The tile went, so a tile with frames is the new share's.)
	again := pb.screens("the screen comes back", twoTracks)
	t.Logf("shared again: %+v", again)
	// The browser's own stop: the screen's track ends.
	pa.run("the browser stops the share", chromedp.Evaluate[chromedp.Void](`window.devices.screenTrack().dispatchEvent(new Event("ended"))`))
	pa.waitJS("the page stopped sharing", `!window.devices.sharing() && document.getElementById("notice").textContent.includes("画面の共有を停止しました")`, true)
	pb.screens("yamada's screen tile goes after the browser's stop", func(v screenView) bool { return len(v.Screens) == 0 })
	pb.playing("the camera plays on", "山田 花子", "佐藤 一郎")
	if v, err := eval[screenView](pb, screenViewJS); err == nil && v.Errors != "[]" {
		t.Errorf("sato's page shows errors: %s", v.Errors)
	}
}
