package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/zaitaku/zaitaku/app/i18n"
	"github.com/zaitaku/zaitaku/app/oplog"
)

// TestAboutShowsTheLogUploadAsItGoes: the row follows the uploader while
// the screen is open, and the diagnostics carry the same state.
func TestAboutShowsTheLogUploadAsItGoes(t *testing.T) {
	fc := &fakeClient{st: readyState()}
	u := newTestUI(t, fc, "ja", profile)
	st := oplog.Status{Pending: 12, Uploading: true}
	u.opt.LogStatus = func() oplog.Status { return st }
	u.showAbout()
	if want := "未送信 12 件（まもなく送信します）"; !containsText(u.about.root, want) {
		t.Fatalf("About lacks %q: %q", want, texts(u.about.root))
	}
	sent := time.Date(2026, 4, 1, 8, 31, 0, 0, time.Local)
	st = oplog.Status{Uploading: true, LastUpload: sent}
	u.tick()
	if want := "すべて送信済みです（最終送信 4月1日 08:31）"; !containsText(u.about.root, want) {
		t.Fatalf("after the upload, About lacks %q: %q", want, texts(u.about.root))
	}
	d := u.diagnostics()
	if want := "oplog: pending=0 last_upload=" + sent.UTC().Format(time.RFC3339); !strings.Contains(d, want) {
		t.Errorf("diagnostics lack %q:\n%s", want, d)
	}
}

func TestLogStatusWording(t *testing.T) {
	at := time.Date(2026, 4, 1, 17, 5, 0, 0, time.Local)
	for _, tc := range []struct {
		st     oplog.Status
		ja, en string
	}{
		{oplog.Status{}, "未送信の記録はありません", "Nothing waiting to be sent"},
		{oplog.Status{Uploading: true, LastUpload: at}, "すべて送信済みです（最終送信 4月1日 17:05）", "All sent (last upload 1 Apr 17:05)"},
		{oplog.Status{Pending: 3}, "未送信 3 件（サインインすると送信します）", "3 not sent yet (sent once you sign in)"},
		{oplog.Status{Pending: 40, Uploading: true, LastError: "network"}, "未送信 40 件：送信できていません。自動で再試行します",
			"40 not sent yet: uploads are failing; retrying automatically"},
		{oplog.Status{Pending: 9000, NearFull: true, FillPercent: 85},
			"記録領域が 85% 埋まっています。ネットワークにつないでサインインしてください\n未送信 9000 件（サインインすると送信します）",
			"The log store is 85% full. Connect to the network and sign in\n9000 not sent yet (sent once you sign in)"},
		{oplog.Status{Pending: 9999, Full: true, NearFull: true, FillPercent: 100, Uploading: true, LastError: "x"},
			"記録領域がいっぱいです。ネットワークにつないでサインインするまで、新しい操作は記録できません\n未送信 9999 件：送信できていません。自動で再試行します",
			"The log store is full: new operations cannot be recorded until you connect to the network and sign in\n9999 not sent yet: uploads are failing; retrying automatically"},
	} {
		if got := logStatusText(i18n.New("ja"), tc.st); got != tc.ja {
			t.Errorf("ja %+v:\n got %q\nwant %q", tc.st, got, tc.ja)
		}
		if got := logStatusText(i18n.New("en"), tc.st); got != tc.en {
			t.Errorf("en %+v:\n got %q\nwant %q", tc.st, got, tc.en)
		}
	}
}
