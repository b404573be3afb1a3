package i18n

// The strings of web meetings, kept apart from the main tables so that
// parallel work on them merges cleanly.
func init() {
	for k, v := range map[Key]string{
		MeetOpen:        "会議",
		MeetTitle:       "Web会議",
		MeetNow:         "今すぐ会議",
		MeetNowTitle:    "会議の名前（省略可）",
		MeetIntro:       "会議はブラウザー（Edge・Chrome）で開きます。カメラとマイクを使います。会議は録画・録音しません。",
		MeetRefresh:     "更新",
		MeetRunningHead: "開催中の会議（課内）",
		MeetPlannedHead: "予定の会議",
		MeetNoneRunning: "開催中の会議はありません。",
		MeetNonePlanned: "予定の会議はありません。",
		MeetJoin:        "参加",
		MeetPeople:      "参加者 %d人（最大 %d人）",
		MeetLocked:      "ロック中",
		MeetWhen:        "%s〜%s",
		MeetWhenNoEnd:   "%s〜",
		MeetRunningNow:  "開催中（参加者 %d人）",
		MeetGuestLink:   "ゲスト用リンクをコピー",
		MeetGuestName:   "ゲストの名前（例: 株式会社サンプル 田中様）",
		MeetGuestHint:   "リンクを受け取った人は、主催者が許可するまでロビーで待ちます。リンクは1時間有効です。",
		MeetGuestCopied: "%sさん用のゲストリンクをコピーしました（%sまで有効）。メールなどで送ってください。",
		MeetGuestNeed:   "ゲストの名前を入力してください。",
		MeetOpening:     "ブラウザーで会議を開いています…",
		MeetOpened:      "ブラウザーで「%s」を開きました。",
		MeetStale:       "会議の一覧を読み込めませんでした: %s",
	} {
		ja[k] = v
	}
	for k, v := range map[Key]string{
		MeetOpen:        "Meetings",
		MeetTitle:       "Web meetings",
		MeetNow:         "Meet now",
		MeetNowTitle:    "Meeting name (optional)",
		MeetIntro:       "Meetings open in the browser (Edge, Chrome), with your camera and mic. Meetings are not recorded.",
		MeetRefresh:     "Refresh",
		MeetRunningHead: "Running now (your department)",
		MeetPlannedHead: "Scheduled meetings",
		MeetNoneRunning: "No meeting is running.",
		MeetNonePlanned: "No meeting is scheduled.",
		MeetJoin:        "Join",
		MeetPeople:      "%d in the meeting (at most %d)",
		MeetLocked:      "locked",
		MeetWhen:        "%s–%s",
		MeetWhenNoEnd:   "from %s",
		MeetRunningNow:  "running (%d in it)",
		MeetGuestLink:   "Copy a guest link",
		MeetGuestName:   "Guest's name (e.g. Tanaka, Sample Ltd.)",
		MeetGuestHint:   "Whoever gets the link waits in the lobby until the host lets them in. The link is good for an hour.",
		MeetGuestCopied: "Guest link for %s copied (good until %s). Send it by mail.",
		MeetGuestNeed:   "Enter the guest's name.",
		MeetOpening:     "Opening the meeting in the browser…",
		MeetOpened:      "Opened “%s” in the browser.",
		MeetStale:       "The meeting list could not be read: %s",
	} {
		en[k] = v
	}
}
