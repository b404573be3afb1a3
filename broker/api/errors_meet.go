package api

import "net/http"

// Codes of web meetings.
const (
	// CodeMeetRoomNotFound: no running meeting has that ID (it ended, or
	// the link is wrong).
	CodeMeetRoomNotFound Code = "meet_room_not_found"
	// CodeMeetRoomFull: the room holds its maximum of participants.
	CodeMeetRoomFull Code = "meet_room_full"
	// CodeMeetJoinRefused: the join token is missing, expired, already
	// used, or for another room. The page asks for a new link.
	CodeMeetJoinRefused Code = "meet_join_refused"
	// CodeMeetBadMessage: a signalling message the broker cannot use. The
	// connection and the room carry on.
	CodeMeetBadMessage Code = "meet_bad_message"
	// CodeMeetUnavailable: the broker runs without meetings (no media port).
	CodeMeetUnavailable Code = "meet_unavailable"
	// CodeMeetNotHost: a host action from someone who is not the host.
	CodeMeetNotHost Code = "meet_not_host"
	// CodeMeetLocked: the host locked the room.
	CodeMeetLocked Code = "meet_locked"
	// CodeMeetRemoved: the host removed this person from the meeting.
	CodeMeetRemoved Code = "meet_removed"
	// CodeMeetGuestLinkRefused: the guest link is unknown, expired, or
	// for another room.
	CodeMeetGuestLinkRefused Code = "meet_guest_link_refused"
	// CodeMeetNotAdmitted: a guest in the lobby tried something only a
	// participant may do; they wait until the host admits them.
	CodeMeetNotAdmitted Code = "meet_not_admitted"
	// CodeMeetDeclined: the host did not let the guest in.
	CodeMeetDeclined Code = "meet_declined"
	// CodeMeetingNotFound: no scheduled meeting has that ID, or the
	// caller is neither of its department nor invited.
	CodeMeetingNotFound Code = "meeting_not_found"
	// CodeMeetingOver: the scheduled meeting has ended.
	CodeMeetingOver Code = "meeting_over"
	// CodeMeetBrowser: the app could not open the meeting page in the
	// system browser (born in the app, not the broker).
	CodeMeetBrowser Code = "meet_browser_failed"
)

func init() {
	register(map[Code]CodeInfo{
		CodeMeetRoomNotFound: {http.StatusNotFound,
			"This meeting is not running: it has ended, or the link is wrong. Ask the host for a new link.",
			"この会議は開かれていません。終了したか、リンクが誤っています。主催者に新しいリンクを依頼してください。"},
		CodeMeetRoomFull: {http.StatusConflict,
			"The meeting is full (at most 30 participants). Ask the host to start a second meeting.",
			"会議が満員です（最大30人）。主催者に別の会議を開くよう依頼してください。"},
		CodeMeetJoinRefused: {http.StatusUnauthorized,
			"This meeting link has expired or was already used. Open the meeting again from the app or ask the host for a new link.",
			"この会議リンクは期限切れか、すでに使用されています。アプリから会議を開き直すか、主催者に新しいリンクを依頼してください。"},
		CodeMeetBadMessage: {http.StatusBadRequest,
			"The meeting page sent something the broker could not use. Reload the page if the meeting does not work.",
			"会議画面から処理できないデータが送られました。会議が正しく動かない場合はページを再読み込みしてください。"},
		CodeMeetNotHost: {http.StatusForbidden,
			"Only the host can mute or remove participants, lock the meeting or end it.",
			"参加者のミュート・退出、会議のロック・終了は主催者だけが行えます。"},
		CodeMeetLocked: {http.StatusForbidden,
			"The host has locked this meeting. Ask the host to unlock it.",
			"主催者がこの会議をロックしています。主催者にロックの解除を依頼してください。"},
		CodeMeetRemoved: {http.StatusForbidden,
			"The host removed you from this meeting. Ask the host if this was a mistake.",
			"主催者によってこの会議から退出させられました。誤りの場合は主催者に確認してください。"},
		CodeMeetGuestLinkRefused: {http.StatusUnauthorized,
			"This guest link has expired or is not for this meeting. Ask the person who invited you for a new link.",
			"このゲスト用リンクは期限切れか、この会議のものではありません。招待した担当者に新しいリンクを依頼してください。"},
		CodeMeetNotAdmitted: {http.StatusForbidden,
			"You are waiting in the lobby. Wait until the host lets you in.",
			"ロビーで待機中です。主催者が参加を許可するまでお待ちください。"},
		CodeMeetDeclined: {http.StatusForbidden,
			"The host did not let you into this meeting. Contact the person who invited you.",
			"主催者が会議への参加を許可しませんでした。招待した担当者に連絡してください。"},
		CodeMeetingNotFound: {http.StatusNotFound,
			"No such meeting, or you are not invited. Ask the organizer to invite you.",
			"その会議はないか、招待されていません。主催者に招待を依頼してください。"},
		CodeMeetingOver: {http.StatusConflict,
			"This meeting has ended. Start a new meeting or ask the organizer to schedule another.",
			"この会議は終了しています。新しい会議を始めるか、主催者に会議の再設定を依頼してください。"},
		CodeMeetBrowser: {http.StatusInternalServerError,
			"The browser could not be opened. Check that a default browser (Edge or Chrome) is set, then try again.",
			"ブラウザーを開けませんでした。既定のブラウザー（Edge または Chrome）が設定されているか確認し、もう一度お試しください。"},
		CodeMeetUnavailable: {http.StatusServiceUnavailable,
			"Web meetings are not enabled on this broker. Ask IT.",
			"このブローカーではWeb会議が有効になっていません。情報政策課にお問い合わせください。"},
	})
}
