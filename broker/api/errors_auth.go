package api

import "net/http"

// Codes of accounts, login, one-time codes, devices and tokens.
const (
	CodeInvalidCredentials Code = "invalid_credentials"
	CodeAccountLocked      Code = "account_locked"
	CodeAccountDisabled    Code = "account_disabled"
	CodeOTPRequired        Code = "otp_required"
	CodeOTPInvalid         Code = "otp_invalid"
	CodeOTPReplayed        Code = "otp_replayed"
	CodeOTPNotEnrolled     Code = "otp_not_enrolled"
	CodePasswordPolicy     Code = "password_policy"
	CodePasswordChange     Code = "password_change_required"
	CodeSetupRequired      Code = "setup_required"
	CodeDeviceRevoked      Code = "device_revoked"
	CodeDevicePending      Code = "device_pending_approval"
	CodeDeviceProof        Code = "device_proof_invalid"
	CodeRefreshInvalid     Code = "refresh_invalid"
	CodeUserExists         Code = "user_exists"
	CodeCurrentPassword    Code = "current_password_wrong"
	CodeSignInBusy         Code = "sign_in_busy"
)

func init() {
	register(map[Code]CodeInfo{
		CodeInvalidCredentials: {http.StatusUnauthorized,
			"Staff ID or password is wrong. Check them and try again; after several failures the account locks for a while.",
			"職員IDまたはパスワードが違います。確認してもう一度入力してください。何度も失敗するとしばらくロックされます。"},
		CodeAccountLocked: {http.StatusTooManyRequests,
			"Too many failed sign-ins. Wait until the time shown, or ask IT to unlock the account.",
			"サインインの失敗が続いたため一時的にロックされています。表示された時間まで待つか、情報政策課にロック解除を依頼してください。"},
		CodeAccountDisabled: {http.StatusForbidden,
			"This account is disabled. Ask IT.",
			"このアカウントは無効です。情報政策課に相談してください。"},
		CodeOTPRequired: {http.StatusUnauthorized,
			"Enter the 6-digit one-time code from your authenticator app.",
			"認証アプリに表示されている6桁のワンタイムコードを入力してください。"},
		CodeOTPInvalid: {http.StatusUnauthorized,
			"The one-time code is wrong or has expired. Enter the code shown now.",
			"ワンタイムコードが違うか期限切れです。いま表示されているコードを入力してください。"},
		CodeOTPReplayed: {http.StatusUnauthorized,
			"This one-time code was already used. Wait for the next code and enter it.",
			"このワンタイムコードは使用済みです。次のコードが表示されるまで待って入力してください。"},
		CodeOTPNotEnrolled: {http.StatusConflict,
			"No one-time code is set up yet. Sign in again to set it up.",
			"ワンタイムコードがまだ設定されていません。もう一度サインインして設定してください。"},
		CodePasswordPolicy: {http.StatusUnprocessableEntity,
			"The new password does not meet the rules. Follow the hint and choose another.",
			"新しいパスワードが規則を満たしていません。説明に従って別のパスワードを選んでください。"},
		CodePasswordChange: {http.StatusForbidden,
			"You must change your password before continuing.",
			"続ける前にパスワードを変更してください。"},
		CodeSetupRequired: {http.StatusForbidden,
			"Finish setting up your account (one-time code or new password) first.",
			"先にアカウントの設定（ワンタイムコードまたは新しいパスワード）を完了してください。"},
		CodeDeviceRevoked: {http.StatusForbidden,
			"This laptop has been blocked by IT. Contact the IT help desk.",
			"この端末は情報政策課により利用停止されています。ヘルプデスクへ連絡してください。"},
		CodeDevicePending: {http.StatusForbidden,
			"This laptop is waiting for IT approval. Ask IT to approve it, then sign in again.",
			"この端末は情報政策課の承認待ちです。承認を依頼し、承認後にもう一度サインインしてください。"},
		CodeDeviceProof: {http.StatusUnauthorized,
			"This laptop could not prove its identity. Sign in again with your password.",
			"端末の本人確認ができませんでした。パスワードでもう一度サインインしてください。"},
		CodeRefreshInvalid: {http.StatusUnauthorized,
			"Your saved sign-in is no longer valid. Sign in again with your password.",
			"保存されたサインイン情報は無効になりました。パスワードでもう一度サインインしてください。"},
		CodeCurrentPassword: {http.StatusUnprocessableEntity,
			"The current password is wrong. Enter the password you signed in with.",
			"現在のパスワードが違います。サインインに使ったパスワードを入力してください。"},
		CodeSignInBusy: {http.StatusServiceUnavailable,
			"The broker is checking many sign-ins right now. Wait a few seconds and try again; a laptop you have signed in from before is let through first.",
			"ブローカーが多数のサインインを処理中です。数秒待ってからもう一度お試しください。以前サインインした端末からは優先して受け付けます。"},
		CodeUserExists: {http.StatusConflict,
			"A staff member with this ID already exists. Use another ID or update the existing one.",
			"この職員IDは既に登録されています。別のIDを使うか、既存の職員を更新してください。"},
	})
}
