package tray

import (
	"strings"
	"testing"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
)

// TestBCPAndRevokedNotices: BCP mode switched on or off and a revoked
// laptop each give one notification, in Japanese by default and in
// English, with IT's reason as written; a repeat gives none.
func TestBCPAndRevokedNotices(t *testing.T) {
	bcp := &core.BCP{Reason: "震度6弱の地震のため", Cap: 400}
	ready := core.State{Phase: core.Ready, Online: true, Terminal: pc}
	on := ready
	on.BCP = bcp
	revoked := core.State{Phase: core.SignedOut, Revoked: &core.Revocation{At: now}}
	for _, tc := range []struct {
		name       string
		prev, next core.State
		ja, en     []string // titles
		body       string   // in the first ja notice
	}{
		{"bcp on", ready, on, []string{"BCPモードが開始されました"}, []string{"BCP mode has started"}, "震度6弱の地震のため"},
		{"bcp still on", on, on, nil, nil, ""},
		{"bcp off", on, ready, []string{"BCPモードが終了しました"}, []string{"BCP mode has ended"}, "通常の接続枠"},
		{"bcp gone with the sign-out: no notice", on, core.State{Phase: core.SignedOut}, nil, nil, ""},
		{"revoked", ready, revoked, []string{"この端末は利用停止されました"}, []string{"This laptop has been revoked"}, "情報政策課"},
		{"revoked again", revoked, revoked, nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range []struct {
				tr   *i18n.Tr
				want []string
			}{{ja, tc.ja}, {en, tc.en}} {
				tr := l.tr
				got := Notices(tc.prev, tc.next, tr)
				if len(got) != len(l.want) {
					t.Fatalf("%s: %d notices %v, want %v", tr.Lang(), len(got), got, l.want)
				}
				for i, n := range got {
					if n.Title != l.want[i] {
						t.Errorf("%s: title %q, want %q", tr.Lang(), n.Title, l.want[i])
					}
				}
			}
			if tc.body != "" {
				if got := Notices(tc.prev, tc.next, ja); !strings.Contains(got[0].Content, tc.body) {
					t.Errorf("body %q lacks %q", got[0].Content, tc.body)
				}
			}
		})
	}
	if got := BCPLine(on, ja); !strings.Contains(got, bcp.Reason) || !strings.HasPrefix(got, "BCPモード実施中") {
		t.Errorf("home line %q", got)
	}
	if got := BCPLine(ready, ja); got != "" {
		t.Errorf("home line while off %q", got)
	}
	if got := Status(revoked, en, now); got != "Laptop revoked" {
		t.Errorf("tray status of a revoked laptop %q", got)
	}
}
