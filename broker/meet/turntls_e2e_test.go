package meet_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/broker/brokertest"
	"github.com/zaitaku/zaitaku/broker/daemon"
)

// TestE2EMeetingWithoutUDPOverTLS: TestE2EMeetingWithoutUDP where the
// only way out is TLS. The broker offers TURN over TLS alone (TURN over
// TCP off) and Chromium may not send UDP of its own. Chromium trusts the
// broker's key by its pin, as laptops do, for the page and for TURN
// alike: --ignore-certificate-errors-spki-list instead of
// --ignore-certificate-errors, which Chromium 156 applies to TURN/TLS
// too (it accepted a TURN certificate of another key; with the pin list
// alone that meeting never connected). Both participants decode each
// other's video and receive audio, and the selected pair's local
// candidate is a relay over TLS; the pairs in
// meet/turntls-selected-pairs.json.
func TestE2EMeetingWithoutUDPOverTLS(t *testing.T) {
	art := meetE2E(t)
	b := brokertest.Start(t, brokertest.WithConfig(func(c *daemon.Config) { c.MeetTURNTCP, c.MeetTURNTLS = "off", "127.0.0.1:0" }))
	ctx := context.Background()
	tanaka := named(t, b, "s-tanaka", "田中 健")
	ito := named(t, b, "s-ito", "伊藤 さくら")
	room, err := tanaka.CreateRoom(ctx, api.CreateRoomRequest{Title: "TLS だけの会議"})
	if err != nil {
		t.Fatal(err)
	}
	pinned := []chromedp.ExecAllocatorOption{chromedp.Flag("ignore-certificate-errors", false),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.TrimPrefix(b.Pin, "sha256/"))}
	pa, pb := startWithoutUDP(t, "turntls-tanaka", pinned...), startWithoutUDP(t, "turntls-ito", pinned...)
	pa.join(room)
	pb.join(join(t, ito, room.Room.ID))
	both := func(m media) bool {
		return m.VideoDecoding >= 1 && m.AudioIn >= 1 && hasAll(m.Tiles, "田中 健", "伊藤 さくら")
	}
	pa.until("decode ito's video over TURN/TLS", both)
	pb.until("decode tanaka's video over TURN/TLS", both)
	time.Sleep(3 * time.Second)
	pairs := map[string]selected{}
	for _, p := range []*browser{pa, pb} {
		sel, err := eval[selected](p, selectedJS)
		if err != nil {
			t.Fatalf("%s: selected pair: %v", p.name, err)
		}
		t.Logf("%s: selected pair %+v", p.name, sel)
		pairs[p.name] = sel
		if sel.CandidateType != "relay" || sel.RelayProtocol != "tls" {
			t.Errorf("%s: selected local candidate %+v, want a relay over tls", p.name, sel)
		}
		for _, c := range sel.LocalCandidates {
			if !strings.HasPrefix(c, "relay/") && strings.Contains(c, "/udp") {
				t.Errorf("%s: gathered a %s candidate: the browser sent UDP of its own", p.name, c)
			}
		}
		p.saveStats(art, "getstats-"+p.name+".json")
	}
	js, _ := json.MarshalIndent(pairs, "", "  ")
	if err := os.WriteFile(filepath.Join(art, "turntls-selected-pairs.json"), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
