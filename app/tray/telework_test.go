package tray

import (
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/update"
	"github.com/zaitaku/zaitaku/broker/api"
)

func signedIn(tw *core.Telework) core.State {
	return core.State{Phase: core.Ready, Online: true, User: &api.User{ID: "k1"}, Terminal: pc, Telework: tw}
}

// TestWithWork: start work (one line per place) before "start work",
// end work after it; nothing signed out, offline or before the view is
// read.
func TestWithWork(t *testing.T) {
	today := &api.TeleworkToday{Date: "2026-06-03"}
	started := &api.TeleworkToday{Date: "2026-06-03", Day: api.WorkDay{Start: now, Place: api.PlaceHome}}
	connectedOnly := &api.TeleworkToday{Date: "2026-06-03", Day: api.WorkDay{Start: now}}
	offline := signedIn(&core.Telework{Today: today})
	offline.Online = false
	for _, tc := range []struct {
		name string
		st   core.State
		want string
	}{
		{"not started", signedIn(&core.Telework{Today: today}),
			"ready | 在宅を開く, 職場のパソコンに接続, --, 勤務開始（在宅）, 勤務開始（サテライトオフィス）, 勤務開始（その他）, --, [接続できます], --, 終了"},
		{"connected but not started", signedIn(&core.Telework{Today: connectedOnly}),
			"ready | 在宅を開く, 職場のパソコンに接続, --, 勤務開始（在宅）, 勤務開始（サテライトオフィス）, 勤務開始（その他）, --, [接続できます], --, 終了"},
		{"started", signedIn(&core.Telework{Today: started}),
			"ready | 在宅を開く, 職場のパソコンに接続, --, 勤務終了, --, [接続できます], --, 終了"},
		{"not read yet", signedIn(nil), "ready | 在宅を開く, 職場のパソコンに接続, --, [接続できます], --, 終了"},
		{"offline", offline, "offline | 在宅を開く, [職場のパソコンに接続], --, [オフライン（再接続中）], --, 終了"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := line(WithWork(Build(tc.st, ja, now), tc.st, ja)); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	for i, p := range Places {
		if PlaceOf(ActStartHome+Action(i)) != p {
			t.Errorf("action %d is not %s", i, p)
		}
	}
}

// TestTeleworkNotices: each telework event is notified once, worded by
// kind, with the colleague's name from the section view.
func TestTeleworkNotices(t *testing.T) {
	sec := &api.TeleworkSection{Staff: []api.WorkDay{{UserID: "k2", UserName: "佐藤 花子"}}}
	at := time.Date(2026, 6, 3, 0, 2, 0, 0, time.UTC)
	for _, tc := range []struct {
		notice      api.TeleworkNotice
		title, body string
	}{
		{api.TeleworkNotice{Kind: api.RequestApproved, Comment: "お大事に"}, "テレワーク申請が承認されました", "コメント: お大事に"},
		{api.TeleworkNotice{Kind: api.RequestDeclined}, "テレワーク申請が却下されました", "テレワーク申請"},
		{api.TeleworkNotice{Kind: api.RequestPending, UserID: "k2"}, "テレワーク申請が届きました", "「テレワーク申請」の「承認」タブで確認してください。"},
		{api.TeleworkNotice{Kind: "work_start", UserID: "k2", Place: api.PlaceSatellite, At: at}, "佐藤 花子さんが勤務を開始しました（サテライトオフィス）", "00:02"},
		{api.TeleworkNotice{Kind: "overtime", UserID: "k9", At: at}, "k9さんが予定を超えて勤務しました", "00:02"},
	} {
		prev := signedIn(&core.Telework{NoticeSeq: 4, Section: sec})
		next := signedIn(&core.Telework{NoticeSeq: 5, Notice: tc.notice, Section: sec})
		ns := TeleworkNotices(prev, next, ja)
		if len(ns) != 1 || ns[0].Title != tc.title || ns[0].Content != tc.body {
			t.Errorf("%s: %+v", tc.notice.Kind, ns)
		}
		if again := TeleworkNotices(next, next, ja); len(again) != 0 {
			t.Errorf("%s: notified twice", tc.notice.Kind)
		}
	}
}

// TestUpdateWords: every refusal reason has its own words in both
// languages, and the restart line appears only outside a session.
func TestUpdateWords(t *testing.T) {
	seen := map[string]update.Reason{}
	for _, r := range []update.Reason{update.ReasonSignature, update.ReasonRetired, update.ReasonUntrusted,
		update.ReasonKeyChain, update.ReasonExpired, update.ReasonOlder, update.ReasonSize, update.ReasonTruncated,
		update.ReasonChecksum, update.ReasonManifest, update.ReasonNoKeys} {
		for _, tr := range []*struct{ lang string }{{"ja"}, {"en"}} {
			text := UpdateRefusal(r, map[string]*i18n.Tr{"ja": ja, "en": en}[tr.lang])
			if prev, dup := seen[text]; dup {
				t.Errorf("%s and %s share the words %q", prev, r, text)
			}
			seen[text] = r
		}
	}
	ready := update.Status{Phase: update.PhaseReady, Target: "1.5.0"}
	st := signedIn(nil)
	if got := line(WithUpdate(Build(st, ja, now), ready, st, ja)); got != "ready | 在宅を開く, 再起動して更新（1.5.0）, 職場のパソコンに接続, --, [接続できます], --, 終了" {
		t.Errorf("ready: %s", got)
	}
	st.Phase = core.Connected
	if got := line(WithUpdate(Build(st, ja, now), ready, st, ja)); got != line(Build(st, ja, now)) {
		t.Errorf("a restart offered during a session: %s", got)
	}
}
