package api

import "net/http"

// Codes of the operation log.
const (
	CodeOplogDeviceMismatch Code = "oplog_device_mismatch"
	CodeOplogSignature      Code = "oplog_signature_invalid"
	CodeOplogBatch          Code = "oplog_batch_invalid"
	CodeOplogCursor         Code = "oplog_cursor_invalid"
	CodeOplogFormat         Code = "oplog_format_unknown"
	CodeOplogHoldExists     Code = "oplog_hold_exists"
)

func init() {
	register(map[Code]CodeInfo{
		CodeOplogDeviceMismatch: {http.StatusForbidden,
			"The operation log belongs to another laptop. Each laptop uploads only its own log; sign in again on this laptop.",
			"この操作ログは別の端末のものです。端末は自分の操作ログだけを送信できます。この端末でもう一度サインインしてください。"},
		CodeOplogSignature: {http.StatusForbidden,
			"The operation log is not signed by this laptop's key. Sign in again; if it keeps happening, tell the IT help desk.",
			"操作ログがこの端末の鍵で署名されていません。もう一度サインインしてください。繰り返す場合は情報政策課ヘルプデスクへ連絡してください。"},
		CodeOplogBatch: {http.StatusUnprocessableEntity,
			"The operation log upload is malformed. Update the app; the log stays on the laptop until it is accepted.",
			"操作ログの送信内容が正しくありません。アプリを更新してください。受理されるまでログは端末に保存されます。"},
		CodeOplogCursor: {http.StatusBadRequest,
			"The page cursor is not valid. Start the search again from the first page.",
			"ページ指定が正しくありません。最初のページから検索し直してください。"},
		CodeOplogFormat: {http.StatusBadRequest,
			"Unknown export format. Use format=csv or format=jsonl.",
			"不明な出力形式です。format=csv または format=jsonl を指定してください。"},
		CodeOplogHoldExists: {http.StatusConflict,
			"A legal hold for this user or device already exists. Remove it first to change the reason.",
			"この職員または端末の保全（リーガルホールド）は既に設定されています。理由を変える場合は先に解除してください。"},
	})
}
