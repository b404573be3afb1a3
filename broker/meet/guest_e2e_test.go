package meet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
)

// TestE2EMeetingGuestLobby: real headless Chromium. The host is in the
// meeting; an outside party opens a guest link, presses Join and waits in
// the lobby (their page says so, the host's page lists them with admit
// and decline); the host admits them; the guest decodes the host's video
// and the host's page shows the guest's tile badged ゲスト. Screenshots
// of the lobby and of the room in $ARTIFACTS_DIR/meet.
func TestE2EMeetingGuestLobby(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t)
	ctx := context.Background()
	host := named(t, b, "g-kato", "加藤 直美")
	room, err := host.CreateRoom(ctx, api.CreateRoomRequest{Title: "株式会社サンプルとの打合せ"})
	if err != nil {
		t.Fatal(err)
	}
	link, err := host.CreateGuestLink(ctx, room.Room.ID, api.CreateGuestLinkRequest{Name: "株式会社サンプル 田中様", ValidMinutes: 30})
	if err != nil {
		t.Fatal(err)
	}
	ph, pg := startBrowser(t, "guest-host"), startBrowser(t, "guest")
	ph.join(room)

	pg.run("open the guest link", chromedp.Navigate(link.URL), chromedp.WaitVisible(chromedp.ID("join")))
	if txt, err := eval[string](pg, `document.querySelector('#lobby [data-i18n="intro"]').textContent`); err != nil || !strings.Contains(txt, "ゲスト") {
		t.Errorf("the guest's page does not say they join as a guest: %q, %v", txt, err)
	}
	pg.run("join", chromedp.Click(chromedp.ID("join")))
	pg.waitJS("the guest's page says they wait for the host",
		`document.getElementById("waiting").textContent.includes("主催者の許可を待っています") && document.getElementById("waiting").textContent.includes("株式会社サンプル 田中様") && document.getElementById("room").hidden`, true)
	ph.waitJS("the host's page lists the guest in the lobby",
		`(() => { const li = document.querySelector("#door li"); return !!li && document.getElementById("door").offsetParent !== null && li.textContent.includes("株式会社サンプル 田中様") && li.textContent.includes("ゲスト") && !!li.querySelector("button.admit"); })()`, true)
	if n, err := eval[int](pg, `window.meet.pc ? 1 : 0`); err != nil || n != 0 {
		t.Errorf("a waiting guest has a peer connection (%d, %v): they must see and send nothing yet", n, err)
	}
	pg.screenshot(art, "guest-lobby-waiting.png")
	ph.screenshot(art, "guest-lobby-host.png")

	ph.run("admit", chromedp.Click(chromedp.CSS("#door li button.admit")))
	mg := pg.until("the guest decodes the host's video", func(m media) bool {
		return m.VideoDecoding >= 1 && m.AudioIn >= 1 && hasAll(m.Tiles, "加藤 直美", "株式会社サンプル 田中様")
	})
	mh := ph.until("the host decodes the guest's video", func(m media) bool {
		return m.VideoDecoding >= 1 && hasAll(m.Tiles, "株式会社サンプル 田中様")
	})
	t.Logf("guest %+v; host %+v", mg, mh)
	for _, f := range mg.FramesDecoded {
		if f <= 0 {
			t.Errorf("guest: framesDecoded %v", mg.FramesDecoded)
		}
	}
	badge := `(() => { const el = [...document.querySelectorAll(".tile")].find(e => e.querySelector(".name").textContent.startsWith("株式会社サンプル 田中様")); const b = el && el.querySelector(".badge"); return !!b && !b.hidden && b.textContent === "ゲスト"; })()`
	ph.waitJS("the host's page badges the guest's tile ゲスト", badge, true)
	pg.waitJS("the guest's own tile is badged ゲスト", badge, true)
	ph.waitJS("the host's tile is no guest's", `(() => { const el = document.querySelector(".tile.self"); const b = el.querySelector(".badge"); return !b || b.hidden; })()`, true)
	ph.waitJS("the lobby is empty once the guest is in", `document.getElementById("door").hidden`, true)
	pg.waitJS("the guest has no host's controls", `document.getElementById("hostbar").offsetParent === null`, true)
	pg.saveStats(art, "getstats-guest.json")
	ph.screenshot(art, "guest-in-room-host.png")
	pg.screenshot(art, "guest-in-room-guest.png")
}
