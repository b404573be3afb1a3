package meet_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestE2EMeetingDevicesAndQuality: real headless Chromium. The page
// lists the fake camera and mic in its selects before joining; in the
// meeting the connection-quality line reads the round trip from
// getStats; choosing the camera again in the select replaces the sent
// track and the other page keeps decoding. Screenshot in
// $ARTIFACTS_DIR/meet. (Screen share: TestE2EMeetingScreenBesideCamera.)
func TestE2EMeetingDevicesAndQuality(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t)
	ctx := context.Background()
	ono := named(t, b, "d-ono", "小野 陽子")
	mori := named(t, b, "d-mori", "森 大輔")
	room, err := ono.CreateRoom(ctx, api.CreateRoomRequest{Title: "資料確認"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := startBrowser(t, "devices-ono"), startBrowser(t, "devices-mori")
	pa.run("open the meeting", chromedp.Navigate(room.URL), chromedp.WaitVisible(chromedp.ID("join")))
	pa.waitJS("the camera and mic selects list the devices",
		`document.getElementById("camSelect").options.length >= 1 && document.getElementById("micSelect").options.length >= 1`, true)
	pa.run("join", chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("tiles")))
	pb.join(join(t, mori, room.Room.ID))
	both := func(m media) bool { return m.VideoDecoding >= 1 && hasAll(m.Tiles, "小野 陽子", "森 大輔") }
	pa.until("ono decodes mori", both)
	pb.until("mori decodes ono", both)

	pa.waitJS("the quality line shows the round trip",
		`(() => { const q = document.getElementById("quality"); return !q.hidden && /接続: (良好|やや不安定|不安定)/.test(q.textContent) && q.textContent.includes("往復"); })()`, true)
	if q, err := eval[string](pa, `document.getElementById("quality").textContent`); err == nil {
		t.Logf("quality: %s", q)
	}

	// The camera chosen again from the select: a new track on the same sender.
	pa.run("choose the camera", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("camSelect"); s.value = s.options[s.options.length-1].value; s.dispatchEvent(new Event("change")); })()`))
	pa.waitJS("the sender carries a new camera track",
		`(() => { const snd = window.meet.pc.getSenders().find(s => s.track && s.track.kind === "video"); return !!snd && snd.track.readyState === "live" && snd.track === window.meet.local.getVideoTracks()[0]; })()`, true)
	pb.playing("mori still sees ono after the camera switch", "小野 陽子", "森 大輔")
	pa.screenshot(art, "meeting-devices-quality.png")
}
