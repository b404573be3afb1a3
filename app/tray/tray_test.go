package tray

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/zaitaku/zaitaku/app/chat"
	"github.com/zaitaku/zaitaku/app/core"
	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/broker/api"
	"github.com/zaitaku/zaitaku/icons"
)

var (
	now = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	pc  = &core.Terminal{ID: "t1", Name: "FIN-PC-012", State: core.TerminalAsleep}
	ja  = i18n.New("ja")
	en  = i18n.New("en")
)

// line renders a model as "icon | item, item, ..." with [x] for disabled.
func line(m Model) string {
	var parts []string
	for _, it := range m.Items {
		switch {
		case it.Separator:
			parts = append(parts, "--")
		case it.Disabled:
			parts = append(parts, "["+it.Label+"]")
		default:
			parts = append(parts, it.Label)
		}
	}
	return m.Icon + " | " + strings.Join(parts, ", ")
}

func TestMenuModelPerState(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   core.State
		ja   string
		en   string
	}{
		{"signed out", core.State{Phase: core.SignedOut, Online: true},
			"signed-out | 在宅を開く, --, [サインアウト中], --, 終了",
			"signed-out | Open Zaitaku, --, [Signed out], --, Quit"},
		{"ready", core.State{Phase: core.Ready, Online: true, Terminal: pc},
			"ready | 在宅を開く, 職場のパソコンに接続, --, [接続できます], --, 終了",
			"ready | Open Zaitaku, Connect to office PC, --, [Ready to connect], --, Quit"},
		{"ready without pc", core.State{Phase: core.Ready, Online: true},
			"ready | 在宅を開く, [職場のパソコンに接続], --, [パソコン未登録], --, 終了",
			"ready | Open Zaitaku, [Connect to office PC], --, [No PC registered], --, Quit"},
		{"offline", core.State{Phase: core.Ready, Terminal: pc},
			"offline | 在宅を開く, [職場のパソコンに接続], --, [オフライン（再接続中）], --, 終了",
			"offline | Open Zaitaku, [Connect to office PC], --, [Offline (reconnecting)], --, Quit"},
		{"requesting", core.State{Phase: core.Requesting, Online: true, Terminal: pc},
			"queued | 在宅を開く, 接続を中止, --, [接続枠を確保中], --, 終了",
			"queued | Open Zaitaku, Cancel, --, [Requesting a slot], --, Quit"},
		{"queued", core.State{Phase: core.Queued, Online: true, Terminal: pc, Queue: 3},
			"queued | 在宅を開く, 接続を中止, --, [順番待ち（3 番目）], --, 終了",
			"queued | Open Zaitaku, Cancel, --, [In queue (number 3)], --, Quit"},
		{"waking", core.State{Phase: core.Waking, Online: true, Terminal: pc, Wake: core.WakeSending},
			"waking | 在宅を開く, 接続を中止, --, [パソコンを起動中], --, 終了",
			"waking | Open Zaitaku, Cancel, --, [Waking your PC], --, Quit"},
		{"connecting", core.State{Phase: core.Connecting, Online: true, Terminal: pc},
			"waking | 在宅を開く, 接続を中止, --, [接続準備中], --, 終了",
			"waking | Open Zaitaku, Cancel, --, [Preparing connection], --, Quit"},
		{"connected", core.State{Phase: core.Connected, Online: true, Terminal: pc, Since: now.Add(-(time.Hour + 2*time.Minute + 3*time.Second))},
			"connected | 在宅を開く, 切断する, --, [接続中（1:02:03）], --, 終了",
			"connected | Open Zaitaku, Disconnect, --, [Connected (1:02:03)], --, Quit"},
		{"connected while socket drops", core.State{Phase: core.Connected, Terminal: pc, Since: now.Add(-5 * time.Second)},
			"connected | 在宅を開く, 切断する, --, [接続中（0:05）], --, 終了",
			"connected | Open Zaitaku, Disconnect, --, [Connected (0:05)], --, Quit"},
		{"ending", core.State{Phase: core.Ending, Online: true, Terminal: pc},
			"connected | 在宅を開く, [切断しています…], --, [切断中], --, 終了",
			"connected | Open Zaitaku, [Disconnecting…], --, [Disconnecting], --, Quit"},
		{"failed", core.State{Phase: core.Failed, Online: true, Terminal: pc, Err: api.Err(api.CodeNetwork)},
			"error | 在宅を開く, 職場のパソコンに接続, --, [エラー: network], --, 終了",
			"error | Open Zaitaku, Connect to office PC, --, [Error: network], --, Quit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := line(Build(tc.st, ja, now)); got != tc.ja {
				t.Errorf("ja:\n got %s\nwant %s", got, tc.ja)
			}
			if got := line(Build(tc.st, en, now)); got != tc.en {
				t.Errorf("en:\n got %s\nwant %s", got, tc.en)
			}
		})
	}
}

func TestEveryIconStateIsReachable(t *testing.T) {
	seen := map[string]bool{}
	for p := core.SignedOut; p <= core.Failed; p++ {
		seen[Icon(core.State{Phase: p, Online: true})] = true
	}
	seen[Icon(core.State{Phase: core.Ready})] = true
	for _, s := range icons.States {
		if !seen[s] {
			t.Errorf("icon %q is never chosen", s)
		}
		if icons.Tray(s) == nil || len(icons.Tray(s).Content()) == 0 {
			t.Errorf("icon %q has no content", s)
		}
	}
}

func TestMenuActions(t *testing.T) {
	m := Build(core.State{Phase: core.Ready, Online: true, Terminal: pc}, en, now)
	var got []Action
	menu := Menu(m, func(a Action) { got = append(got, a) })
	if menu.Label != "Ready to connect" {
		t.Errorf("menu title %q", menu.Label)
	}
	var quit *fyne.MenuItem
	for _, it := range menu.Items {
		if !it.Disabled && !it.IsSeparator {
			it.Action()
		}
		if it.IsQuit {
			quit = it
		}
	}
	if quit == nil || quit.Label != "Quit" || menu.Items[len(menu.Items)-1] != quit {
		t.Fatal("the last item must be our own IsQuit item, or Fyne adds an English one")
	}
	want := []Action{ActOpen, ActConnect, ActQuit}
	if len(got) != len(want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("actions %v, want %v", got, want)
		}
	}
}

func TestNotices(t *testing.T) {
	warnIdle := core.EndWarning{Reason: api.EndIdle, EndsAt: now.Add(5 * time.Minute)}
	queued := core.State{Phase: core.Queued, Online: true, Terminal: pc, Queue: 1}
	for _, tc := range []struct {
		name       string
		prev, next core.State
		want       []string // titles, en
	}{
		{"slot granted", queued, core.State{Phase: core.Waking, Online: true, Terminal: pc, Wake: core.WakeChecking}, []string{"It's your turn"}},
		{"queue moves", queued, core.State{Phase: core.Queued, Online: true, Queue: 1}, nil},
		{"wake failed stage", core.State{Phase: core.Waking, Wake: core.WakeWaiting},
			core.State{Phase: core.Waking, Wake: core.WakeFailed}, []string{"Your office PC could not be woken"}},
		{"failed while waking", core.State{Phase: core.Waking, Wake: core.WakeWaiting},
			core.State{Phase: core.Failed, Err: api.Err(api.CodeUnavailable)}, []string{"Your office PC could not be woken"}},
		{"ended by admin", core.State{Phase: core.Connected}, core.State{Phase: core.Ready, EndReason: "admin"}, []string{"Session ended"}},
		{"ended by user: no notice", core.State{Phase: core.Ending}, core.State{Phase: core.Ready, EndReason: "user"}, nil},
		{"warning", core.State{Phase: core.Connected}, core.State{Phase: core.Connected, Warning: warnIdle}, []string{"Notice"}},
		{"same warning again: no notice", core.State{Phase: core.Connected, Warning: warnIdle}, core.State{Phase: core.Connected, Warning: warnIdle}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Notices(tc.prev, tc.next, en)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d notices %v, want %v", len(got), got, tc.want)
			}
			for i, n := range got {
				if n.Title != tc.want[i] {
					t.Errorf("notice %d title %q, want %q", i, n.Title, tc.want[i])
				}
			}
		})
	}
}

func TestTrayChatLine(t *testing.T) {
	m := WithChat(Build(core.State{Phase: core.Ready, Online: true, Terminal: pc}, ja, now), 3, ja)
	if got, want := line(m), "ready | 在宅を開く, チャットを開く（未読 3）, 職場のパソコンに接続, --, [接続できます], --, 終了"; got != want {
		t.Errorf("ja:\n got %s\nwant %s", got, want)
	}
	if m.Status != "接続できます · チャット（未読 3）" {
		t.Errorf("tooltip %q", m.Status)
	}
	m = WithChat(Build(core.State{Phase: core.Ready, Online: true, Terminal: pc}, en, now), 0, en)
	if got, want := line(m), "ready | Open Zaitaku, Open chat, Connect to office PC, --, [Ready to connect], --, Quit"; got != want {
		t.Errorf("en:\n got %s\nwant %s", got, want)
	}
	if m.Items[1].Action != ActChat {
		t.Errorf("chat line's action %v", m.Items[1].Action)
	}
}

func TestChatNotices(t *testing.T) {
	long := strings.Repeat("長", 100)
	for _, tc := range []struct {
		name        string
		n           chat.Notice
		title, body string
	}{
		{"direct", chat.Notice{Direct: true, SenderName: "佐藤 一郎", Text: "お疲れさまです"}, "佐藤 一郎 さんからのメッセージ", "お疲れさまです"},
		{"mention", chat.Notice{Mention: true, SenderName: "佐藤 一郎", ChannelName: "総務課", Text: "@yamada 確認お願いします"},
			"佐藤 一郎 さんからのメンション（総務課）", "@yamada 確認お願いします"},
		{"long text cut", chat.Notice{Direct: true, SenderName: "佐藤 一郎", Text: long}, "佐藤 一郎 さんからのメッセージ", strings.Repeat("長", 80) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ChatNotice(tc.n, ja)
			if got.Title != tc.title || got.Content != tc.body {
				t.Errorf("got %q / %q, want %q / %q", got.Title, got.Content, tc.title, tc.body)
			}
		})
	}
	if got := ChatNotice(chat.Notice{Mention: true, SenderName: "Sato", ChannelName: "General"}, en); got.Title != "Sato mentioned you (General)" {
		t.Errorf("en mention title %q", got.Title)
	}
}
