package api

import "net/http"

// Codes of the admin console in the browser.
const (
	CodeConsoleAddress   Code = "console_address"
	CodeConsoleSignedOut Code = "console_signed_out"
	CodeConsoleCSRF      Code = "console_csrf"
	CodeConsoleNotAdmin  Code = "console_not_admin"
	CodeConsoleNeedsOTP  Code = "console_needs_otp"
	CodeConsoleSetup     Code = "console_setup"
)

func init() {
	register(map[Code]CodeInfo{
		CodeConsoleAddress: {http.StatusForbidden,
			"The admin console opens only from the office network. Use an office PC, or ask the broker's administrator to add your network's range (-console-allow).",
			"管理コンソールは庁内ネットワークからのみ開けます。庁内の端末から開くか、ブローカーの管理者に範囲の追加(-console-allow)を依頼してください。"},
		CodeConsoleSignedOut: {http.StatusUnauthorized,
			"You are signed out of the console (after a time without use, or the broker restarted). Sign in again.",
			"コンソールからサインアウトしました(一定時間操作がなかったか、ブローカーが再起動しました)。もう一度サインインしてください。"},
		CodeConsoleCSRF: {http.StatusForbidden,
			"The change was refused because it did not come from the console page. Reload the page and try again.",
			"コンソールの画面からの操作と確認できないため、変更を拒否しました。画面を再読み込みして、もう一度操作してください。"},
		CodeConsoleNotAdmin: {http.StatusForbidden,
			"This account may not use the admin console: it is for IT, auditors and department IT contacts. Staff use the Zaitaku app.",
			"このアカウントは管理コンソールを使えません(情報システム担当・監査担当・所属の担当者用です)。職員の方は在宅アプリをお使いください。"},
		CodeConsoleNeedsOTP: {http.StatusForbidden,
			"The console needs a one-time code: set up an authenticator for this account (sign in once with the Zaitaku app), then sign in with the code.",
			"管理コンソールにはワンタイムコードが必要です。このアカウントに認証アプリを設定してから(在宅アプリで一度サインイン)、コード付きでサインインしてください。"},
		CodeConsoleSetup: {http.StatusForbidden,
			"This account must first change its password or set up its one-time code. Finish that in the Zaitaku app, then sign in to the console.",
			"このアカウントは、まずパスワードの変更かワンタイムコードの設定が必要です。在宅アプリで済ませてから、コンソールにサインインしてください。"},
	})
}
