package i18n

// The strings of BCP mode and of a revoked laptop, kept apart from the
// main tables so that parallel work on them merges cleanly.
func init() {
	for k, v := range map[Key]string{
		HomeBCP:          "BCPモード実施中（災害対応）: %s",
		HomeBCPNoReason:  "BCPモード実施中（災害対応）です。業務継続に必要な職員が優先して接続されます。",
		NotifyBCPOnTitle: "BCPモードが開始されました",
		NotifyBCPOnBody:  "%s　業務継続に必要な職員が優先して接続されます。",
		NotifyBCPOff:     "BCPモードが終了しました",
		NotifyBCPOffBody: "通常の接続枠と受付順に戻りました。",
		TrayBCP:          "BCPモード実施中",

		RevokedTitle:       "この端末は利用停止されました",
		RevokedBody:        "情報政策課がこの端末の利用を停止しました（紛失・盗難の届出など）。この端末からは職場のパソコンに接続できません。",
		RevokedSending:     "操作ログを情報政策課へ送信しています。送信が終わるまでネットワークに接続したままにしてください。",
		RevokedSent:        "操作ログは情報政策課へ送信済みです。",
		RevokedWiped:       "この端末に保存されていたサインイン情報と端末の鍵は消去しました。",
		RevokedWhatToDo:    "心当たりがない場合や端末が見つかった場合は、情報政策課ヘルプデスクへ連絡してください。",
		RevokedEnrollAgain: "情報政策課の指示で再登録する",
		RevokedSince:       "停止を確認した日時: %s",
		TrayRevoked:        "利用停止された端末",
		NotifyRevokedTitle: "この端末は利用停止されました",
	} {
		ja[k] = v
	}
	for k, v := range map[Key]string{
		HomeBCP:          "BCP mode (disaster response): %s",
		HomeBCPNoReason:  "BCP mode (disaster response) is on. Staff needed for business continuity are connected first.",
		NotifyBCPOnTitle: "BCP mode has started",
		NotifyBCPOnBody:  "%s Staff needed for business continuity are connected first.",
		NotifyBCPOff:     "BCP mode has ended",
		NotifyBCPOffBody: "The normal cap and first-come order apply again.",
		TrayBCP:          "BCP mode on",

		RevokedTitle:       "This laptop has been revoked",
		RevokedBody:        "IT revoked this laptop (reported lost or stolen, for example). It can no longer connect to your office PC.",
		RevokedSending:     "Sending the operation log to IT. Keep the laptop online until this is done.",
		RevokedSent:        "The operation log has been sent to IT.",
		RevokedWiped:       "The sign-in and the laptop's key kept on this laptop have been wiped.",
		RevokedWhatToDo:    "If you did not expect this, or the laptop was found, call the IT help desk.",
		RevokedEnrollAgain: "Enroll again (when IT tells you to)",
		RevokedSince:       "Revocation seen: %s",
		TrayRevoked:        "Laptop revoked",
		NotifyRevokedTitle: "This laptop has been revoked",
	} {
		en[k] = v
	}
}
