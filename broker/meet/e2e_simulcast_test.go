package meet_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// layersJS lists what a page sends, by simulcast rid: the width of each
// layer's frames and the packets sent.
const layersJS = `(async () => {
  const out = {};
  (await window.meet.stats()).filter(r => r.type === "outbound-rtp" && r.kind === "video")
    .forEach(r => { out[r.rid || "-"] = { frameWidth: r.frameWidth || 0, packetsSent: r.packetsSent || 0 }; });
  return out;
})()`

type sentLayer struct {
	FrameWidth  int `json:"frameWidth"`
	PacketsSent int `json:"packetsSent"`
}

// TestE2EMeetingSimulcastLowLayer: real headless Chromium publishes its
// fake 1280x720 camera in three simulcast layers (q, h, f). A subscriber
// whose tiles are small (240 px wide) tells the broker so, and the broker
// forwards it the low layer: the frames it decodes are the low layer's
// width (320 for the 1280 camera), as the publisher's getStats gives it
// for rid q. The top layer may be dropped by the browser's CPU
// adaptation; the low one may not. Evidence: both pages' getStats and the
// layers in $ARTIFACTS_DIR/meet. Then, in the same pages: a speaker is
// outlined from the fake mics' audio levels, and audio only (音声のみ)
// stops the video while the sound goes on.
func TestE2EMeetingSimulcastLowLayer(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t)
	ctx := context.Background()
	kimura := named(t, b, "s-kimura", "木村 拓也")
	mori := named(t, b, "s-mori", "森 由美")
	room, err := kimura.CreateRoom(ctx, api.CreateRoomRequest{Title: "サイマルキャスト"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := startBrowser(t, "simulcast-kimura"), startBrowser(t, "simulcast-mori")
	pa.join(room)
	pb.join(join(t, mori, room.Room.ID))
	// Mori's page draws every tile 240 px wide, as a crowded meeting on a
	// small screen would.
	// (Through the CSSOM: the page's Content-Security-Policy refuses a
	// style element.)
	pb.run("small tiles", chromedp.Evaluate[chromedp.Void](`document.getElementById("tiles").style.gridTemplateColumns = "repeat(auto-fill, 240px)"`))
	pb.waitJS("the tiles are 240 px wide", `[...document.querySelectorAll(".tile")].every(el => el.offsetWidth === 240)`, true)

	// The publisher sends the low layer (and whatever else its CPU affords).
	var sent map[string]sentLayer
	deadline := time.Now().Add(90 * time.Second)
	for {
		sent, err = eval[map[string]sentLayer](pa, layersJS)
		if err == nil && sent["q"].FrameWidth > 0 && sent["q"].PacketsSent > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the publisher sends no low layer in 90 s: %+v, %v", sent, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	low := sent["q"].FrameWidth
	t.Logf("publisher's layers: %+v", sent)
	if low > 320 {
		t.Errorf("the low layer of a 1280 camera is %d wide, want 320 (a quarter)", low)
	}
	m := pb.until("decode kimura's video at the low layer's width", func(m media) bool {
		return m.VideoDecoding >= 1 && len(m.FrameWidths) == 1 && m.FrameWidths[0] == low
	})
	// And it goes on at that width: more frames, same width.
	m2 := pb.until("more frames at the low layer's width", func(n media) bool {
		return len(n.FramesDecoded) == 1 && n.FramesDecoded[0] > m.FramesDecoded[0]+30 && n.FrameWidths[0] == low
	})
	t.Logf("subscriber: %+v", m2)
	sent, _ = eval[map[string]sentLayer](pa, layersJS)
	pa.saveStats(art, "getstats-simulcast-publisher.json")
	pb.saveStats(art, "getstats-simulcast-subscriber.json")
	pb.screenshot(art, "meeting-simulcast-small-tiles.png")
	summary, _ := json.MarshalIndent(map[string]any{"publisher_layers": sent, "subscriber_frame_width": m2.FrameWidths,
		"subscriber_frames_decoded": m2.FramesDecoded, "camera": m2.Capture}, "", "  ")
	if err := os.WriteFile(filepath.Join(art, "simulcast-layers.json"), append(summary, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}

	// The fake mics beep: the broker names a speaker from their audio
	// levels, and both pages outline that tile.
	for _, p := range []*browser{pa, pb} {
		p.waitJS("a tile is outlined as the speaker", `document.querySelectorAll(".tile.speaking").length === 1`, true)
	}
	pb.screenshot(art, "meeting-speaker-outlined.png")
	// Audio only: after Mori presses 音声のみ, her page decodes no more
	// video while its sound goes on; pressed again, video comes back.
	pb.run("audio only", chromedp.Click(chromedp.ID("audioOnly")))
	audio := func() int {
		n, err := eval[int](pb, `window.meet.stats().then(s => s.filter(r => r.type === "inbound-rtp" && r.kind === "audio").reduce((a, r) => a + (r.packetsReceived || 0), 0))`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	frames := func() int {
		m, err := eval[media](pb, mediaJS)
		if err != nil || len(m.FramesDecoded) != 1 {
			t.Fatalf("stats: %+v, %v", m, err)
		}
		return m.FramesDecoded[0]
	}
	// Two seconds of sound after the press, what was in flight is
	// decoded; from then on, through two more, no frame.
	a0 := audio()
	pb.waitJS("sound goes on", fmt.Sprintf(`window.meet.stats().then(s => s.filter(r => r.type === "inbound-rtp" && r.kind === "audio").reduce((a, r) => a + (r.packetsReceived || 0), 0) > %d)`, a0+100), true)
	f1, a1 := frames(), audio()
	pb.waitJS("more sound", fmt.Sprintf(`window.meet.stats().then(s => s.filter(r => r.type === "inbound-rtp" && r.kind === "audio").reduce((a, r) => a + (r.packetsReceived || 0), 0) > %d)`, a1+100), true)
	if f2 := frames(); f2 != f1 {
		t.Errorf("audio only: %d frames decoded after the request had taken effect", f2-f1)
	}
	pb.run("video again", chromedp.Click(chromedp.ID("audioOnly")))
	pb.until("video comes back", func(m media) bool { return len(m.FramesDecoded) == 1 && m.FramesDecoded[0] > f1+10 })
	fmt.Fprintf(os.Stderr, "simulcast evidence in %s\n", art)
}
