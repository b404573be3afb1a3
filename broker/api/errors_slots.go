package api

import "net/http"

// Codes of office PCs, slots and the session flow.
const (
	CodeSlotNotFound      Code = "slot_not_found"
	CodeSlotEnded         Code = "slot_ended"
	CodeSlotNotGranted    Code = "slot_not_granted"
	CodeSlotNoTerminal    Code = "slot_no_terminal"
	CodeSlotWakeFailed    Code = "slot_wake_failed"
	CodeSlotClientFailed  Code = "slot_client_failed"
	CodeSlotHeldElsewhere Code = "slot_held_elsewhere"
	CodeTerminalNotFound  Code = "terminal_not_found"
	CodeTerminalExists    Code = "terminal_exists"
	CodeTerminalUserTaken Code = "terminal_user_paired"
	CodeTerminalUserNone  Code = "terminal_user_not_found"
)

func init() {
	register(map[Code]CodeInfo{
		CodeSlotNotFound: {http.StatusNotFound,
			"You have no connection slot. Press Connect to request one.",
			"接続枠がありません。「接続」を押して申し込んでください。"},
		CodeSlotEnded: {http.StatusGone,
			"This session has ended. Press Connect to start a new one.",
			"この接続は終了しました。もう一度「接続」を押してください。"},
		CodeSlotNotGranted: {http.StatusConflict,
			"You are still waiting in the queue. Wait until your turn comes; Zaitaku connects you then.",
			"まだ順番待ちです。順番が来ると自動で接続しますので、そのままお待ちください。"},
		CodeSlotNoTerminal: {http.StatusConflict,
			"No office PC is paired with your account. Ask IT (情報政策課) to pair your office PC.",
			"あなたのアカウントに職場のパソコンが登録されていません。情報政策課に職場のパソコンの登録を依頼してください。"},
		CodeSlotWakeFailed: {http.StatusBadGateway,
			"Your office PC did not start. Ask someone at the office to switch it on, or call the IT help desk, then press Connect again.",
			"職場のパソコンが起動しませんでした。職場の方に電源を入れてもらうか情報政策課ヘルプデスクに連絡し、もう一度「接続」を押してください。"},
		CodeSlotClientFailed: {http.StatusBadGateway,
			"The remote desktop program stopped with an error. Press Connect to try again; if it keeps happening, call the IT help desk.",
			"リモートデスクトップのプログラムがエラーで終了しました。もう一度「接続」を押してください。繰り返す場合は情報政策課ヘルプデスクに連絡してください。"},
		CodeSlotHeldElsewhere: {http.StatusConflict,
			"Your office PC is in use from another sign-in. Disconnect or sign out there, or wait a few minutes; if it was not you, change your password and call the IT help desk.",
			"別の端末からのサインインで職場のパソコンを使用中です。そちらで切断またはサインアウトするか、数分お待ちください。心当たりがない場合はパスワードを変更し、情報政策課ヘルプデスクに連絡してください。"},
		CodeTerminalNotFound: {http.StatusNotFound,
			"No office PC has this ID. Check the ID in the terminal list.",
			"このIDの職場のパソコンはありません。端末一覧でIDを確認してください。"},
		CodeTerminalExists: {http.StatusConflict,
			"An office PC with this ID already exists. Choose another ID or edit the existing one.",
			"このIDの職場のパソコンは既に登録されています。別のIDにするか、既存の登録を編集してください。"},
		CodeTerminalUserTaken: {http.StatusConflict,
			"This member of staff is already paired with another office PC. Unpair that PC first.",
			"この職員は既に別の職場のパソコンと紐付いています。先にそのPCの紐付けを解除してください。"},
		CodeTerminalUserNone: {http.StatusNotFound,
			"No member of staff has this ID. Check the staff ID or import the roster first.",
			"この職員IDは登録されていません。職員IDを確認するか、先に職員名簿を取り込んでください。"},
	})
}
