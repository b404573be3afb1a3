package api

import "net/http"

// Codes of sign-in through the city's directory (LDAP, Active Directory).
const (
	CodeDirectoryUnavailable Code = "directory_unavailable"
	CodeDirectoryNoRole      Code = "directory_no_role"
	CodePasswordInDirectory  Code = "password_in_directory"
)

func init() {
	register(map[Code]CodeInfo{
		CodeDirectoryUnavailable: {http.StatusServiceUnavailable,
			"The broker cannot reach the directory (Active Directory) that checks passwords. Nothing was counted against you. Try again in a few minutes; if it goes on, tell the IT help desk.",
			"パスワードを確認するディレクトリ(Active Directory)に接続できません。失敗には数えていません。数分後にもう一度お試しください。続く場合はヘルプデスクに連絡してください。"},
		CodeDirectoryNoRole: {http.StatusForbidden,
			"Your password is right, but the directory does not give you the use of Zaitaku (you are in none of its groups). Ask your department's IT contact to add you to the group.",
			"パスワードは正しいですが、ディレクトリで在宅勤務システムの利用が許可されていません(対象のグループに入っていません)。所属の情報担当にグループへの追加を依頼してください。"},
		CodePasswordInDirectory: {http.StatusConflict,
			"This account signs in with the city's directory password (the one you use for Windows). Change or reset it where you always do: on the office PC, or through the IT help desk.",
			"このアカウントは庁内のディレクトリのパスワード(Windowsと同じもの)でサインインします。変更や再発行は、いつもの手順(庁内のパソコンまたはヘルプデスク)で行ってください。"},
	})
}
