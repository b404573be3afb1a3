package api

import "net/http"

// Codes of chat.
const (
	// CodeChatNoChannel answers both an unknown channel and one the caller
	// is not in, so that a non-member learns nothing about it.
	CodeChatNoChannel   Code = "chat_no_channel"
	CodeChatNoMessage   Code = "chat_no_message"
	CodeChatTooLong     Code = "chat_too_long"
	CodeChatEmpty       Code = "chat_empty"
	CodeChatKeyReused   Code = "chat_key_reused"
	CodeChatNotYours    Code = "chat_not_yours"
	CodeChatEditClosed  Code = "chat_edit_closed"
	CodeChatDeleted     Code = "chat_deleted"
	CodeChatNoColleague Code = "chat_no_colleague"
	CodeChatNotGroup    Code = "chat_not_group"
)

func init() {
	register(map[Code]CodeInfo{
		CodeChatNoChannel: {http.StatusNotFound,
			"This conversation does not exist or you are not a member of it. Pick one from the list.",
			"この会話は存在しないか、あなたは参加していません。一覧から選んでください。"},
		CodeChatNoMessage: {http.StatusNotFound,
			"That message does not exist in this conversation.",
			"この会話にそのメッセージはありません。"},
		CodeChatTooLong: {http.StatusUnprocessableEntity,
			"The message is too long. Shorten it or split it into several messages.",
			"メッセージが長すぎます。短くするか、いくつかに分けて送ってください。"},
		CodeChatEmpty: {http.StatusUnprocessableEntity,
			"The message is empty. Type something before sending.",
			"メッセージが空です。内容を入力してから送信してください。"},
		CodeChatKeyReused: {http.StatusConflict,
			"This message was already sent with other content. Send it again as a new message.",
			"このメッセージは別の内容で送信済みです。新しいメッセージとして送り直してください。"},
		CodeChatNotYours: {http.StatusForbidden,
			"You can edit or delete only your own messages.",
			"編集・削除できるのは自分のメッセージだけです。"},
		CodeChatEditClosed: {http.StatusConflict,
			"This message is too old to edit or delete. Send a correction as a new message.",
			"このメッセージは編集・削除できる期限を過ぎました。訂正は新しいメッセージで送ってください。"},
		CodeChatDeleted: {http.StatusGone,
			"This message was deleted.",
			"このメッセージは削除されました。"},
		CodeChatNoColleague: {http.StatusNotFound,
			"No colleague with this staff ID. Search by name and pick from the list.",
			"この職員IDの職員はいません。名前で検索して一覧から選んでください。"},
		CodeChatNotGroup: {http.StatusConflict,
			"Members can be added only to a group. Department members follow the staff roster; a direct message is between two people.",
			"メンバーを追加できるのはグループだけです。所属のチャンネルは職員名簿に従い、個別メッセージは二人の間のものです。"},
	})
}
